"""Caddy's graceful reloads under load: callers reset, with and without the caddy role's
``net.ipv4.tcp_migrate_req = 1``.

Every apply and every release's switch-over reloads Caddy. Caddy opens its new listener beside
the old one (SO_REUSEPORT) and closes the old one; the kernel resets the connections still
queued on it unless ``tcp_migrate_req`` hands them to the new listener. Real Caddy on a free
loopback port, callers on new connections (as Alexa's would be), the same number of reloads
with the setting off (the baseline, as the kernel ships) and on (as the role sets it). Plain
HTTP: more connections a second than with TLS, so more of them queued at each reload.

Goal: no caller reset with the setting. Needs root (it writes /proc/sys for the run, then
puts the value back).

    pytest -m bench -s tests/bench/test_caddy_reload_bench.py
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from skills.runtime.testing.process import free_port

from .figures import Figure, record

pytestmark = pytest.mark.bench

SETTING = Path("/proc/sys/net/ipv4/tcp_migrate_req")
RELOADS = int(os.environ.get("CADDY_RELOAD_BENCH_RELOADS", "40"))
CALLERS = 8
CADDYFILE = """{{
\tadmin 127.0.0.1:{admin}
\tgrace_period 10s
\tauto_https off
}}
http://127.0.0.1:{port} {{
\trespond "config {number}"
}}
"""


class Callers:
    """Threads each making one request per new connection until stopped."""

    def __init__(self, port: int):
        self.port, self.stop = port, threading.Event()
        self.answered = self.reset = self.failed = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CALLERS)]

    def _call(self) -> str:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        return "answered" if answer.startswith(b"HTTP/1.1 200") else "failed"

    def _run(self):
        while not self.stop.is_set():
            try:
                outcome = self._call()
            except ConnectionResetError:
                outcome = "reset"
            except OSError:
                outcome = "failed"
            with self.lock:
                setattr(self, outcome, getattr(self, outcome) + 1)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


def reloads_under_load(workdir: Path, caddy: str, migrate: bool) -> Callers:
    SETTING.write_text("1\n" if migrate else "0\n")
    admin, port = free_port(), free_port()
    configs = []
    for number in range(2):
        config = workdir / f"Caddyfile.{number}"
        config.write_text(CADDYFILE.format(admin=admin, port=port, number=number))
        configs.append(config)
    env = {**os.environ, "HOME": str(workdir), "XDG_DATA_HOME": str(workdir),
           "XDG_CONFIG_HOME": str(workdir)}
    server = subprocess.Popen([caddy, "run", "--config", str(configs[0]), "--adapter",
                               "caddyfile"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "Caddy did not start"
                time.sleep(0.1)
        with Callers(port) as callers:
            for number in range(RELOADS):
                subprocess.run([caddy, "reload", "--config", str(configs[(number + 1) % 2]),
                                "--adapter", "caddyfile", "--address", f"127.0.0.1:{admin}"],
                               env=env, check=True, capture_output=True, timeout=60)
                time.sleep(0.1)
        return callers
    finally:
        server.terminate()
        server.wait(30)


def test_caddy_reloads_reset_no_caller_with_the_roles_setting(tmp_path):
    caddy = shutil.which("caddy")
    if caddy is None or not os.access(SETTING, os.W_OK):
        pytest.skip("needs Caddy and a writable /proc/sys (root, a kernel of 5.14 or later)")
    before = SETTING.read_text()
    try:
        off = reloads_under_load(tmp_path, caddy, migrate=False)
        on = reloads_under_load(tmp_path, caddy, migrate=True)
    finally:
        SETTING.write_text(before)

    figure = record(Figure(
        f"callers reset by {RELOADS} Caddy reloads under load, tcp_migrate_req = 1", on.reset,
        "connections", baseline=off.reset, baseline_label="tcp_migrate_req = 0, the kernel's "
        "default", goal_op="<=", goal=0,
        details={"reloads": RELOADS, "callers": CALLERS,
                 "with_setting": {"answered": on.answered, "reset": on.reset,
                                  "failed": on.failed},
                 "without": {"answered": off.answered, "reset": off.reset,
                             "failed": off.failed}}))
    print(figure.describe())
    assert on.failed == 0 and on.answered > 0, vars(on)
    assert figure.passed, figure.describe()
