"""Record a dialog as JSON lines and play it back as a regression test of the skill.

The first line is a header (``{"dialog": 1, "locale": ..., "seed": ...}``); every other line is
one turn: what was said and what the skill answered (``speech``, ``reprompt``, ``card``,
``ends``). Replaying says every line again in a fresh session and stops at the first answer
that differs. The seed re-seeds Python's ``random`` in an in-process skill, so a game that
draws random numbers draws the same ones (and the recorded answers stay right); a skill served
elsewhere (``--url``) must be deterministic by itself. In pytest::

    from skills.dialog import assert_replay

    def test_memory_game_dialog():
        assert_replay("skills/memory_game", "tests/dialogs/memory_game.jsonl")
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .session import Dialog, Turn

FORMAT = 1
COMPARED = ("speech", "reprompt", "card", "ends")


def turn_record(turn: Turn) -> dict[str, Any]:
    """What a recording keeps of a turn."""
    return {"said": turn.said, "speech": turn.speech, "reprompt": turn.reprompt,
            "card": turn.card, "ends": bool(turn.ends_session)}


class Recorder:
    """Appends turns to ``path`` as they happen, so an interrupted session is kept."""

    def __init__(self, path: str | os.PathLike, *, locale: str, seed: int | None):
        self.path = Path(path)
        self._file: IO[str] = self.path.open("w", encoding="utf-8")
        self._write({"dialog": FORMAT, "locale": locale, "seed": seed})

    def _write(self, line: dict) -> None:
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()

    def add(self, turn: Turn) -> None:
        self._write(turn_record(turn))

    def close(self) -> None:
        self._file.close()


def read_recording(path: str | os.PathLike) -> tuple[dict, list[dict]]:
    """(header, turns) of a recording; ValueError naming the line when it is not one."""
    header, turns = None, []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}, line {number}: not JSON ({exc})") from None
        if header is None:
            if not isinstance(item, dict) or item.get("dialog") != FORMAT:
                raise ValueError(f"{path}, line {number}: not a dialog recording header")
            header = item
        elif not isinstance(item, dict) or "said" not in item:
            raise ValueError(f"{path}, line {number}: a turn needs at least 'said'")
        else:
            turns.append(item)
    if header is None:
        raise ValueError(f"{path} is empty")
    return header, turns


@dataclass
class ReplayResult:
    turns: list[Turn] = field(default_factory=list)
    difference: str | None = None  # the first differing answer, in words

    @property
    def ok(self) -> bool:
        return self.difference is None


def replay(dialog: Dialog, expected: list[dict]) -> ReplayResult:
    """Say every recorded line to ``dialog``; stop at the first answer that differs."""
    result = ReplayResult()
    for number, want in enumerate(expected, 1):
        said = want.get("said") or ""
        turn = dialog.say(said)
        result.turns.append(turn)
        got = turn_record(turn)
        for key in COMPARED:
            if key in want and want[key] != got[key]:
                result.difference = (f"turn {number}, after saying {said!r}: expected {key} "
                                     f"{json.dumps(want[key])}, got {json.dumps(got[key])}")
                return result
    return result


def assert_replay(skill: Any, path: str | os.PathLike, **options: Any) -> list[Turn]:
    """Replay the recording at ``path`` against ``skill``; AssertionError at the first change.

    ``skill`` is a skill directory, a legacy module, a Flask app (its model beside it), or a
    :class:`Dialog`. ``options`` go to ``Dialog.for_skill`` (``model=``, ``pki=``…).
    """
    header, expected = read_recording(path)
    if isinstance(skill, Dialog):
        dialog = skill
    else:
        options.setdefault("locale", header.get("locale") or "en-US")
        options.setdefault("seed", header.get("seed"))
        dialog = Dialog.for_skill(skill, **options)
    result = replay(dialog, expected)
    if dialog.in_session:
        dialog.end()
    if not result.ok:
        raise AssertionError(f"{path}: {result.difference}")
    return result.turns
