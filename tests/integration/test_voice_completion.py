"""An ask ends when its dialog request is complete: Alexa's
InteractionModel.RequestProcessingCompleted with the request's dialogRequestId, on the event
stream or the downchannel, in either order with the answer; not merely when the event stream
closes, and with a clear error when the end never comes. Against the fake AVS, which sends it as
AVS does, through the real client."""

from __future__ import annotations

import asyncio
import time

import pytest

from skills.voice import AVSClient, IncompleteAnswer, Tokens, messages, mime

from .avs_fakes import declare_1_0, make_client, noise, run

pytestmark = pytest.mark.integration

COMPLETED = "InteractionModel.RequestProcessingCompleted"


def directives_of(response) -> list[tuple[str, str]]:
    """(name, dialogRequestId) of each directive in an event's answer, in order."""
    parts = mime.parse(response.headers["content-type"], response.content, "related")
    return [(f"{d['header']['namespace']}.{d['header']['name']}",
             d["header"].get("dialogRequestId", ""))
            for d in (p.json()["directive"] for p in parts if p.content_type == "application/json")]


def test_the_fake_ends_the_request_after_its_directives_with_its_dialog_request_id(
        avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path) as client:
            return await client.send_event(messages.recognize("d-42"), noise(avs))
    assert directives_of(run(main())) == [("SpeechSynthesizer.Speak", "d-42"),
                                          ("SpeechRecognizer.ExpectSpeech", "d-42"),
                                          (COMPLETED, "d-42")]


def test_without_interaction_model_1_2_declared_the_fake_never_ends_a_request(
        avs, tmp_path, monkeypatch):
    declare_1_0(monkeypatch, "InteractionModel")

    async def main():
        async with make_client(avs, tmp_path) as client:
            return await client.send_event(messages.recognize("d-42"), noise(avs))
    assert COMPLETED not in [name for name, _ in directives_of(run(main()))]


def test_an_ask_ends_at_the_end_sent_on_the_event_stream(avs, tmp_path):
    async def main():
        async with make_client(avs, tmp_path, complete_timeout=5) as client:
            started = time.perf_counter()
            result = await client.ask(noise(avs))
            return result, time.perf_counter() - started
    result, elapsed = run(main())
    assert result.text.startswith("Welcome to memory game") and result.audio
    assert [d.qualified for d in result.directives] == ["SpeechSynthesizer.Speak",
                                                       "SpeechRecognizer.ExpectSpeech"]
    assert elapsed < 5  # it did not wait for anything more


def test_an_end_on_the_downchannel_before_the_answer_waits_for_the_answer(avs, tmp_path):
    avs.complete_on("downchannel-before", gap=0.4)

    async def main():
        async with make_client(avs, tmp_path) as client:
            started = time.perf_counter()
            result = await client.ask(noise(avs))
            return result, time.perf_counter() - started
    result, elapsed = run(main())
    assert elapsed >= 0.4
    assert result.text.startswith("Welcome to memory game") and result.audio
    assert result.expects_speech


def test_an_ask_waits_past_its_event_stream_for_the_end_on_the_downchannel(avs, tmp_path):
    avs.complete_on("downchannel-after", gap=0.5)

    async def main():
        async with make_client(avs, tmp_path) as client:
            started = time.perf_counter()
            first = await client.ask(noise(avs))
            elapsed = time.perf_counter() - started
            second = await client.ask(noise(avs, "no"), dialog=first)
            return first, elapsed, second
    first, elapsed, second = run(main())
    assert elapsed >= 0.5  # the event stream had long closed
    assert first.text.startswith("Welcome to memory game")
    assert second.dialog_request_id != first.dialog_request_id and second.text
    assert avs.cancelled == 0 and avs.max_active == 1


def test_an_answer_whose_end_never_comes_is_an_incomplete_answer(avs, tmp_path):
    avs.complete_on("never")

    async def main():
        async with make_client(avs, tmp_path, complete_timeout=0.4) as client:
            started = time.perf_counter()
            with pytest.raises(IncompleteAnswer, match=f"without {COMPLETED}") as raised:
                await client.ask(noise(avs))
            elapsed = time.perf_counter() - started
            avs.complete_on("event-stream")
            after = await client.ask(noise(avs))  # the connection still serves asks
            return raised.value, elapsed, after
    error, elapsed, after = run(main())
    assert 0.4 <= elapsed < 5
    assert error.result.text.startswith("Welcome to memory game")  # what did come is kept
    assert after.text.startswith("Welcome to memory game")


def test_after_an_incomplete_answer_the_capabilities_are_declared_again(avs, tmp_path):
    avs.complete_on("never")
    store = avs.store(tmp_path / "avs.json")

    async def session(**options):
        async with AVSClient(Tokens(store), out_dir=tmp_path, backoff=(0.05, 0.2),
                             **options) as client:
            return await client.ask(noise(avs))

    with pytest.raises(IncompleteAnswer, match="declared again on the next connection"):
        run(session(complete_timeout=0.3))
    assert store.load().declared == ""
    avs.complete_on("event-stream")
    assert run(session()).text.startswith("Welcome")
    assert len(avs.reports) == 2 and store.load().declared


def test_directives_of_the_request_on_the_downchannel_are_part_of_its_answer(avs, tmp_path):
    avs.delay = 0.5  # Alexa is still thinking when the directives come on the downchannel

    async def main():
        async with make_client(avs, tmp_path) as client:
            ask = asyncio.create_task(client.ask(noise(avs)))
            while not avs.dialog_request_ids:
                await asyncio.sleep(0.01)
            ours = avs.dialog_request_ids[0]
            await asyncio.to_thread(avs.push, "SpeechRecognizer", "StopCapture", {}, ours)
            await asyncio.to_thread(avs.push, "SpeechRecognizer", "StopCapture", {}, "other")
            await asyncio.to_thread(avs.push, "Notifications", "SetIndicator", {})
            return await ask, ours
    result, ours = run(main())
    assert result.dialog_request_id == ours
    assert [d.qualified for d in result.directives] == [
        "SpeechRecognizer.StopCapture", "SpeechSynthesizer.Speak",
        "SpeechRecognizer.ExpectSpeech"]
    assert result.directives[0].dialog_request_id == ours
