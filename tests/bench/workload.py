"""What the benchmarks send: pre-signed Memory Game requests, and a plain one-shot POST."""

from __future__ import annotations

import http.client
import json
import select
import subprocess
import sys
from pathlib import Path

import psutil

from skills.runtime.testing import TestPKI, builders

REPO = Path(__file__).resolve().parents[2]
MEMORY_GAME = REPO / "skills" / "memory_game"
BARE_APP = Path(__file__).resolve().parent / "bare_app"
THREADS = 4  # waitress worker threads, the same for every server in a comparison

Request = tuple[bytes, dict[str, str]]


def memory_game_requests(pki: TestPKI, pairs: int = 8) -> list[Request]:
    """``pairs`` pairs of a LaunchRequest and an AnswerIntent in a running round, signed now.

    Half of the answers are right and half wrong, so both endings render. The bodies are signed
    the way Alexa signs them (Signature-256 and the legacy Signature), with fresh timestamps:
    use them within the verifier's 150 s tolerance.
    """
    requests: list[Request] = []
    for n in range(pairs):
        shown = [n % 10, (n + 3) % 10, (n + 7) % 10]
        expected = shown[::-1]
        said = expected if n % 2 == 0 else [(d + 1) % 10 for d in expected]
        launch = builders.envelope(builders.launch_request())
        answer = builders.envelope(
            builders.intent_request(
                "AnswerIntent", {"first": said[0], "second": said[1], "third": said[2]}
            ),
            new_session=False,
            attributes={"shown": shown, "numbers": expected},
        )
        for envelope in (launch, answer):
            body = json.dumps(envelope).encode()
            requests.append((body, {"Content-Type": "application/json", **pki.sign(body)}))
    return requests


def post(port: int, body: bytes, headers: dict[str, str], path: str = "/",
         timeout: float = 10.0) -> tuple[int, bytes]:
    """One POST on a new connection; connection errors propagate (the server may not be up)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body, headers)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def send_all(port: int, requests: list[Request], path: str = "/") -> list[tuple[int, bytes]]:
    """Send ``requests`` in order over one keep-alive connection; returns (status, body) each."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    answers = []
    try:
        for body, headers in requests:
            conn.request("POST", path, body, headers)
            answer = conn.getresponse()
            answers.append((answer.status, answer.read()))
    finally:
        conn.close()
    return answers


def speech(raw: bytes) -> str:
    """The spoken text of a skill's JSON answer ('' when there is none)."""
    try:
        speech = json.loads(raw)["response"]["outputSpeech"]
    except (ValueError, KeyError, TypeError):
        return ""
    return speech.get("text") or speech.get("ssml") or ""


def memory_mb(pid: int) -> dict[str, float]:
    """RSS, USS and PSS of a process in MiB (USS/PSS from /proc/PID/smaps, via psutil)."""
    info = psutil.Process(pid).memory_full_info()
    mib = 1024 * 1024
    return {"rss": info.rss / mib, "uss": info.uss / mib, "pss": info.pss / mib}


class IdlePython:
    """``python -c "import <modules>"`` waiting on stdin: the baseline for a process's memory."""

    def __init__(self, modules: str = "flask", env: dict[str, str] | None = None):
        code = f"import sys, {modules}; print('ready', flush=True); sys.stdin.read()"
        self.process = subprocess.Popen([sys.executable, "-c", code], env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def wait_ready(self, timeout: float = 15.0) -> None:
        # The child prints one line once its imports are done.
        readable, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if readable else b"(nothing)"
        if line.strip() != b"ready":
            raise RuntimeError(f"baseline process did not start within {timeout} s: {line!r}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
