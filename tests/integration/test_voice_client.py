"""The AVS client's connection against the fake AVS: one connection, downchannel, ping,
reconnects, retries and every System.Exception, through the real client over HTTP/2."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from skills.voice import (
    AskTimeout,
    AVSClient,
    InvalidRequest,
    ServerError,
    Throttled,
    Tokens,
    Unauthorized,
    Unavailable,
    Unreachable,
    UnsupportedMediaType,
    UploadReset,
)
from skills.voice.testing import FakeAVS

from .avs_fakes import make_client, noise, run
from .conftest import MEMORY_GAME

pytestmark = pytest.mark.integration


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def test_connect_opens_the_downchannel_and_synchronizes_state(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path) as client:
            await until(lambda: "System.SynchronizeState" in avs.events)
            assert client.connects == 1
    run(main())
    assert avs.downchannels == 1 and avs.connections == 1


def test_an_answer_has_caption_mp3_and_expect_speech(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path) as client:
            return await client.ask(noise(avs))
    result = run(main())
    assert result.text.startswith("Welcome to memory game")
    mp3 = result.audio[0].read_bytes()
    assert mp3[:3] == b"ID3" or (mp3[0] == 0xFF and mp3[1] & 0xE0 == 0xE0)  # an MPEG frame
    assert result.expects_speech and result.audio[0].parent == tmp_path / "answers"
    assert [d.qualified for d in result.directives] == ["SpeechSynthesizer.Speak",
                                                       "SpeechRecognizer.ExpectSpeech"]


def test_directives_arrive_on_the_downchannel_unknown_ones_logged(avs, tmp_path, caplog):
    async def main():
        async with make_client(avs, tmp_path) as client:
            await until(lambda: avs.downchannels == 1)
            await asyncio.to_thread(avs.push, "Alerts", "SetAlert", {"token": "t1"})
            await asyncio.to_thread(avs.push, "Notifications", "SetIndicator", {})
            processed = await client.next_directive()  # the answer to the capabilities report
            first, second = await client.next_directive(), await client.next_directive()
            return processed, first, second
    processed, first, second = run(main())
    assert processed.qualified == "Alexa.EventProcessed"
    assert (first.qualified, first.payload) == ("Alerts.SetAlert", {"token": "t1"})
    assert second.qualified == "Notifications.SetIndicator"
    assert "directive Alerts.SetAlert on the downchannel ignored" in caplog.text


def test_a_ping_after_the_idle_time(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path, ping_idle=0.2) as client:
            # The client counts a ping once answered, a moment after the fake did.
            await until(lambda: avs.pings >= 2 and client.pings >= 2)
            return client.pings
    assert run(main()) >= 2
    assert avs.connections == 1


def test_no_ping_while_asks_keep_the_connection_busy(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path, ping_idle=0.5) as client:
            pcm = noise(avs)
            for _ in range(4):
                await client.ask(pcm)
                await asyncio.sleep(0.2)
    run(main())
    assert avs.pings == 0


@pytest.mark.parametrize("how", ["drop", "goaway", "close_downchannel"])
def test_reconnects_and_synchronizes_again_after_losing_the_connection(avs, tmp_path, how):
    async def main():
        async with make_client(avs, tmp_path) as client:
            await until(lambda: avs.downchannels == 1)
            await asyncio.to_thread(getattr(avs, how))
            await until(lambda: client.connects == 2 and avs.downchannels == 2)
            return await client.ask(noise(avs))
    result = run(main())
    assert result.text.startswith("Welcome")
    assert avs.events.count("System.SynchronizeState") == 2


def test_a_failed_ping_reconnects(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path, ping_idle=0.3, ping_timeout=1) as client:
            await until(lambda: avs.downchannels == 1)
            avs.revoke_access_tokens()  # the ping is refused: the client reconnects
            await until(lambda: avs.events.count("System.SynchronizeState") == 2, timeout=8)
            return client.connects
    assert run(main()) == 2


def test_set_endpoint_moves_the_connection(avs, lwa, tmp_path):
    with FakeAVS(MEMORY_GAME, lwa=lwa) as other:
        async def main():
            async with make_client(avs, tmp_path) as client:
                await until(lambda: avs.downchannels == 1)
                await asyncio.to_thread(avs.set_endpoint, other.url)
                await until(lambda: other.downchannels == 1)
                assert client.endpoint == other.url
                return await client.ask(noise(other))
        assert run(main()).text.startswith("Welcome")
        assert other.recognized == ["open memory game"] and avs.recognized == []


def test_a_reset_upload_is_sent_again(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path) as client:
            avs.reset_uploads(1)
            result = await client.ask(noise(avs))
            avs.reset_uploads(2)
            with pytest.raises(UploadReset):
                await client.ask(noise(avs))
            return result
    assert run(main()).text.startswith("Welcome")
    assert avs.connections == 1


def test_204_is_an_empty_result_not_none(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path) as client:
            avs.heard_nothing_next()
            planned = await client.ask(noise(avs))
            unknown = await client.ask(os.urandom(3200))  # audio the fake cannot make out
            return planned, unknown
    for result in run(main()):
        assert result is not None and result.heard_nothing
        assert result.text == "" and result.audio == [] and not result.expects_speech


@pytest.mark.parametrize(("status", "error", "code"), [
    (400, InvalidRequest, "INVALID_REQUEST_EXCEPTION"),
    (403, Unauthorized, "UNAUTHORIZED_REQUEST_EXCEPTION"),
    (415, UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (429, Throttled, "THROTTLING_EXCEPTION"),
    (500, ServerError, "INTERNAL_SERVICE_EXCEPTION"),
    (503, Unavailable, "N/A"),
])
def test_each_system_exception_is_its_own_exception_type(avs, tmp_path, status, error, code):
    async def main():
        async with make_client(avs, tmp_path, throttle_backoff=0.01) as client:
            avs.fail_next(status, "as planned", times=5)  # more than any retry
            with pytest.raises(error) as raised:
                await client.ask(noise(avs))
            return raised.value
    raised = run(main())
    assert (raised.status, raised.code, raised.description) == (status, code, "as planned")
    assert f"AVS answered HTTP {status} ({code}: as planned)" == str(raised)


def test_throttling_backs_off_then_succeeds(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path, throttle_backoff=0.1) as client:
            avs.fail_next(429, "slow down", times=2)
            started = time.perf_counter()
            result = await client.ask(noise(avs))
            return result, time.perf_counter() - started
    result, elapsed = run(main())
    assert result.text.startswith("Welcome") and elapsed >= 0.1 + 0.2


def test_the_fake_is_strict_about_format_and_multipart(avs, tmp_path):
    from skills.voice import messages

    async def main():
        async with make_client(avs, tmp_path) as client:
            bad_format = messages.recognize("d1")
            bad_format["event"]["payload"]["format"] = "AUDIO_L16_RATE_44100_CHANNELS_2"
            wrong = await client.send_event(bad_format, noise(avs))
            token = await client.tokens.access_token()
            transport = client._transport
            garbled = await transport.request("POST", "/v20160207/events", token,
                                              content=b"--x\r\nnot a part",
                                              content_type="multipart/form-data; boundary=x")
            not_form = await transport.request("POST", "/v20160207/events", token,
                                               content=b"{}", content_type="application/json")
            return wrong, garbled, not_form
    wrong, garbled, not_form = run(main())
    assert wrong.status_code == 400
    assert wrong.json()["payload"]["code"] == "INVALID_REQUEST_EXCEPTION"
    assert "AUDIO_L16_RATE_44100_CHANNELS_2" in wrong.json()["payload"]["description"]
    assert wrong.json()["header"]["namespace"] == "System"
    assert garbled.status_code == 400 and not_form.status_code == 415
    assert not_form.json()["payload"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_an_ask_that_takes_too_long_times_out(avs, tmp_path):
    avs.delay = 2.0

    async def main():
        async with make_client(avs, tmp_path) as client:
            with pytest.raises(AskTimeout, match=r"within 0\.3 s"):
                await client.ask(noise(avs), timeout=0.3)
    run(main())


def test_an_unreachable_endpoint(lwa, tmp_path):
    with FakeAVS(lwa=lwa) as avs:
        store = avs.store(tmp_path / "avs.json")
        port = avs.server.port
    client = AVSClient(Tokens(store), endpoint=f"http://127.0.0.1:{port}", connect_timeout=1)
    with pytest.raises(Unreachable, match=f"127.0.0.1:{port} is unreachable"):
        run(client.connect())


def test_tls_with_h2_negotiated(lwa, tmp_path):
    with FakeAVS(MEMORY_GAME, lwa=lwa, tls=True) as avs:
        async def main():
            async with make_client(avs, tmp_path, verify=avs.ca_bundle) as client:
                return await client.ask(noise(avs))
        assert run(main()).text.startswith("Welcome")
        assert avs.url.startswith("https://") and avs.connections == 1


def test_one_connection_per_device_identity(avs, tmp_path):
    from skills.voice import VoiceError

    async def main():
        async with make_client(avs, tmp_path):
            with pytest.raises(VoiceError, match="already has an AVS connection open"):
                await make_client(avs, tmp_path).connect()
        async with make_client(avs, tmp_path) as again:  # closed: the identity is free
            return again.connects
    assert run(main()) == 1
