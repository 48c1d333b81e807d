"""``python -m skills dialog`` as a user runs it: a subprocess fed lines on stdin."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from skills.envfile import read_env_file
from skills.runtime.testing.process import SkillProcess

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MEMORY_GAME = ROOT / "skills" / "memory_game"
COMMAND = [sys.executable, "-m", "skills", "dialog"]
ENDS = ("  (listening)", "  (session ended)")


def dialog(*args: str, said: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *map(str, args)], input=said, capture_output=True,
                          text=True, cwd=ROOT, timeout=60, env=env)


class Repl:
    """The REPL in a subprocess, one line at a time: the next line can depend on the answer."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen([*COMMAND, *map(str, args)], cwd=ROOT, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, bufsize=1)

    def say(self, line: str) -> str:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        lines = []
        while True:
            line = self.process.stdout.readline()
            assert line, f"the REPL exited: {self.process.stderr.read()}"
            lines.append(line.rstrip("\n"))
            if lines[-1] in ENDS:
                return "\n".join(lines)

    def close(self) -> tuple[str, str, int]:
        out, err = self.process.communicate(timeout=30)
        return out, err, self.process.returncode


def backwards(answer: str) -> str:
    found = re.search(r"numbers (\d), (\d), (\d) backwards", answer)
    assert found, answer
    return " ".join(reversed(found.groups()))


def test_the_repl_plays_a_game_from_stdin_to_stdout():
    done = dialog(MEMORY_GAME, "--seed", "5",
                  said="open memory game\nyes\nhow do I play\n1 2 3\nopen memory game\n")
    assert done.returncode == 0, done.stderr
    assert 'Talking to "memory game" (en-US)' in done.stderr
    lines = done.stdout.splitlines()
    assert lines[:6] == [
        "> open memory game",
        "  → LaunchRequest",
        "Alexa: Welcome to memory game. I'm going to say three numbers for you to repeat "
        "backwards. Ready?",
        "  (reprompt) Say yes to start a round, or stop to quit.",
        '  [card Simple] Memory Game: I say three numbers, you repeat them backwards. Say "yes" '
        "to start.",
        "  (listening)",
    ]
    assert "> yes\n  → AMAZON.YesIntent\nAlexa: Can you repeat the numbers" in done.stdout
    assert "  → AMAZON.HelpIntent" in done.stdout
    assert "  → AnswerIntent first=1 second=2 third=3" in done.stdout
    # End of input with a session open: the user walked away.
    assert lines[-2:] == ["  → SessionEndedRequest (USER_INITIATED)", "  (session ended)"]


def test_record_then_replay_passes_and_fails_once_the_skill_changes(tmp_path, skill_copy):
    recording = tmp_path / "game.jsonl"
    repl = Repl(MEMORY_GAME, "--record", recording)
    assert "Welcome to memory game" in repl.say("open memory game")
    answer = repl.say(backwards(repl.say("yes")))
    assert "Alexa: Good job!\n  (session ended)" in answer
    repl.say("open memory game")
    assert "→ SessionEndedRequest (USER_INITIATED)" in repl.say("exit")
    _, err, code = repl.close()
    assert code == 0, err

    replayed = dialog(MEMORY_GAME, "--replay", recording)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert f"replay OK: 5 turns as recorded in {recording}" in replayed.stdout

    templates = skill_copy / "templates.yaml"
    templates.write_text(templates.read_text().replace("win: Good job!", "win: Nice one!"))
    failed = dialog(skill_copy, "--replay", recording)
    assert failed.returncode == 1
    assert ('REPLAY FAILED: ' in failed.stdout and 'turn 3' in failed.stdout
            and 'expected speech "Good job!", got "Nice one!"' in failed.stdout), failed.stdout


def test_a_running_skill_trusting_the_stored_pki(tmp_path):
    pki = tmp_path / "pki"
    setup = dialog(MEMORY_GAME, "--pki", pki, "--trust-env")
    assert setup.returncode == 0, setup.stderr
    env_file = Path(setup.stdout.strip())
    assert env_file == pki / "trust.env"
    assert oct((pki / "signing-key.pem").stat().st_mode & 0o777) == "0o600"
    skill = SkillProcess(MEMORY_GAME, read_env_file(str(env_file)),
                         log_path=tmp_path / "skill.log").start()
    try:
        done = dialog(MEMORY_GAME, "--url", skill.url, "--pki", pki,
                      said="open memory game\nstop\n")
        assert done.returncode == 0, done.stderr
        assert "Alexa: Welcome to memory game." in done.stdout
        assert "  → AMAZON.StopIntent\nAlexa: Goodbye!\n  (session ended)" in done.stdout
        # Another PKI: the skill refuses the signature, and the dialog says what Alexa says.
        refused = dialog(MEMORY_GAME, "--url", skill.url, "--pki", tmp_path / "other",
                         said="open memory game\n")
        assert "Alexa (error): There was a problem with the requested skill's response" in \
            refused.stdout
        assert "! HTTP 400" in refused.stdout
    finally:
        assert skill.stop() == 0, skill.logs()


def test_speak_without_espeak_ng_says_so(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no espeak-ng on this PATH
    done = dialog(MEMORY_GAME, "--speak", said="open memory game\n", env=env)
    assert done.returncode == 0
    assert "--speak: espeak-ng is not installed" in done.stderr
    assert "Alexa: Welcome to memory game." in done.stdout


def test_a_target_that_is_no_skill_is_a_message(tmp_path):
    done = dialog(tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("python -m skills dialog: ")
    assert "Traceback" not in done.stderr
