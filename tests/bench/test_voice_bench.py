"""The AVS client's figures: its own time per ask, and its memory.

AVS takes a device's requests one at a time, so asks are sequential and what the client adds
to each one is what counts. The fake AVS runs in its own process (``python -m
skills.voice.testing``) and waits a fixed delay per ask; an ask's wall time beyond that delay
is the client's overhead (goal: p50 <= 50 ms). Each ask lasts until its dialog request is
complete (RequestProcessingCompleted, which the fake sends on the event stream after the Speak,
as AVS does), and the capabilities are declared once, on the first connection, not per ask. It
is an upper bound: it also holds loopback HTTP/2, the fake's parsing and its turn through the
dialog engine to the skill.
"""

from __future__ import annotations

import asyncio
import select
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skills.voice import AVSClient, Tokens, TokenStore, audio

from .figures import Figure, record
from .workload import IdlePython, memory_mb

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(not shutil.which("espeak-ng"),
                       reason="espeak-ng makes the spoken request (.ci/run installs it)"),
]

ROOT = Path(__file__).resolve().parents[2]
DELAY = 0.5  # seconds the fake waits per ask (a real round trip to Alexa takes 1-3 s)
ASKS = 20
QUESTION = "open memory game"

CLIENT = """
import asyncio, sys
from skills.voice import AVSClient, TokenStore, Tokens, audio
pcm = audio.text_to_pcm(sys.argv[2])
async def main():
    async with AVSClient(Tokens(TokenStore(sys.argv[1])), out_dir=sys.argv[3]) as avs:
        results = await avs.ask_many([pcm] * 10)  # one after another
        assert all(r.text for r in results), results
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.read)
asyncio.run(main())
"""


def _ready_line(process: subprocess.Popen, timeout: float = 30.0) -> str:
    # Unbuffered pipes (bufsize=0): a buffered readline could swallow the next line, and
    # select would then wait for bytes already read.
    readable, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline().decode() if readable else ""


@pytest.fixture(scope="module")
def fake_avs(tmp_path_factory):
    config = tmp_path_factory.mktemp("voice-bench") / "avs.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "skills.voice.testing", str(ROOT / "skills" / "memory_game"),
         "--config", str(config), "--hear", QUESTION, "--delay", str(DELAY)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT, bufsize=0)
    try:
        lines = [_ready_line(process), _ready_line(process)]
        assert all(line.startswith("fake ") for line in lines), lines
        yield config
    finally:  # also when it failed to start: an orphan would hold the run's stderr open
        process.terminate()
        process.wait(10)


def test_client_overhead_per_ask_beyond_the_fakes_delay(fake_avs, tmp_path):
    pcm = audio.text_to_pcm(QUESTION)

    async def main():
        async with AVSClient(Tokens(TokenStore(fake_avs)), out_dir=tmp_path) as avs:
            await avs.ask(pcm)  # warm: the skill's first request, the MP3 made once
            walls = []
            for _ in range(ASKS):
                started = time.perf_counter()
                assert (await avs.ask(pcm)).text.startswith("Welcome")
                walls.append(time.perf_counter() - started)
            return walls, avs.connects, avs.capabilities.reports
    walls, connects, reports = asyncio.run(main())
    assert connects == 1 and reports == 1
    overheads = sorted((wall - DELAY) * 1000 for wall in walls)
    figure = record(Figure(
        "AVS: client overhead per ask (p50)", statistics.median(overheads), "ms",
        baseline=DELAY * 1000, baseline_label="the fake's fixed delay per ask",
        goal_op="<=", goal=50, details={
            "asks": ASKS, "p90_ms": overheads[int(len(overheads) * 0.9) - 1],
            "max_ms": overheads[-1], "wall_s": walls}))
    assert figure.passed, figure.describe()


def test_client_memory(fake_avs, tmp_path):
    client = subprocess.Popen([sys.executable, "-c", CLIENT, str(fake_avs), QUESTION,
                               str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              cwd=ROOT, bufsize=0)
    baseline = IdlePython("asyncio, ssl, json")
    try:
        assert _ready_line(client, 60).strip() == "ready"
        baseline.wait_ready()
        used, idle = memory_mb(client.pid), memory_mb(baseline.process.pid)
    finally:
        client.stdin.close()
        client.wait(10)
        client.stdout.close()
        baseline.stop()
    record(Figure("AVS client RSS after 10 asks", used["rss"], "MiB", baseline=idle["rss"],
                  baseline_label="idle python with asyncio, ssl", details={
                      "client": used, "baseline": idle}))
