"""Voice end to end with no Amazon account: text → espeak-ng speech → AVS protocol → the fake
AVS → the dialog engine → the skill → Speak, caption and MP3 back through the real client."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from skills.voice import AVSClient, Tokens, audio
from skills.voice.testing import DONT_KNOW, FakeAVS, FakeLWA

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                       reason="espeak-ng and sox make the test speech (.ci/run installs them)"),
]

MEMORY_GAME = Path(__file__).resolve().parents[2] / "skills" / "memory_game"


@pytest.fixture
def avs():
    with FakeLWA() as lwa, FakeAVS(MEMORY_GAME, lwa=lwa) as fake:
        yield fake


def client(avs, tmp_path) -> AVSClient:
    return AVSClient(Tokens(avs.store(tmp_path / "avs.json")), out_dir=tmp_path / "answers")


def test_memory_game_won_by_voice_across_expect_speech_turns(avs, tmp_path):
    avs.hear("open memory game")
    avs.hear("yes")

    async def main():
        async with client(avs, tmp_path) as alexa:
            opened = await alexa.ask("open memory game")
            assert opened.expects_speech, opened.text
            round_ = await alexa.ask("yes", dialog=opened)
            numbers = re.search(r"numbers (\d), (\d), (\d)", round_.text).groups()
            answer = " ".join(reversed(numbers))
            await asyncio.to_thread(avs.hear, answer)
            return opened, round_, await alexa.ask(answer, dialog=round_)
    opened, round_, won = asyncio.run(main())
    assert opened.text.startswith("Welcome to memory game")
    assert "backwards" in round_.text
    assert won.text.startswith("Good job")
    assert all(r.audio and r.audio[0].stat().st_size > 100 for r in (opened, round_, won))
    # Answers went back with ExpectSpeech's initiator, as AVS requires.
    assert avs.initiators[0] == {"type": "PRESS_AND_HOLD", "payload": {}}
    assert avs.initiators[1]["type"] == "EXPECT_SPEECH"


def test_an_answer_without_the_dialog_is_not_taken_as_an_answer(avs, tmp_path):
    avs.hear("open memory game")
    avs.hear("yes")

    async def main():
        async with client(avs, tmp_path) as alexa:
            await alexa.ask("open memory game")
            return await alexa.ask("yes")  # a new tap: Alexa has no skill session for it
    assert asyncio.run(main()).text == DONT_KNOW


def test_a_44k_stereo_wav_is_converted_before_it_is_sent(avs, tmp_path):
    spoken = tmp_path / "spoken.wav"
    subprocess.run(["espeak-ng", "-w", str(spoken), "open memory game"], check=True)
    stereo = tmp_path / "stereo44k.wav"
    subprocess.run(["sox", "-q", str(spoken), "-r", "44100", "-c", "2", str(stereo)], check=True)
    avs.register(audio.load_wav(stereo), "open memory game")

    async def main():
        async with client(avs, tmp_path) as alexa:
            converted = await alexa.ask(stereo)
            with pytest.raises(audio.AudioFormatError, match="44100 Hz, 16-bit, 2 channels"):
                await alexa.ask(stereo, convert=False)
            return converted
    assert asyncio.run(main()).text.startswith("Welcome to memory game")
    assert avs.events.count("SpeechRecognizer.Recognize") == 1  # the refused one never left


def test_the_cli_asks_several_questions_one_after_another(avs, tmp_path, capsys):
    from skills.cli import main

    avs.delay = 0.3  # long enough for two asks sent at once to overlap
    avs.hear("open memory game")
    avs.hear("ask memory game for help")
    avs.store(tmp_path / "avs.json")
    code = main(["ask", "open memory game", "ask memory game for help",
                 "--out", str(tmp_path / "mp3"), "--config", str(tmp_path / "avs.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "“open memory game” → Alexa: Welcome to memory game" in out
    assert "“ask memory game for help” → Alexa: " in out
    saved = sorted((tmp_path / "mp3").glob("*.mp3"))
    assert len(saved) == 2 and all(f"audio: {path}" in out for path in saved)
    assert avs.connections == 1 and avs.max_active == 1 and avs.cancelled == 0


def test_the_cli_replies_in_the_same_dialog_and_reads_audio_files(avs, tmp_path, capsys):
    from skills.cli import main

    spoken = tmp_path / "open.wav"
    subprocess.run(["espeak-ng", "-w", str(spoken), "open memory game"], check=True)
    avs.register(audio.load_wav(spoken), "open memory game")
    avs.hear("stop")
    avs.store(tmp_path / "avs.json")
    code = main(["ask", "--audio", str(spoken), "--reply", "stop",
                 "--out", str(tmp_path / "mp3"), "--config", str(tmp_path / "avs.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"“[{spoken}]” → Alexa: Welcome" in out
    assert "“stop” → Alexa: " in out
    assert DONT_KNOW not in out  # the reply went to the skill's session, not a new request


def test_the_cli_says_how_to_link_when_nothing_is_linked(tmp_path, capsys):
    from skills.cli import main

    assert main(["ask", "hello", "--config", str(tmp_path / "none.json")]) == 1
    assert "python -m skills avs login" in capsys.readouterr().err
