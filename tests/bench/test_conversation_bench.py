"""The conversation skill's own cost per turn, beside the (fake) model's time, and its memory.

A turn is: verify the request, check the stop phrases, render the prompts, call Bedrock
through boto3 (SigV4, HTTP), clean the answer for speech, keep the history, and send
"Let me think…" beside it. The fake Bedrock takes a fixed ``MODEL_S`` per call, as a model
would (seconds in real life), so the progressive response overlaps it as in production.

The skill's overhead of one turn = its own latency (the runtime's ``latency_ms`` log field)
minus the time the fake spent on that turn's call (measured inside the fake). Run with
``pytest -m bench -s tests/bench/test_conversation_bench.py``.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from pathlib import Path

import psutil
import pytest

from skills.conversation.testing import FakeBedrock
from skills.runtime.testing import SkillClient, builders
from skills.runtime.testing.process import SkillProcess

from .figures import Figure, record
from .workload import THREADS, IdlePython, memory_mb

pytestmark = pytest.mark.bench

CONVERSATION = Path(__file__).resolve().parents[2] / "skills" / "conversation"
MODEL_S = 0.02  # the fake model's time per call
WARMUP_TURNS = 20
SESSIONS = 50
TURNS_PER_SESSION = 6  # so the history sent along ranges over empty to five exchanges
QUESTIONS = ["why is the sky blue", "what should I cook tonight", "tell me about volcanoes",
             "how far away is the moon", "what is a good name for a cat",
             "why do we have to sleep"]
ANSWER = ("Sunlight is scattered by the air, and blue light scatters the most. **That** is "
          "why the sky looks blue during the day. At sunset the light travels further, so "
          "more of the blue is lost 🌅.")
LATENCY_RE = re.compile(r"request_id=(\S+) type=IntentRequest intent=ChatIntent outcome=ok "
                        r"latency_ms=([0-9.]+)")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _play(alexa: SkillClient, bedrock: FakeBedrock, sessions: int) -> list[tuple[str, float]]:
    """Whole conversations; (request id, client round trip in ms) per model turn."""
    turns = []
    for _ in range(sessions):
        alexa.send(builders.launch_request(), api_endpoint=bedrock.url)
        for question in QUESTIONS[:TURNS_PER_SESSION]:
            request = builders.intent_request("ChatIntent", {"utterance": question})
            started = time.perf_counter()
            reply = alexa.send(request, api_endpoint=bedrock.url)
            turns.append((request["requestId"], (time.perf_counter() - started) * 1000))
            assert reply.status == 200 and reply.speech.startswith("Sunlight is scattered"), \
                reply.body[:300]
        alexa.send(builders.intent_request("AMAZON.StopIntent"), api_endpoint=bedrock.url)
    return turns


def test_overhead_per_turn_beside_the_model_and_memory(alexa_pki, skill_env, tmp_path):
    with FakeBedrock() as bedrock:
        bedrock.delay = MODEL_S
        bedrock.responder = lambda call, n: ANSWER
        env = {**skill_env, **bedrock.environment()}
        server = SkillProcess(CONVERSATION, env, args=("--threads", str(THREADS)),
                              log_path=tmp_path / "skill.log")
        with server:
            alexa = SkillClient(server.url, alexa_pki)
            _play(alexa, bedrock, WARMUP_TURNS // TURNS_PER_SESSION + 1)
            bedrock.clear()
            process = psutil.Process(server.process.pid)
            cpu_before = process.cpu_times()
            turns = _play(alexa, bedrock, SESSIONS)
            cpu_after = process.cpu_times()
            time.sleep(0.3)  # the last log lines
            calls = [call for call in bedrock.converse_calls if call.status == 200]
            rss = memory_mb(server.process.pid)
            logged = dict(LATENCY_RE.findall(server.logs()))
        baseline = IdlePython("flask, boto3", env=server.env)
        try:
            baseline.wait_ready()
            time.sleep(0.5)
            idle_python = memory_mb(baseline.process.pid)
        finally:
            baseline.stop()

    assert len(calls) == len(turns) == SESSIONS * TURNS_PER_SESSION
    model_ms = [call.ms for call in calls]
    server_ms = [float(logged[request_id]) for request_id, _ in turns]
    overhead = [server - model for server, model in zip(server_ms, model_ms, strict=True)]
    round_trip = [ms - model for (_, ms), model in zip(turns, model_ms, strict=True)]
    # CPU the skill's process spent (all threads), per turn: unlike latency, not inflated when
    # the machine is busy. Launch and stop requests are in it too, a small share.
    cpu_ms = ((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)) \
        * 1000 / len(turns)
    details = {"turns": len(turns), "fake_model_s": MODEL_S,
               "overhead_ms": {"p50": _percentile(overhead, 0.5),
                               "p95": _percentile(overhead, 0.95),
                               "mean": statistics.fmean(overhead)},
               "model_ms_p50": _percentile(model_ms, 0.5),
               "client_round_trip_minus_model_ms_p50": _percentile(round_trip, 0.5),
               "cpu_ms_per_turn": cpu_ms, "load_average_1min": os.getloadavg()[0]}
    print(f"\nconversation turn: skill overhead p50 {_percentile(overhead, 0.5):.2f} ms, "
          f"p95 {_percentile(overhead, 0.95):.2f} ms beside the fake model's "
          f"{_percentile(model_ms, 0.5):.1f} ms; client round trip minus model p50 "
          f"{_percentile(round_trip, 0.5):.2f} ms; CPU {cpu_ms:.2f} ms per turn; "
          f"RSS {rss['rss']:.1f} MiB vs idle python with flask and boto3 imported "
          f"{idle_python['rss']:.1f} MiB (load average {os.getloadavg()[0]:.1f})")

    label = "fake model's time"
    figure = record(Figure("conversation turn overhead p50", _percentile(overhead, 0.5), "ms",
                           baseline=_percentile(model_ms, 0.5), baseline_label=label,
                           goal_op="<=", goal=5.0, details=details))
    record(Figure("conversation turn overhead p95", _percentile(overhead, 0.95), "ms",
                  baseline=_percentile(model_ms, 0.95), baseline_label=label))
    record(Figure("conversation turn, client round trip minus model p50",
                  _percentile(round_trip, 0.5), "ms", baseline=_percentile(model_ms, 0.5),
                  baseline_label=label))
    record(Figure("conversation turn, skill CPU per turn", cpu_ms, "ms",
                  baseline=_percentile(model_ms, 0.5), baseline_label=label))
    record(Figure("RSS: conversation skill after turns", rss["rss"], "MiB",
                  baseline=idle_python["rss"], baseline_label="python+flask+boto3 idle",
                  details={"skill": rss, "python_flask_boto3": idle_python}))
    assert figure.passed, figure.describe()
