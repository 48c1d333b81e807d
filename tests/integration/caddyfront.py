"""A real Caddy in front of a skill process, on free loopback ports, with its own internal CA
(as a host on ``tls internal`` has): what Alexa's side reaches over TLS in the Ask Alexa tests.

Its log (JSON, as under systemd) goes to ``log_path``; ``debug`` logs what Caddy only logs at
debug level, such as a TLS handshake the client ended over the certificate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from skills.runtime.testing.process import free_port

CADDY = shutil.which("caddy")


class CaddyFront:
    def __init__(self, upstream: str, directory: Path, *, debug: bool = False):
        self.upstream, self.directory, self.debug = upstream, Path(directory), debug
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}/"
        self.log_path = self.directory / "caddy.log"
        self.process: subprocess.Popen | None = None

    def caddyfile(self) -> str:
        log = ["\tlog {", "\t\tlevel DEBUG", "\t}"] if self.debug else []
        return "\n".join([
            "{", "\tadmin off", "\tskip_install_trust",
            f"\tstorage file_system {self.directory / 'storage'}",
            f"\thttp_port {free_port()}", f"\thttps_port {self.port}", *log, "}", "",
            # The access log, as the appliance's Caddyfile writes it for each skill's site.
            f"https://127.0.0.1:{self.port} {{", "\ttls internal", "\tlog {",
            "\t\tformat json", "\t}",
            f"\treverse_proxy {self.upstream.removeprefix('http://').rstrip('/')}", "}", ""])

    def start(self, timeout: float = 20.0) -> CaddyFront:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "Caddyfile"
        config.write_text(self.caddyfile())
        env = {**os.environ, "HOME": str(self.directory),
               "XDG_DATA_HOME": str(self.directory / "data"),
               "XDG_CONFIG_HOME": str(self.directory / "config")}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [CADDY, "run", "--adapter", "caddyfile", "--config", str(config)],
                env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while "serving initial configuration" not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"caddy did not start: {self.log()[-2000:]}")
            time.sleep(0.1)
        return self

    @property
    def root_ca(self) -> Path:
        """Caddy's own root certificate (``tls internal``), made at its start."""
        return self.directory / "storage" / "pki" / "authorities" / "local" / "root.crt"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
