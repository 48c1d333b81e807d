"""A light HTTP load generator: worker processes replaying pre-built requests over keep-alive.

Each worker process holds one ``http.client`` connection and sends the next request as soon as
the previous answer is read (closed loop), so the concurrency is the number of workers. Bodies
and signature headers are built before the run: the loop does no JSON and no crypto, and the
client leaves as much of the machine as possible to the server. All workers share one clock
(``time.monotonic`` is system-wide on Linux): a warm-up, then a measured window.
"""

from __future__ import annotations

import http.client
import multiprocessing
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil

# (body, headers) pairs; the headers include Content-Type and the signature headers.
Request = tuple[bytes, dict[str, str]]


@dataclass
class LoadResult:
    requests: int  # answered 200 within the measured window
    errors: int  # answered anything else, within the window
    seconds: float
    latency_p50_ms: float
    latency_p99_ms: float
    client_cpu: float  # CPU cores the load generator used during the window
    server_cpu: float  # CPU cores the server process used during the window

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def server_cpu_us(self) -> float:
        """Server CPU time per answered request, in microseconds (less sensitive to noise)."""
        return self.server_cpu * self.seconds / self.requests * 1e6 if self.requests else 0.0


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _worker(host: str, port: int, path: str, requests: list[Request], start_at: float,
            measure_from: float, stop_at: float, offset: int, results) -> None:
    try:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.connect()
        ok = errors = 0
        latencies: list[float] = []
        cpu_start = cpu_end = None
        count = len(requests)
        index = offset
        while time.monotonic() < start_at:
            time.sleep(0.005)
        while True:
            body, headers = requests[index % count]
            index += 1
            sent = time.monotonic()
            conn.request("POST", path, body, headers)
            answer = conn.getresponse()
            answer.read()
            done = time.monotonic()
            if cpu_start is None and done >= measure_from:
                cpu_start = time.process_time()
            if done >= stop_at:
                cpu_end = time.process_time()
                break
            if sent >= measure_from:
                if answer.status == 200:
                    ok += 1
                    latencies.append(done - sent)
                else:
                    errors += 1
        conn.close()
        results.put({"ok": ok, "errors": errors, "latencies": latencies,
                     "cpu": (cpu_end - cpu_start) if cpu_start is not None else 0.0})
    except BaseException as exc:  # reported to the parent, which fails the bench
        results.put({"failure": f"{type(exc).__name__}: {exc}"})


def run_load(url: str, requests: list[Request], *, concurrency: int, warmup: float,
             duration: float, server_pid: int | None = None) -> LoadResult:
    """Drive ``url`` with ``concurrency`` keep-alive connections; measure ``duration`` seconds."""
    parts = urlsplit(url)
    # fork: the workers start in milliseconds and inherit the pre-built requests.
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.monotonic() + 0.3 + 0.05 * concurrency
    measure_from = start_at + warmup
    stop_at = measure_from + duration
    workers = [
        context.Process(
            target=_worker,
            args=(parts.hostname, parts.port, parts.path or "/", requests, start_at,
                  measure_from, stop_at, n * len(requests) // concurrency, results),
            daemon=True,
        )
        for n in range(concurrency)
    ]
    for worker in workers:
        worker.start()
    server = psutil.Process(server_pid) if server_pid else None
    server_cpu = 0.0
    if server is not None:
        time.sleep(max(0.0, measure_from - time.monotonic()))
        before = server.cpu_times()
        time.sleep(max(0.0, stop_at - time.monotonic()))
        after = server.cpu_times()
        server_cpu = ((after.user + after.system) - (before.user + before.system)) / duration
    outcomes = [results.get(timeout=stop_at - time.monotonic() + 60) for _ in workers]
    for worker in workers:
        worker.join(10)
    failures = [o["failure"] for o in outcomes if "failure" in o]
    if failures:
        raise RuntimeError(f"load generator failed: {failures[0]}")
    latencies = [lat for o in outcomes for lat in o["latencies"]]
    return LoadResult(
        requests=sum(o["ok"] for o in outcomes),
        errors=sum(o["errors"] for o in outcomes),
        seconds=duration,
        latency_p50_ms=_percentile(latencies, 0.50) * 1000,
        latency_p99_ms=_percentile(latencies, 0.99) * 1000,
        client_cpu=sum(o["cpu"] for o in outcomes) / duration,
        server_cpu=server_cpu,
    )


def median(values: list[float]) -> float:
    return statistics.median(values)
