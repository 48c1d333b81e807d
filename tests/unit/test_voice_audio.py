"""Audio checks and conversion, MIME, captions and the token store: no network."""

from __future__ import annotations

import array
import asyncio
import json
import math
import os
import shutil
import stat

import pytest

from skills.voice import audio, mime
from skills.voice.errors import NotLinked
from skills.voice.messages import AskResult, Directive, caption_text, recognize
from skills.voice.store import Device, TokenStore

pytestmark = pytest.mark.unit


def tone(rate: int, channels: int, seconds: float = 0.5, hz: float = 440.0) -> bytes:
    samples = array.array("h")
    for n in range(int(rate * seconds)):
        value = int(12000 * math.sin(2 * math.pi * hz * n / rate))
        samples.extend([value] * channels)
    return samples.tobytes()


@pytest.fixture
def stereo_44k(tmp_path):
    return audio.write_wav(tmp_path / "stereo.wav", tone(44100, 2), rate=44100, channels=2)


def test_a_16k_mono_wav_is_sent_as_it_is(tmp_path):
    samples = tone(16000, 1)
    path = audio.write_wav(tmp_path / "ok.wav", samples)
    assert audio.load_wav(path, convert=False) == samples


def test_a_44k_stereo_wav_is_refused_naming_the_format_needed(stereo_44k):
    with pytest.raises(audio.AudioFormatError) as refused:
        audio.load_wav(stereo_44k, convert=False)
    assert "44100 Hz, 16-bit, 2 channels" in str(refused.value)
    assert "16 kHz, 16-bit, mono, little-endian PCM" in str(refused.value)


def test_a_44k_stereo_wav_is_converted_without_sox(stereo_44k, monkeypatch):
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    pcm = audio.load_wav(stereo_44k)
    assert abs(len(pcm) // 2 - 8000) <= 1  # half a second at 16 kHz, one channel
    peak = max(abs(v) for v in array.array("h", pcm))
    assert 11000 < peak <= 12000  # the tone survives resampling and channel mixing


@pytest.mark.skipif(not shutil.which("sox"), reason="sox is not installed (.ci/run installs it)")
def test_a_44k_stereo_wav_is_converted_with_sox_the_same_every_time(stereo_44k):
    first, second = audio.load_wav(stereo_44k), audio.load_wav(stereo_44k)
    assert first == second
    assert abs(len(first) // 2 - 8000) <= 2


def test_8_and_24_bit_wavs_convert_without_sox(tmp_path, monkeypatch):
    import wave

    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    for width in (1, 3):
        path = tmp_path / f"w{width}.wav"
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(width)
            wav.setframerate(8000)
            wav.writeframes(bytes([128 if width == 1 else 0]) * width * 800)
        assert len(audio.load_wav(path)) == 2 * 1600


def test_a_file_that_is_not_a_wav_is_refused_before_sending(tmp_path, monkeypatch):
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    path = tmp_path / "song.wav"
    path.write_bytes(b"ID3" + os.urandom(100))
    with pytest.raises(audio.AudioFormatError, match="not a PCM WAV file"):
        audio.to_pcm(path)


def test_raw_pcm_is_checked():
    assert audio.pcm(b"\0\1" * 10) == b"\0\1" * 10
    with pytest.raises(audio.AudioFormatError, match="whole number of 16-bit samples"):
        audio.pcm(b"\0" * 3)
    with pytest.raises(audio.AudioFormatError, match="WAV file, not raw samples"):
        audio.pcm(b"RIFF" + b"\0" * 40)
    with pytest.raises(audio.AudioFormatError, match="empty"):
        audio.pcm(b"")


@pytest.mark.skipif(not shutil.which("espeak-ng"),
                    reason="espeak-ng is not installed (.ci/run installs it)")
def test_text_becomes_the_same_speech_every_time():
    first = audio.text_to_pcm("open memory game")
    assert first == audio.text_to_pcm("open memory game")
    assert len(first) > 16000  # over half a second of speech


def test_the_recognize_event_names_the_format_profile_and_initiator():
    event = recognize("dialog-1")["event"]
    assert event["header"] == {"namespace": "SpeechRecognizer", "name": "Recognize",
                               "messageId": event["header"]["messageId"],
                               "dialogRequestId": "dialog-1"}
    assert event["payload"] == {"profile": "CLOSE_TALK",
                                "format": "AUDIO_L16_RATE_16000_CHANNELS_1",
                                "initiator": {"type": "PRESS_AND_HOLD", "payload": {}}}


def test_form_data_is_metadata_then_audio_in_small_chunks():
    async def chunks():
        return [c async for c in mime.form_data("b0", {"event": 1}, b"\1\2" * 5000)]

    parts = asyncio.run(chunks())
    assert max(len(c) for c in parts[2:-2]) <= mime.CHUNK
    parsed = mime.parse("multipart/form-data; boundary=b0", b"".join(parts), "form-data")
    assert [(p.name, p.content_type) for p in parsed] == [
        ("metadata", "application/json"), ("audio", "application/octet-stream")]
    assert parsed[0].json() == {"event": 1} and parsed[1].body == b"\1\2" * 5000


def test_related_parts_keep_binary_bodies_and_content_ids():
    blob = os.urandom(4000) + b"\r\n--not-the-boundary\r\n" + os.urandom(100)
    body = mime.related("xyz", [mime.Part("application/json", b'{"a": 1}'),
                                mime.Part("application/octet-stream", blob, content_id="c1")])
    parts = mime.parse('multipart/related; boundary=xyz; type="application/json"', body,
                       "related")
    assert parts[1].body == blob and parts[1].content_id == "c1"
    with pytest.raises(mime.MimeError):
        mime.parse("multipart/related; boundary=xyz", b"--xyz\r\n\r\nno end", "related")
    with pytest.raises(mime.MimeError):
        mime.parse("text/plain", body, "related")


def test_the_downchannel_stream_yields_each_part_once_complete():
    stream = mime.PartStream("multipart/related; boundary=dc")
    data = mime.stream_start("dc") + b"".join(
        mime.stream_part("dc", mime.Part("application/json", json.dumps({"n": n}).encode()))
        for n in range(3))
    got = []
    for i in range(0, len(data), 5):
        got += [p.json()["n"] for p in stream.feed(data[i:i + 5])]
    assert got == [0, 1, 2]


def test_captions_are_read_from_webvtt():
    vtt = {"type": "WEBVTT", "content": "WEBVTT\n\n1\n00:00.000 --> 00:01.500\nHello there.\n\n"
                                        "2\n00:01.500 --> 00:03.000\n<b>How</b> are you?"}
    assert caption_text(vtt) == "Hello there. How are you?"
    assert caption_text(None) == ""


def test_an_empty_result_is_a_result_and_expect_speech_gives_the_initiator():
    empty = AskResult("d", heard_nothing=True)
    assert empty is not None and empty.text == "" and not empty.expects_speech
    expect = Directive("SpeechRecognizer", "ExpectSpeech",
                       {"timeoutInMilliseconds": 8000, "initiator": {"type": "X"}})
    assert AskResult("d", directives=[expect]).initiator == {"type": "X"}


def test_the_token_store_is_0600_and_keeps_secrets_out_of_repr(tmp_path):
    store = TokenStore(tmp_path / "conf" / "avs.json")
    device = Device("client", "product", "serial", refresh_token="Atzr|secret-refresh",
                    access_token="Atza|secret-access", client_secret="shh")
    store.save(device)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert "secret" not in repr(device) and "shh" not in repr(device)
    assert store.load().refresh_token == "Atzr|secret-refresh"


def test_a_loosened_token_store_is_tightened(tmp_path, caplog):
    store = TokenStore(tmp_path / "avs.json")
    store.save(Device("c", "p", "s", refresh_token="r"))
    store.path.chmod(0o644)
    store.load()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert "readable by others" in caplog.text


def test_a_missing_store_says_how_to_link(tmp_path):
    with pytest.raises(NotLinked, match="python -m skills avs login"):
        TokenStore(tmp_path / "none.json").load()


def test_regions_and_overrides():
    assert Device("c", "p", "s", region="eu").endpoint == \
        "https://alexa.eu.gateway.devices.a2z.com"
    assert Device("c", "p", "s", avs_url="http://127.0.0.1:1/").endpoint == "http://127.0.0.1:1"
    assert Device("c", "p", "s").lwa == "https://api.amazon.com"
