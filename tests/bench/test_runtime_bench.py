"""The runtime's figures, each against a baseline measured in the same run.

Machines are noisy (and the bench's client shares the machine with the server), so every figure
is printed next to its baseline and the ratio between them; the goals from the issue are
asserted, so a missed goal fails the bench run. Run with ``make bench`` or
``pytest -m bench -s tests/bench``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time

import pytest
from werkzeug.datastructures import EnvironHeaders

from skills.runtime.testing import builders
from skills.runtime.testing.process import SkillProcess
from skills.runtime.verifier import CertChainStore, RequestVerifier

from .figures import Figure, record
from .loadgen import run_load
from .workload import (
    BARE_APP,
    MEMORY_GAME,
    THREADS,
    IdlePython,
    memory_game_requests,
    memory_mb,
    post,
    send_all,
    speech,
)

pytestmark = pytest.mark.bench

SERVER_ARGS = ("--threads", str(THREADS))

# 1. Throughput
CONCURRENCY = 4  # keep-alive connections, one per load generator process
WARMUP_S = 1.0
MEASURE_S = 5.0
ROUNDS = 3

# 2. Verification
VERIFY_RUNS = 2000

# 3. Memory
WARM_REQUESTS = 50

# 4. Cold start
COLD_STARTS = 5


def _check_answers(name: str, answers: list[tuple[int, bytes]], *, skill: bool) -> None:
    statuses = {status for status, _ in answers}
    assert statuses == {200}, f"{name} answered {statuses}: {answers[0][1][:200]!r}"
    if skill:  # the real game, not an error statement: the bench measures real work
        assert "Welcome to memory game" in speech(answers[0][1]), answers[0][1][:300]
        assert any(word in speech(answers[1][1]) for word in ("Good job", "wrong answer"))


def _ms(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1e6


# 1 ------------------------------------------------------------------------------------------


def test_throughput_verified_memory_game_vs_bare_flask(alexa_pki, skill_env):
    """Verified Memory Game requests per second vs a bare Flask JSON endpoint, same server."""
    variants = {
        "bare": (BARE_APP, skill_env),
        "verified": (MEMORY_GAME, skill_env),
        # Not goals. The same skill without verification shows what verification costs; the bare
        # endpoint plus only the signature check is the ceiling for any skill that verifies.
        "unverified": (MEMORY_GAME, {**skill_env, "ASK_VERIFY_REQUESTS": "0"}),
        "ceiling": (BARE_APP, {**skill_env, "BENCH_CHECK_SIGNATURE": "1"}),
    }
    servers = {name: SkillProcess(target, env, args=SERVER_ARGS)
               for name, (target, env) in variants.items()}
    runs: dict[str, list] = {name: [] for name in servers}
    load = os.getloadavg()[0]
    print(f"\nload average before the run: {load:.2f} ({os.cpu_count()} CPUs)", end="")
    try:
        for server in servers.values():
            server.start()
        check = memory_game_requests(alexa_pki, pairs=1)
        for name, server in servers.items():
            _check_answers(name, send_all(server.port, check),
                           skill=name in ("verified", "unverified"))
        for round_ in range(1, ROUNDS + 1):
            for name, server in servers.items():  # alternate: bare, verified, unverified, ...
                requests = memory_game_requests(alexa_pki)  # signed now: timestamps are fresh
                result = run_load(server.url, requests, concurrency=CONCURRENCY,
                                  warmup=WARMUP_S, duration=MEASURE_S,
                                  server_pid=server.process.pid)
                runs[name].append(result)
                print(f"\nthroughput round {round_}/{ROUNDS} {name:>10}: {result.rate:7.0f} req/s"
                      f"  p50 {result.latency_p50_ms:5.2f} ms  p99 {result.latency_p99_ms:6.2f} ms"
                      f"  server {result.server_cpu:.2f} CPU ({result.server_cpu_us:.0f} us/req)"
                      f"  client {result.client_cpu:.2f} CPU"
                      f"  errors {result.errors}", end="")
        print()
    finally:
        for server in servers.values():
            server.stop()

    for name, results in runs.items():
        assert all(r.errors == 0 for r in results), f"{name}: refused requests under load"
        assert all(r.requests > 0 for r in results), f"{name}: no request answered"

    def details(name: str) -> dict:
        return {
            "rates": [round(r.rate, 1) for r in runs[name]],
            "latency_p50_ms": [round(r.latency_p50_ms, 3) for r in runs[name]],
            "latency_p99_ms": [round(r.latency_p99_ms, 3) for r in runs[name]],
            "server_cpu": [round(r.server_cpu, 2) for r in runs[name]],
            "server_cpu_us_per_request": [round(r.server_cpu_us, 1) for r in runs[name]],
            "client_cpu": [round(r.client_cpu, 2) for r in runs[name]],
        }

    rate = {name: statistics.median(r.rate for r in results) for name, results in runs.items()}
    setup = {"concurrency": CONCURRENCY, "threads": THREADS, "warmup_s": WARMUP_S,
             "measure_s": MEASURE_S, "rounds": ROUNDS, "load_average_before": load}
    figure = record(Figure(
        "throughput: verified Memory Game", rate["verified"], "req/s",
        baseline=rate["bare"], baseline_label="bare Flask",
        goal_op=">=", goal=0.9, goal_on="ratio",
        details={**setup, "verified": details("verified"), "bare": details("bare"),
                 "pair_ratios": [round(v.rate / b.rate, 3) for v, b in
                                 zip(runs["verified"], runs["bare"], strict=True)]},
    ))
    cpu = {name: statistics.median(r.server_cpu_us for r in results)
           for name, results in runs.items()}
    record(Figure("server CPU per request: verified", cpu["verified"], "us",
                  baseline=cpu["bare"], baseline_label="bare Flask",
                  details={"unverified_us": cpu["unverified"], "ceiling_us": cpu["ceiling"]}))
    record(Figure("throughput: skill, unverified", rate["unverified"], "req/s",
                  baseline=rate["bare"], baseline_label="bare Flask",
                  details={**setup, "unverified": details("unverified")}))
    record(Figure("throughput ceiling: bare + signature check", rate["ceiling"], "req/s",
                  baseline=rate["bare"], baseline_label="bare Flask",
                  details={**setup, "ceiling": details("ceiling"),
                           "pair_ratios": [round(c.rate / b.rate, 3) for c, b in
                                           zip(runs["ceiling"], runs["bare"], strict=True)]}))
    record(Figure("throughput: verification's share", rate["verified"], "req/s",
                  baseline=rate["unverified"], baseline_label="unverified",
                  details={"pair_ratios": [round(v.rate / u.rate, 3) for v, u in
                                           zip(runs["verified"], runs["unverified"],
                                               strict=True)]}))
    assert figure.passed, figure.describe()


# 2 ------------------------------------------------------------------------------------------


def _wsgi_headers(headers: dict[str, str]) -> EnvironHeaders:
    """The headers as the view sees them: werkzeug's view of the WSGI environ."""
    environ = {"HTTP_" + name.upper().replace("-", "_"): value
               for name, value in headers.items() if name != "Content-Type"}
    environ["CONTENT_TYPE"] = headers.get("Content-Type", "")
    return EnvironHeaders(environ)


def test_verification_cost_with_a_cached_chain(alexa_pki, skill_env):
    """p50 of one request's verification once the chain is in memory."""
    store = CertChainStore(ca_bundle=skill_env["ASK_CA_BUNDLE"],
                           cache_dir=skill_env["ASK_CERT_CACHE_DIR"])
    verifier = RequestVerifier(store, application_ids=[builders.APPLICATION_ID])
    body, headers = memory_game_requests(alexa_pki, pairs=1)[1]  # an AnswerIntent, 1.5 KB
    headers = _wsgi_headers(headers)
    payload = json.loads(body)
    verifier.verify(headers, body, payload)  # loads and validates the chain once

    verify_ns, parse_ns = [], []
    clock = time.perf_counter_ns
    for _ in range(VERIFY_RUNS):
        started = clock()
        verifier.verify(headers, body, payload)
        verify_ns.append(clock() - started)
    for _ in range(VERIFY_RUNS):
        started = clock()
        json.loads(body)
        parse_ns.append(clock() - started)

    details = {"runs": VERIFY_RUNS, "body_bytes": len(body), "min_ms": min(verify_ns) / 1e6}
    print(f"\nverify: p50 {_ms(verify_ns, 0.5):.4f} ms  p99 {_ms(verify_ns, 0.99):.4f} ms;"
          f" json.loads: p50 {_ms(parse_ns, 0.5):.4f} ms ({len(body)} bytes)")
    figure = record(Figure(
        "verification p50, cached chain", _ms(verify_ns, 0.5), "ms",
        baseline=_ms(parse_ns, 0.5), baseline_label="json.loads",
        goal_op="<=", goal=0.3, details=details,
    ))
    record(Figure("verification p99, cached chain", _ms(verify_ns, 0.99), "ms",
                  baseline=_ms(parse_ns, 0.99), baseline_label="json.loads", details=details))
    assert figure.passed, figure.describe()


# 3 ------------------------------------------------------------------------------------------


def _idle_server_memory(target, env, requests, *, skill: bool) -> dict[str, float]:
    server = SkillProcess(target, env, args=SERVER_ARGS)
    try:
        server.start()
        _check_answers(str(target), send_all(server.port, requests), skill=skill)
        time.sleep(1.0)
        return memory_mb(server.process.pid)
    finally:
        server.stop()


def test_memory_of_an_idle_skill_process(alexa_pki, skill_env):
    """RSS of one Memory Game process after it answered requests, vs Python with Flask loaded."""
    requests = memory_game_requests(alexa_pki, pairs=WARM_REQUESTS // 2)
    skill = _idle_server_memory(MEMORY_GAME, skill_env, requests, skill=True)
    bare = _idle_server_memory(BARE_APP, skill_env, requests, skill=False)
    baseline = IdlePython("flask", env=SkillProcess(BARE_APP).env)
    try:
        baseline.wait_ready()
        time.sleep(1.0)
        flask_only = memory_mb(baseline.process.pid)
    finally:
        baseline.stop()
    print(f"\nidle memory MiB: Memory Game {skill}; bare app served {bare};"
          f" python+flask {flask_only}")

    label = "python+flask"
    figure = record(Figure(
        "idle RSS: Memory Game", skill["rss"], "MiB", baseline=flask_only["rss"],
        baseline_label=label, goal_op="<=", goal=40.0,
        details={"memory_game": skill, "bare_app_served": bare, "python_flask": flask_only,
                 "requests_before": len(requests), "threads": THREADS},
    ))
    record(Figure("idle USS: Memory Game", skill["uss"], "MiB", baseline=flask_only["uss"],
                  baseline_label=label))
    record(Figure("idle PSS: Memory Game", skill["pss"], "MiB", baseline=flask_only["pss"],
                  baseline_label=label))
    record(Figure("idle RSS: bare app, same server", bare["rss"], "MiB",
                  baseline=flask_only["rss"], baseline_label=label, details={"bare": bare}))
    assert figure.passed, figure.describe()


# 4 ------------------------------------------------------------------------------------------


def _cold_start(target, env, pki, *, skill: bool) -> float:
    """Seconds from Popen of the server to its answer (200) to a signed LaunchRequest."""
    body = json.dumps(builders.envelope(builders.launch_request())).encode()
    headers = {"Content-Type": "application/json", **pki.sign(body)}
    server = SkillProcess(target, env, args=SERVER_ARGS)
    started = time.perf_counter()
    server.process = subprocess.Popen(server.command(), env=server.env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"{target} exited with {server.process.returncode}")
            if time.perf_counter() - started > 15:
                raise TimeoutError(f"{target} did not answer within 15 s")
            try:
                status, raw = post(server.port, body, headers)
            except ConnectionError:  # not listening yet
                time.sleep(0.005)
                continue
            elapsed = time.perf_counter() - started
            assert status == 200, f"{target} answered {status}: {raw[:200]!r}"
            if skill:
                assert "Welcome to memory game" in speech(raw), raw[:300]
            return elapsed
    finally:
        server.stop()


def test_cold_start_to_first_answered_request(alexa_pki, skill_env):
    """Popen of ``python -m skills serve`` to the first signed LaunchRequest answered."""
    # One start of each first, untimed: it warms the page cache for both.
    _cold_start(BARE_APP, skill_env, alexa_pki, skill=False)
    _cold_start(MEMORY_GAME, skill_env, alexa_pki, skill=True)
    times: dict[str, list[float]] = {"bare": [], "skill": []}
    for _ in range(COLD_STARTS):  # alternate, so a slow moment hits both
        times["bare"].append(_cold_start(BARE_APP, skill_env, alexa_pki, skill=False))
        times["skill"].append(_cold_start(MEMORY_GAME, skill_env, alexa_pki, skill=True))
    print(f"\ncold start s: Memory Game {[round(t, 3) for t in times['skill']]};"
          f" bare app {[round(t, 3) for t in times['bare']]}")
    figure = record(Figure(
        "cold start to first answer: Memory Game", statistics.median(times["skill"]), "s",
        baseline=statistics.median(times["bare"]), baseline_label="bare app",
        goal_op="<=", goal=1.5,
        details={"memory_game_s": times["skill"], "bare_app_s": times["bare"],
                 "runs": COLD_STARTS},
    ))
    assert figure.passed, figure.describe()
