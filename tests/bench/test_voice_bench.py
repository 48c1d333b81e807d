"""The AVS client's figures: concurrent asks on one connection, and the client's memory.

The fake AVS runs in its own process (``python -m skills.voice.testing``) with a fixed delay
per ask, so the wall time of 10 asks at once against 1 ask shows whether the asks really run
side by side as streams of the one HTTP/2 connection (goal: ratio <= 1.5).
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
DELAY = 1.0  # seconds the fake takes per ask: a real round trip to Alexa takes 1-3 s
ROUNDS = 3
QUESTION = "open memory game"

CLIENT = """
import asyncio, sys
from skills.voice import AVSClient, TokenStore, Tokens, audio
pcm = audio.text_to_pcm(sys.argv[2])
async def main():
    async with AVSClient(Tokens(TokenStore(sys.argv[1])), out_dir=sys.argv[3]) as avs:
        results = await avs.ask_many([pcm] * 10)
        assert all(r.text for r in results), results
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.read)
asyncio.run(main())
"""


def _ready_line(process: subprocess.Popen, timeout: float = 30.0) -> str:
    readable, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline().decode() if readable else ""


@pytest.fixture(scope="module")
def fake_avs(tmp_path_factory):
    config = tmp_path_factory.mktemp("voice-bench") / "avs.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "skills.voice.testing", str(ROOT / "skills" / "memory_game"),
         "--config", str(config), "--hear", QUESTION, "--delay", str(DELAY)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT)
    lines = [_ready_line(process), _ready_line(process)]
    assert all(line.startswith("fake ") for line in lines), lines
    yield config
    process.terminate()
    process.wait(10)


def test_ten_asks_at_once_vs_one_on_the_same_connection(fake_avs, tmp_path):
    pcm = audio.text_to_pcm(QUESTION)

    async def main():
        async with AVSClient(Tokens(TokenStore(fake_avs)), out_dir=tmp_path) as avs:
            await avs.ask(pcm)  # warm: the skill's first request, the MP3 made once
            one, ten = [], []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                assert (await avs.ask(pcm)).text.startswith("Welcome")
                one.append(time.perf_counter() - started)
                started = time.perf_counter()
                results = await avs.ask_many([pcm] * 10)
                ten.append(time.perf_counter() - started)
                assert all(r.text.startswith("Welcome") for r in results)
            return one, ten, avs.connects
    one, ten, connects = asyncio.run(main())
    assert connects == 1
    figure = record(Figure(
        "AVS: 10 asks at once (wall time)", statistics.median(ten) * 1000, "ms",
        baseline=statistics.median(one) * 1000, baseline_label="1 ask, same connection",
        goal_op="<=", goal=1.5, goal_on="ratio",
        details={"server_delay_s": DELAY, "rounds": ROUNDS, "one_s": one, "ten_s": ten}))
    assert figure.passed, figure.describe()


def test_client_memory(fake_avs, tmp_path):
    client = subprocess.Popen([sys.executable, "-c", CLIENT, str(fake_avs), QUESTION,
                               str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              cwd=ROOT)
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
