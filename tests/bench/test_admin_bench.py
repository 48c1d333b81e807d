"""The admin's figures, each against a baseline measured in the same run.

On a real temporary host (the deploy tests' ``test_host``: SysV init scripts, real Caddy on free
high ports, real skill processes, the real root helper in "direct" mode):

1. apply → new config serving: Caddy and one skill running, add a second skill, time
   ``apply_catalogue()`` until the new skill answers through Caddy (baseline: an apply with
   nothing changed);
2. no failed request while Caddy reloads: keep-alive HTTPS load through Caddy to a skill while
   an apply adds a skill and reloads Caddy (baseline: the same load without a reload);
3. admin pages with 100 skills: p95 of the dashboard, the skill list, a skill's change page and
   the revisions list (baseline: the admin index, which involves no skill).

Run with ``pytest -m bench -s tests/bench/test_admin_bench.py``; figures go to
``var/bench/admin.json``.
"""

from __future__ import annotations

import http.client
import io
import json
import multiprocessing
import os
import socket
import ssl
import statistics
import time
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from appliance.catalogue.models import Revision, Skill
from appliance.console import services as console_services
from appliance.console.ca import ConsoleCA
from appliance.deploy import apply as apply_module
from appliance.deploy.apply import apply_catalogue
from appliance.deploy.health import get_through_caddy
from appliance.deploy.tests.conftest import test_host  # noqa: F401 — the shared host
from skills.runtime.testing.builders import APPLICATION_ID, envelope, launch_request
from skills.runtime.testing.process import free_port

from .figures import FIGURES, REPO, Figure, write_results

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

RESULTS = REPO / "var" / "bench" / "admin.json"

# 1. apply
APPLY_ROUNDS = 5
# 2. reload under load
LOAD_PROCESSES = 4  # keep-alive connections, one per load generator process
BASELINE_S = 6.0
TAIL_S = 1.5  # the load goes on this long after the apply returned
# 3. pages
SKILLS = 100
PAGE_WARMUP = 5
PAGE_REQUESTS = 50
PAGE_ROUNDS = 3


def keep(figure: Figure) -> Figure:
    """Into the summary table and ``var/bench/admin.json`` at once."""
    FIGURES[figure.name] = figure
    write_results([figure], RESULTS)
    return figure


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def answers_through_caddy(host, slug: str, wait: float = 10.0) -> float:
    """Seconds until ``slug`` answers its health check through Caddy (fails after ``wait``)."""
    started = time.perf_counter()
    last = "nothing yet"
    while time.perf_counter() - started < wait:
        try:
            status, body = get_through_caddy(f"{slug}.localhost", host.https_port, timeout=2)
            if status == 200 and json.loads(body).get("skill") == slug:
                return time.perf_counter() - started
            last = f"HTTP {status}: {body[:100]!r}"
        except (OSError, http.client.HTTPException, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.01)
    raise AssertionError(f"{slug} did not answer through Caddy within {wait} s: {last}")


def applied(host, reason: str) -> Revision:
    revision = apply_catalogue(reason=reason)
    if revision.outcome != Revision.APPLIED:
        logs = "".join(f"\n--- {log.name}:\n{log.read_text()[-1500:]}"
                       for log in sorted(host.on_disk(host.paths.log_dir).glob("*.log")))
        raise AssertionError(f"{reason}: {revision.messages}{logs}")
    return revision


# 1 ------------------------------------------------------------------------------------------


def timed_apply(host, slug: str, reason: str, calls: list) -> tuple[float, Revision, int]:
    before = len(calls)
    started = time.perf_counter()
    revision = applied(host, reason)
    answers_through_caddy(host, slug)
    return time.perf_counter() - started, revision, len(calls) - before


def count_helper_calls(monkeypatch, module) -> list[str]:
    """The real helper, each call's command kept in the list returned."""
    calls: list[str] = []
    real = module.run_helper

    def counted(*args, **kwargs):
        calls.append(args[0] if args[0] in ("install", "restore") else " ".join(args[:2]))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "run_helper", counted)
    return calls


def test_apply_to_new_config_serving(test_host, monkeypatch):  # noqa: F811
    test_host.skill("memory-game")
    applied(test_host, "Caddy and one skill")
    assert test_host.running("caddy") and test_host.running("alexa-skill-memory-game")
    calls = count_helper_calls(monkeypatch, apply_module)

    added, unchanged, phases, base_phases = [], [], [], []
    for round_ in range(APPLY_ROUNDS):
        seconds, revision, base_calls = timed_apply(test_host, "memory-game", "nothing changed",
                                                    calls)
        assert "nothing was restarted" in revision.messages
        unchanged.append(seconds)
        base_phases.append(revision.timings)

        second = test_host.skill("second")
        seconds, revision, add_calls = timed_apply(test_host, "second", "add a second skill",
                                                   calls)
        added.append(seconds)
        phases.append(revision.timings)
        add_commands = calls[-add_calls:]
        print(f"\napply round {round_ + 1}/{APPLY_ROUNDS}: add a skill {seconds:.2f} s "
              f"({', '.join(f'{k} {v:.2f}' for k, v in revision.timings.items())}); "
              f"unchanged {unchanged[-1]:.2f} s", end="")

        second.delete()  # back to one skill, untimed
        applied(test_host, "remove the second skill")
        assert not test_host.running("alexa-skill-second")
    print(f"\nhelper calls: adding a skill {len(add_commands)} ({', '.join(add_commands)}), "
          f"nothing changed {base_calls}")

    def median_phases(runs: list[dict]) -> dict:
        return {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}

    figure = keep(Figure(
        "apply: add a skill → it answers through Caddy", statistics.median(added), "s",
        baseline=statistics.median(unchanged), baseline_label="apply, nothing changed",
        goal_op="<=", goal=3.0,
        details={"rounds": APPLY_ROUNDS, "added_s": [round(s, 3) for s in added],
                 "unchanged_s": [round(s, 3) for s in unchanged],
                 "phases_median_s": median_phases(phases),
                 "helper_calls": {"add": add_commands, "unchanged": base_calls},
                 "unchanged_phases_median_s": median_phases(base_phases)},
    ))
    assert figure.passed, figure.describe()


# 2 ------------------------------------------------------------------------------------------


class _SNIConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with the skill's name in the handshake; certificate not verified
    (Caddy's internal CA; the point is the path, not the trust)."""

    def __init__(self, port: int, server_name: str):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        super().__init__("127.0.0.1", port, timeout=10, context=context)
        self.server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_name)


# What http.client raises when the server closed the connection before the answer's status line.
CLOSED_BEFORE_ANSWER = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                        ssl.SSLEOFError, ssl.SSLZeroReturnError)


def _send(conn, fqdn: str, body: bytes, headers: dict) -> http.client.HTTPResponse:
    conn.request("POST", "/", body, {"Host": fqdn, **headers})
    return conn.getresponse()  # raises RemoteDisconnected when no status line came


def _load_worker(port, fqdn, requests, offset, start_at, stop, results) -> None:
    """Closed loop on one keep-alive connection until ``stop``.

    A failure is a connection error or an answer other than 200. One case is retried first, as
    curl, Go's and browsers' HTTP clients do: a *reused* keep-alive connection that the server
    closed before the answer's status line (a graceful server closes its idle connections when
    it stops, and HTTP/1.1 leaves a race with a request already on its way, RFC 9112 §9.3.1).
    The request is sent once more on a new connection and counted as "retried"; if that fails
    too, it is a failure.
    """
    try:
        ok = 0
        failures: list[tuple[float, str]] = []
        retried: list[tuple[float, str]] = []
        latencies: list[float] = []
        conn, served = _SNIConnection(port, fqdn), 0
        index = offset
        while time.monotonic() < start_at:
            time.sleep(0.005)
        while not stop.is_set():
            body, headers = requests[index % len(requests)]
            index += 1
            sent = time.monotonic()
            try:
                try:
                    answer = _send(conn, fqdn, body, headers)
                except CLOSED_BEFORE_ANSWER as exc:
                    if not served:
                        raise
                    retried.append((sent, f"{type(exc).__name__}: {exc}"))
                    conn.close()
                    conn, served = _SNIConnection(port, fqdn), 0
                    answer = _send(conn, fqdn, body, headers)
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()  # http.client opens a new connection for the next request
                served = 0
                failures.append((sent, f"{type(exc).__name__}: {exc}"))
                continue
            served += 1
            if status == 200:
                ok += 1
                latencies.append(time.monotonic() - sent)
            else:
                failures.append((sent, f"HTTP {status}"))
        conn.close()
        results.put({"ok": ok, "failures": failures, "retried": retried,
                     "latencies": latencies, "ended": time.monotonic()})
    except BaseException as exc:  # reported to the parent, which fails the bench
        results.put({"crash": f"{type(exc).__name__}: {exc}"})


class HttpsLoad:
    """``processes`` load generator processes (fork), each one keep-alive HTTPS connection to
    Caddy with the skill's name as SNI and Host, posting pre-signed requests."""

    def __init__(self, port: int, fqdn: str, requests, processes: int = LOAD_PROCESSES):
        context = multiprocessing.get_context("fork")
        self.stop = context.Event()
        self.results = context.Queue()
        self.started = time.monotonic() + 0.3
        self.workers = [context.Process(
            target=_load_worker, daemon=True,
            args=(port, fqdn, requests, n * len(requests) // processes, self.started,
                  self.stop, self.results)) for n in range(processes)]

    def __enter__(self) -> HttpsLoad:
        for worker in self.workers:
            worker.start()
        time.sleep(max(0.0, self.started - time.monotonic()))
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join(15)
            if worker.is_alive():
                worker.kill()

    def finish(self) -> dict:
        self.stop.set()
        outcomes = [self.results.get(timeout=30) for _ in self.workers]
        crashes = [o["crash"] for o in outcomes if "crash" in o]
        if crashes:
            raise RuntimeError(f"load generator failed: {crashes[0]}")
        seconds = max(o["ended"] for o in outcomes) - self.started
        ok = sum(o["ok"] for o in outcomes)
        latencies = sorted(lat for o in outcomes for lat in o["latencies"])
        failures = sorted(f for o in outcomes for f in o["failures"])
        retried = sorted(r for o in outcomes for r in o["retried"])
        return {"ok": ok, "failed": len(failures), "retried": len(retried),
                "retries": [(round(t - self.started, 3), why) for t, why in retried[:20]],
                "seconds": seconds, "rate": ok / seconds,
                "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else None,
                "p99_ms": (latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
                           * 1000 if latencies else None),
                "max_ms": latencies[-1] * 1000 if latencies else None,
                "failures": [(round(t - self.started, 3), why) for t, why in failures[:20]]}


def signed_launches(count: int = 16) -> list[tuple[bytes, dict]]:
    """LaunchRequests signed now by the test console's CA, which the test host's skills trust."""
    ca = ConsoleCA.load_or_create()
    requests = []
    for _ in range(count):
        body = json.dumps(envelope(launch_request())).encode()
        requests.append((body, {"Content-Type": "application/json", **ca.sign(body)}))
    return requests


def test_no_failed_request_while_caddy_reloads(test_host):  # noqa: F811
    test_host.skill("memory-game")
    test_host.skill("second")
    applied(test_host, "two skills")
    fqdn, port = "memory-game.localhost", test_host.https_port
    requests = signed_launches()
    status, answer = get_through_caddy(fqdn, port, "/", method="POST", body=requests[0][0],
                                       headers=requests[0][1])
    assert status == 200 and b"memory" in answer.lower(), answer[:300]

    with HttpsLoad(port, fqdn, requests) as load:
        time.sleep(BASELINE_S)
        baseline = load.finish()

    caddyfile = test_host.on_disk(test_host.paths.caddyfile)
    caddy_pid = test_host.pid("caddy")
    with HttpsLoad(port, fqdn, requests) as load:
        time.sleep(1.0)  # the load is running before the apply starts
        test_host.skill("third")
        apply_started = time.monotonic() - load.started
        revision = applied(test_host, "add a third skill: Caddy reloads")
        apply_ended = time.monotonic() - load.started
        time.sleep(TAIL_S)
        during = load.finish()
    assert "third.localhost" in caddyfile.read_text()
    assert test_host.pid("caddy") == caddy_pid, "Caddy was restarted, not reloaded"
    answers_through_caddy(test_host, "third")

    for name, run in (("without a reload", baseline), ("during the reload", during)):
        print(f"\nload {name}: {run['ok']} answered in {run['seconds']:.1f} s = "
              f"{run['rate']:.0f} req/s, p50 {run['p50_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms, "
              f"max {run['max_ms']:.0f} ms, {run['failed']} failed {run['failures'][:5]}, "
              f"{run['retried']} retried {run['retries'][:5]}", end="")
    print(f"\napply (Caddy reload {revision.timings.get('caddy', 0):.2f} s) ran from "
          f"{apply_started:.2f} s to {apply_ended:.2f} s of the load")
    assert baseline["failed"] == 0, f"failures without any reload: {baseline['failures']}"
    setup = {"processes": LOAD_PROCESSES, "request": "signed LaunchRequest, keep-alive HTTPS "
             "through Caddy (SNI memory-game.localhost)",
             "retry": "once, only on a reused connection closed before any byte of an answer"}
    keep(Figure("reload under load: request rate", during["rate"], "req/s",
                baseline=baseline["rate"], baseline_label="no reload",
                details={**setup, "during": during, "baseline": baseline}))
    # Not a failure, but shown: what a client without that retry would have seen fail.
    keep(Figure("reload under load: sent on a closed keep-alive connection, retried",
                during["retried"], "requests", baseline=baseline["retried"],
                baseline_label="no reload", details={"retries": during["retries"]}))
    figure = keep(Figure(
        "reload under load: failed requests", during["failed"], "requests",
        baseline=baseline["failed"], baseline_label="no reload", goal_op="<=", goal=0,
        details={**setup, "answered": during["ok"], "failures": during["failures"],
                 "apply_window_s": [round(apply_started, 3), round(apply_ended, 3)],
                 "apply_timings_s": revision.timings},
    ))
    assert figure.passed, figure.describe()


# 3 ------------------------------------------------------------------------------------------


class WsgiClient:
    """GETs straight into the admin's WSGI application, as gunicorn's worker calls it: no test
    client (its template instrumentation copies every context, a cost of its own on pages of 100
    rows) and no HTTP server in between (Django's test server adds a fixed delayed-ACK wait)."""

    def __init__(self, session_id: str):
        self.app = WSGIHandler()
        self.cookie = f"{settings.SESSION_COOKIE_NAME}={session_id}"

    def __enter__(self) -> WsgiClient:
        # As Django's test client does: the test's database connection must stay open.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        return self

    def __exit__(self, *exc) -> None:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)

    def get(self, path: str) -> tuple[int, str]:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_HOST": "localhost",
                   "HTTP_COOKIE": self.cookie, "wsgi.input": io.BytesIO()}
        setup_testing_defaults(environ)
        status = []
        response = self.app(environ, lambda line, headers, exc_info=None: status.append(line))
        try:
            body = b"".join(response)
        finally:
            response.close()
        return int(status[0].split()[0]), body.decode()


def time_page(client: WsgiClient, path: str, requests: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``requests`` GETs of ``path`` (CPU time does not grow when other
    processes share the machine; wall time is the goal's)."""
    wall, cpu = [], []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        status, _ = client.get(path)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert status == 200, path
    return wall, cpu


def test_admin_pages_with_100_skills(test_host, client, monkeypatch):  # noqa: F811
    ports: set[int] = set()
    while len(ports) < SKILLS:  # free now, and no two alike (free_port may repeat itself)
        ports.add(free_port())
    Skill.objects.bulk_create(
        Skill(slug=f"skill-{number:03d}", name=f"Skill {number:03d}", source="memory_game",
              application_ids=APPLICATION_ID, port=port)
        for number, port in enumerate(sorted(ports)))
    calls = count_helper_calls(monkeypatch, apply_module)
    started = time.perf_counter()
    revision = applied(test_host, f"{SKILLS} skills")
    apply_s = time.perf_counter() - started
    print(f"\napply of {SKILLS} new skills: {apply_s:.1f} s ({revision.timings}), "
          f"{len(calls)} helper calls ({', '.join(calls)})", end="")
    keep(Figure(f"apply: {SKILLS} new skills at once", apply_s, "s",
                details={"timings_s": revision.timings, "helper_calls": calls}))
    client.force_login(User.objects.create_superuser("bench", "bench@example.org", "password"))
    with WsgiClient(client.cookies[settings.SESSION_COOKIE_NAME].value) as wsgi:
        pages_with_100_skills(wsgi, monkeypatch)


def pages_with_100_skills(client: WsgiClient, monkeypatch) -> None:
    calls = count_helper_calls(monkeypatch, console_services)
    skill = Skill.objects.get(slug="skill-050")
    pages = {
        "admin index": "/admin/",  # the baseline: no skill involved
        "dashboard": "/",
        "skill list": "/admin/catalogue/skill/",
        "skill change page": f"/admin/catalogue/skill/{skill.pk}/change/",
        "revisions list": "/admin/catalogue/revision/",
    }
    running = '<span class="state state-running">running</span>'
    listed = client.get(pages["skill list"])[1]
    assert listed.count(running) == SKILLS, listed[-2000:]
    assert client.get(pages["dashboard"])[1].count(running) == SKILLS + 1  # and Caddy

    # Rounds, each page in turn, so that a busy moment on a shared machine hits every page
    # alike; a page's p95 is over its requests of one round, the figure the rounds' median.
    wall: dict[str, list[list[float]]] = {name: [] for name in pages}
    cpu: dict[str, list[float]] = {name: [] for name in pages}
    helper_calls = dict.fromkeys(pages, 0)
    for path in pages.values():
        time_page(client, path, PAGE_WARMUP)
    for _ in range(PAGE_ROUNDS):
        for name, path in pages.items():
            before = len(calls)
            times, cpu_times = time_page(client, path, PAGE_REQUESTS)
            helper_calls[name] += len(calls) - before
            wall[name].append([t * 1000 for t in times])
            cpu[name].extend(t * 1000 for t in cpu_times)

    # What a page costs when nothing is cached: the helper's status-all, the handshakes.
    cold = []
    for _ in range(5):
        cache.clear()
        started = time.perf_counter()
        assert client.get(pages["dashboard"])[0] == 200
        cold.append((time.perf_counter() - started) * 1000)

    def p95_of(name: str) -> float:
        return statistics.median(p95(round_) for round_ in wall[name])

    base = p95_of("admin index")
    figures = []
    for name in pages:
        every = [t for round_ in wall[name] for t in round_]
        print(f"\n{name:>18}: p95 per round {[round(p95(r), 1) for r in wall[name]]} ms, "
              f"p50 {statistics.median(every):5.1f} ms, max {max(every):6.1f} ms, CPU p50 "
              f"{statistics.median(cpu[name]):5.1f} ms, helper calls {helper_calls[name]} in "
              f"{PAGE_ROUNDS * PAGE_REQUESTS} requests", end="")
        if name == "admin index":
            continue
        figures.append(keep(Figure(
            f"admin, {SKILLS} skills: {name} p95", p95_of(name), "ms",
            baseline=base, baseline_label="admin index", goal_op="<=", goal=100.0,
            details={"rounds": PAGE_ROUNDS, "requests_per_round": PAGE_REQUESTS,
                     "p95_per_round_ms": [round(p95(r), 2) for r in wall[name]],
                     "p50_ms": round(statistics.median(every), 2), "max_ms": round(max(every), 2),
                     "cpu_p50_ms": round(statistics.median(cpu[name]), 2),
                     "helper_calls": helper_calls[name],
                     "helper": "real, direct mode, on the temporary host",
                     "load_average_1min": round(os.getloadavg()[0], 2)})))
    print(f"\ndashboard with nothing cached: {[round(c) for c in cold]} ms")
    keep(Figure(f"admin, {SKILLS} skills: dashboard, nothing cached", statistics.median(cold),
                "ms", baseline=base, baseline_label="admin index p95",
                details={"runs_ms": [round(c, 1) for c in cold]}))
    missed = [f.describe() for f in figures if not f.passed]
    assert not missed, missed


@pytest.fixture(autouse=True)
def _load_average():
    print(f"\nload average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)", end="")
    yield
