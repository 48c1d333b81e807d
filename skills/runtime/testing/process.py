"""Run a skill in its real server process (``python -m skills serve``) for tests and demos."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

HEALTH_PATH = "/_skill/health"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SkillProcess:
    """``python -m skills serve TARGET`` on a free loopback port, stopped with SIGTERM."""

    def __init__(self, target: str | os.PathLike, env: dict[str, str] | None = None,
                 port: int | None = None, args: tuple[str, ...] = (),
                 log_path: str | os.PathLike | None = None):
        self.target = str(target)
        self.port = port or free_port()
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.args = args
        self.log_path = Path(log_path) if log_path else None
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "skills", "serve", self.target,
                "--bind", f"127.0.0.1:{self.port}", *self.args]

    def start(self, timeout: float = 15.0) -> SkillProcess:
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(self.command(), env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 15.0) -> float:
        """Wait until the health check answers; returns the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"skill exited with {self.process.returncode}: {self.logs()}")
            try:
                if requests.get(self.url + HEALTH_PATH, timeout=1).status_code == 200:
                    return time.monotonic() - started
            except requests.ConnectionError:
                time.sleep(0.02)
        raise TimeoutError(f"skill did not answer within {timeout} s: {self.logs()}")

    def logs(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return "(no log file)"

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait; returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        return code

    def __enter__(self) -> SkillProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
