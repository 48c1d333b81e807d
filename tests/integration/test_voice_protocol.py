"""What AVS requires of a device, against the fake AVS, which requires it as strictly: the
capabilities declared before asks, the Recognize initiator, asks one after another, the
SpeechState token, the downchannel and SynchronizeState first, one connection per device."""

from __future__ import annotations

import asyncio
import time

import pytest

from skills.voice import MalformedResponse, VoiceError, messages
from skills.voice.fakelwa import SERIAL
from skills.voice.transport import StreamReset, Transport

from .avs_fakes import declare_1_0, make_client, noise, run

pytestmark = pytest.mark.integration

EVENTS = "/v20160207/events"


async def post(transport: Transport, token: str, metadata: dict, pcm: bytes | None = None):
    from skills.voice import mime

    boundary = mime.new_boundary()
    return await transport.request("POST", EVENTS, token,
                                   content=mime.form_data(boundary, metadata, pcm),
                                   content_type=f"multipart/form-data; boundary={boundary}")


async def raw_device(avs, lwa):
    """A bare connection with the downchannel open and the state synchronised."""
    token = lwa.issue()["access_token"]
    transport = Transport(avs.url)
    downchannel = await transport.open_stream("GET", "/v20160207/directives", token)
    assert downchannel.status_code == 200
    assert (await post(transport, token, messages.synchronize_state())).status_code == 204
    return transport, token


# Capabilities ----------------------------------------------------------------------------

def test_the_device_declares_speech_synthesizer_1_3_before_it_synchronizes(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path) as client:
            return await client.ask(noise(avs))
    result = run(main())
    assert avs.events[:2] == ["Alexa.Discovery.AddOrUpdateReport", "System.SynchronizeState"]
    endpoint = avs.reports[0]["endpoints"][0]
    assert endpoint["registration"]["deviceSerialNumber"] == SERIAL
    assert endpoint["displayCategories"] == ["ALEXA_VOICE_ENABLED"]
    declared = {c["interface"]: c["version"] for c in endpoint["capabilities"]}
    assert declared["SpeechSynthesizer"] == "1.3" and "SpeechRecognizer" in declared
    assert avs.declared[SERIAL]["SpeechSynthesizer"] == "1.3"
    assert result.text.startswith("Welcome to memory game")


def test_a_device_declaring_speech_synthesizer_1_0_gets_speak_without_captions(
        avs, tmp_path, monkeypatch):
    declare_1_0(monkeypatch, "SpeechSynthesizer")

    async def main():
        async with make_client(avs, tmp_path) as client:
            return await client.ask(noise(avs))
    result = run(main())
    assert result.directives[0].qualified == "SpeechSynthesizer.Speak"
    assert "caption" not in result.directives[0].payload
    assert result.text == "" and result.audio  # the answer is still spoken


def test_a_report_for_another_device_is_refused(avs, lwa):
    async def main():
        transport, token = await raw_device(avs, lwa)
        report = messages.discovery_report("client", "product", "someone-else", token)
        answer = await post(transport, token, report)
        await transport.close()
        return answer
    answer = run(main())
    assert answer.status_code == 400 and "deviceSerialNumber" in answer.content.decode()


# The Recognize initiator -----------------------------------------------------------------

def test_recognize_is_press_and_hold_with_a_payload_on_close_talk(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path) as client:
            await client.ask(noise(avs))
    run(main())
    assert avs.initiators == [{"type": "PRESS_AND_HOLD", "payload": {}}]
    assert avs.profiles == ["CLOSE_TALK"]


@pytest.mark.parametrize(("profile", "initiator"), [
    ("NEAR_FIELD", {"type": "TAP"}),
    ("CLOSE_TALK", {"type": "TAP", "payload": {}}),
    ("NEAR_FIELD", {"type": "PRESS_AND_HOLD", "payload": {}}),
    ("CLOSE_TALK", {"type": "PRESS_AND_HOLD", "payload": []}),
    ("CLOSE_TALK", None),
    ("CLOSE_TALK", {"type": "EXPECT_SPEECH", "payload": {}}),
], ids=["tap-without-payload", "tap-close-talk", "hold-near-field", "payload-not-object",
        "none", "expect-speech-without-token"])
def test_the_fake_refuses_a_malformed_initiator(avs, tmp_path, profile, initiator):
    metadata = messages.recognize("d1")
    metadata["event"]["payload"]["profile"] = profile
    if initiator is None:
        del metadata["event"]["payload"]["initiator"]
    else:
        metadata["event"]["payload"]["initiator"] = initiator

    async def main():
        async with make_client(avs, tmp_path) as client:
            return await client.send_event(metadata, noise(avs))
    answer = run(main())
    assert answer.status_code == 400, answer.content.decode()
    assert "initiator" in answer.json()["payload"]["description"]


def test_tap_on_near_field_is_taken(avs, tmp_path):
    metadata = messages.recognize("d1")
    metadata["event"]["payload"].update(profile="NEAR_FIELD",
                                        initiator={"type": "TAP", "payload": {}})

    async def main():
        async with make_client(avs, tmp_path) as client:
            return await client.send_event(metadata, noise(avs))
    assert run(main()).status_code == 200


# One ask at a time -----------------------------------------------------------------------

def test_asks_from_one_device_are_sent_one_after_another(avs, tmp_path):
    avs.delay = 0.2

    async def main():
        async with make_client(avs, tmp_path) as client:
            started = time.perf_counter()
            results = await asyncio.gather(*(client.ask(noise(avs)) for _ in range(4)))
            return results, time.perf_counter() - started
    results, elapsed = run(main())
    assert all(r.text.startswith("Welcome to memory game") for r in results)
    assert avs.max_active == 1 and avs.cancelled == 0 and avs.connections == 1
    assert elapsed >= 4 * 0.2


def test_ask_many_asks_one_after_another_and_can_collect_the_failures(avs, tmp_path):
    from skills.voice import InvalidRequest

    avs.delay = 0.1

    async def main():
        async with make_client(avs, tmp_path) as client:
            avs.fail_next(400, "not this one")
            return await client.ask_many([noise(avs), noise(avs), noise(avs)],
                                         return_exceptions=True)
    failed, *answered = run(main())
    assert isinstance(failed, InvalidRequest) and "not this one" in str(failed)
    assert all(r.text.startswith("Welcome to memory game") for r in answered)
    assert avs.max_active == 1 and avs.cancelled == 0 and avs.connections == 1


def test_the_fake_cancels_a_recognize_overtaken_by_another_from_the_device(avs, lwa):
    avs.delay = 0.5

    async def main():
        transport, token = await raw_device(avs, lwa)
        first = asyncio.create_task(post(transport, token, messages.recognize("d1"),
                                         noise(avs)))
        while avs.active == 0:
            await asyncio.sleep(0.01)
        second = await post(transport, token, messages.recognize("d2"), noise(avs))
        with pytest.raises(StreamReset):
            await first
        await transport.close()
        return second
    assert run(main()).status_code == 200
    assert avs.cancelled == 1


# SpeechState -----------------------------------------------------------------------------

def test_the_next_recognize_carries_the_last_speak_token(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path) as client:
            opened = await client.ask(noise(avs))
            answer = await client.ask(noise(avs, "no"), dialog=opened)
            return opened, answer
    opened, answer = run(main())
    assert avs.speech_states == ["", opened.directives[0].payload["token"]]
    assert avs.recognized == ["open memory game", "no"]
    assert not answer.text.startswith("Sorry, I don't know")  # the session went on


# Malformed answers -----------------------------------------------------------------------

@pytest.mark.parametrize(("how", "why"), [
    ("delimiter", "ended before its closing delimiter"),
    ("truncated", "ended before its closing delimiter"),
    ("not-multipart", "expected multipart/related, got application/json"),
])
def test_a_malformed_answer_is_a_voice_error(avs, tmp_path, how, why):
    async def main():
        async with make_client(avs, tmp_path) as client:
            avs.garble_next(how=how)
            with pytest.raises(MalformedResponse, match="malformed") as raised:
                await client.ask(noise(avs))
            return raised.value, await client.ask(noise(avs))  # the connection still works
    error, after = run(main())
    assert isinstance(error, VoiceError) and why in str(error)
    assert after.text.startswith("Welcome")


# Connection rules ------------------------------------------------------------------------

def test_events_before_the_downchannel_are_refused(avs, lwa):
    async def main():
        token = lwa.issue()["access_token"]
        transport = Transport(avs.url)
        sync = await post(transport, token, messages.synchronize_state())
        ask = await post(transport, token, messages.recognize("d1"), noise(avs))
        await transport.close()
        return sync, ask
    for answer in run(main()):
        assert answer.status_code == 400
        assert "downchannel" in answer.json()["payload"]["description"]
    assert avs.recognized == []


def test_a_recognize_before_synchronize_state_is_refused(avs, lwa):
    async def main():
        token = lwa.issue()["access_token"]
        transport = Transport(avs.url)
        await transport.open_stream("GET", "/v20160207/directives", token)
        early = await post(transport, token, messages.recognize("d1"), noise(avs))
        await post(transport, token, messages.synchronize_state())
        later = await post(transport, token, messages.recognize("d2"), noise(avs))
        await transport.close()
        return early, later
    early, later = run(main())
    assert early.status_code == 400 and "SynchronizeState" in early.content.decode()
    assert later.status_code == 200


def test_a_second_connection_for_one_device_closes_the_first(avs, lwa):
    async def main():
        first, _ = await raw_device(avs, lwa)
        second, token = await raw_device(avs, lwa)
        for _ in range(100):
            if first.closed:
                break
            await asyncio.sleep(0.02)
        still = await post(second, token, messages.recognize("d1"), noise(avs))
        closed = first.closed
        await first.close()
        await second.close()
        return closed, still
    closed, still = run(main())
    assert closed and still.status_code == 200
