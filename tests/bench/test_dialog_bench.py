"""The local dialog's figure: one typed turn against the in-process Memory Game.

A turn is what the REPL does for one line: match the words against the interaction model,
build and sign the request, the skill verifies and handles it, the answer is rendered. Its
baseline, measured in the same run, is the bare ``SkillClient`` round trip of the same requests
(sign + verify + handle, no matching, no rendering), so the ratio is the dialog's own cost.
Goal from the issue: p50 ≤ 20 ms. Run with ``pytest -m bench -s tests/bench/test_dialog_bench.py``;
figures go to ``var/bench/runtime.json`` with the runtime's.
"""

from __future__ import annotations

import logging
import re
import statistics
import time
from pathlib import Path

import pytest

from skills.dialog import Dialog, render_turn
from skills.runtime.testing import SkillClient

from .figures import REPO, Figure, record

pytestmark = pytest.mark.bench

MEMORY_GAME = Path(REPO) / "skills" / "memory_game"
WARMUP_GAMES = 20
GAMES = 200  # three turns each: open, yes, the answer
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.fixture(autouse=True)
def quiet_request_log():
    """The REPL emits no per-request INFO lines (no handler); pytest's capture would."""
    logger = logging.getLogger("skills.runtime.requests")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def _ms(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1e6


def _dialog_game(dialog: Dialog, times: list[int]) -> str:
    """One game by typed words, each turn timed from the words to the rendered answer."""
    said = ["open memory game", "let's play", None]
    last = ""
    for line in said:
        if line is None:  # the answer, in words, read from the round's speech
            digits = re.findall(r"\d", last)
            line = "it's " + " ".join(WORDS[int(d)] for d in reversed(digits))
        started = time.perf_counter_ns()
        turn = dialog.say(line)
        shown = render_turn(turn)
        times.append(time.perf_counter_ns() - started)
        last = turn.speech or ""
        assert turn.error is None, shown
    return last


def _bare_game(alexa: SkillClient, times: list[int]) -> str:
    """The same three requests, built by hand and sent by the test client."""
    started = time.perf_counter_ns()
    alexa.launch()
    times.append(time.perf_counter_ns() - started)
    started = time.perf_counter_ns()
    round_ = alexa.intent("AMAZON.YesIntent")
    times.append(time.perf_counter_ns() - started)
    first, second, third = round_.attributes["numbers"]
    started = time.perf_counter_ns()
    reply = alexa.intent("AnswerIntent", {"first": first, "second": second, "third": third})
    times.append(time.perf_counter_ns() - started)
    return reply.speech or ""


def test_one_dialog_turn_against_the_in_process_memory_game():
    dialog = Dialog.for_skill(MEMORY_GAME, seed=1)
    alexa = SkillClient(dialog.client.target, dialog.pki)  # the same app, trusting the same PKI
    dialog_ns: list[int] = []
    bare_ns: list[int] = []
    for _ in range(WARMUP_GAMES):
        _dialog_game(dialog, [])
        _bare_game(alexa, [])
    outcomes = []
    for _ in range(GAMES):  # interleaved, so both see the same machine
        outcomes.append(_dialog_game(dialog, dialog_ns))
        _bare_game(alexa, bare_ns)
    assert set(outcomes) == {"Good job!"}, set(outcomes)  # real games, won by typed words

    details = {"turns": len(dialog_ns), "games": GAMES,
               "dialog_mean_ms": round(statistics.mean(dialog_ns) / 1e6, 3),
               "bare_mean_ms": round(statistics.mean(bare_ns) / 1e6, 3)}
    figure = record(Figure(
        "dialog turn p50 (match+sign+handle+render)", _ms(dialog_ns, 0.5), "ms",
        baseline=_ms(bare_ns, 0.5), baseline_label="bare SkillClient round trip",
        goal_op="<=", goal=20.0, details=details))
    record(Figure("dialog turn p95", _ms(dialog_ns, 0.95), "ms", baseline=_ms(bare_ns, 0.95),
                   baseline_label="bare SkillClient round trip", details=details))
    print(f"\n{figure.describe()}")
    assert figure.passed, figure.describe()


def test_matching_alone():
    """For information: the matcher's share of a turn (no skill involved)."""
    dialog = Dialog.for_skill(MEMORY_GAME)
    lines = ["let's play", "it's five eight and three", "the numbers are 1 2 3", "help",
             "order a pizza", "twenty one two three"]
    for line in lines * 50:
        dialog.matcher.match(line)
    times = []
    for line in lines * 500:
        started = time.perf_counter_ns()
        dialog.matcher.match(line)
        times.append(time.perf_counter_ns() - started)
    record(Figure("dialog matching p50 (Memory Game model)", _ms(times, 0.5), "ms",
                   details={"utterances": lines}))
