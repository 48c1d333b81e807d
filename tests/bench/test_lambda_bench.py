"""The Memory Game on Lambda: the package's size, and its handler's cold start (a fresh
interpreter importing ``lambda_function`` to the first answer of a LaunchRequest envelope) against
the in-host cold start (a fresh ``python -m skills serve`` to its first answer of a signed
LaunchRequest over HTTP), measured in the same run on this machine.

Lambda's own figures (sandbox start, the code's download) are not measured here: the comparison
is of what the skill's own start costs in each form.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

import pytest
import requests

from skills.lambda_deploy.package import build_package
from skills.runtime.testing import SkillClient, builders
from skills.runtime.testing.process import SkillProcess
from tests.lambdahandler import LocalLambda, unpack

from .figures import Figure, record

pytestmark = pytest.mark.bench
MEMORY_GAME = Path(__file__).resolve().parents[2] / "skills" / "memory_game"
RUNS = 7


def _lambda_cold_start(code: Path) -> float:
    event = builders.envelope(builders.launch_request())
    with LocalLambda(code, {"ASK_APPLICATION_ID": builders.APPLICATION_ID}) as process:
        answer = process.invoke(event)
        elapsed = time.perf_counter() - process.started
    assert answer["answer"]["response"]["outputSpeech"]["text"].startswith("Welcome")
    return elapsed


def _host_cold_start(env: dict[str, str], pki) -> float:
    server = SkillProcess(MEMORY_GAME, env)
    started = time.perf_counter()
    server.process = subprocess.Popen(
        server.command(), env=server.env, stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                reply = SkillClient(server.url, pki).launch()
                break
            except requests.ConnectionError:
                if time.perf_counter() - started > 30:
                    raise
                time.sleep(0.002)
        elapsed = time.perf_counter() - started
        assert reply.status == 200 and reply.speech.startswith("Welcome"), reply.body
        return elapsed
    finally:
        server.stop()


def test_lambda_package_size_and_cold_start_vs_host(tmp_path, skill_env, alexa_pki):
    package = build_package(MEMORY_GAME, cache_dir=tmp_path / "requirements")
    code = unpack(package, tmp_path / "lambda")
    unpacked = sum(p.stat().st_size for p in code.rglob("*") if p.is_file())
    record(Figure("Lambda package: Memory Game zip", len(package) / 2**20, "MB",
                  details={"unpacked_mb": round(unpacked / 2**20, 2)}))

    # Interleaved, so a busy moment of the machine falls on both alike.
    lam, host = [], []
    for _ in range(RUNS):
        lam.append(_lambda_cold_start(code))
        host.append(_host_cold_start(skill_env, alexa_pki))
    figure = record(Figure(
        "cold start: Lambda handler, import to first answer", statistics.median(lam) * 1000,
        "ms", baseline=statistics.median(host) * 1000,
        baseline_label="in-host serve, start to first answer",
        details={"runs": RUNS, "lambda_ms": [round(v * 1000, 1) for v in lam],
                 "host_ms": [round(v * 1000, 1) for v in host]}))
    print(f"\n{figure.describe()}; package {len(package) / 2**20:.2f} MB "
          f"({unpacked / 2**20:.1f} MB unpacked)")
    assert len(package) < 50 * 2**20  # a direct upload
