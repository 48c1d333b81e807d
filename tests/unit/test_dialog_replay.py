"""Recording a dialog and replaying it as a regression test (``assert_replay``)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from skills.dialog import Dialog, assert_replay
from skills.dialog.replay import Recorder, read_recording

pytestmark = pytest.mark.unit

MEMORY_GAME = Path(__file__).resolve().parents[2] / "skills" / "memory_game"


@pytest.fixture
def recording(tmp_path) -> Path:
    """A won game, a help and an exit, recorded with seed 7."""
    path = tmp_path / "game.jsonl"
    dialog = Dialog.for_skill(MEMORY_GAME, seed=7)
    recorder = Recorder(path, locale="en-US", seed=7)
    turn = None
    for said in ["open memory game", "yes", None, "open memory game", "help", "", "exit"]:
        if said is None:  # the answer: the round's numbers backwards
            said = " ".join(reversed(re.findall(r"\d", turn.speech)))
        turn = dialog.say(said)
        recorder.add(turn)
    recorder.close()
    return path


def test_the_recording_keeps_what_was_said_and_answered(recording):
    header, turns = read_recording(recording)
    assert header == {"dialog": 1, "locale": "en-US", "seed": 7}
    assert [t["said"] for t in turns][:2] == ["open memory game", "yes"]
    assert turns[2]["speech"] == "Good job!" and turns[2]["ends"] is True
    assert turns[0]["card"]["title"] == "Memory Game"
    assert turns[5] == {"said": "", "speech": "Say yes to start a round, or stop to quit.",
                        "reprompt": None, "card": None, "ends": False}
    assert turns[6]["said"] == "exit" and turns[6]["ends"] is True


def test_a_replay_of_the_same_skill_passes(recording):
    turns = assert_replay(MEMORY_GAME, recording)
    assert [t.speech for t in turns][2] == "Good job!"


def test_a_replay_fails_at_the_first_changed_answer(recording, tmp_path):
    copy = tmp_path / "memory_game"
    shutil.copytree(MEMORY_GAME, copy, ignore=shutil.ignore_patterns("__pycache__"))
    templates = copy / "templates.yaml"
    templates.write_text(templates.read_text().replace("win: Good job!", "win: Well done!"))
    with pytest.raises(AssertionError) as failed:
        assert_replay(copy, recording)
    answer = read_recording(recording)[1][2]["said"]
    assert str(failed.value) == (f"{recording}: turn 3, after saying {answer!r}: "
                                 'expected speech "Good job!", got "Well done!"')


def test_a_broken_recording_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"dialog": 1}\n{"speech": "x"}\n')
    with pytest.raises(ValueError, match="line 2: a turn needs at least 'said'"):
        read_recording(path)
