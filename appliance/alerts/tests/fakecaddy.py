"""Caddy as the alert check meets it, on loopback: TLS with a certificate per name (with the
validity a test gives it), a TLS alert for a name it has no site for (as Caddy answers), and the
skills' health check through it (``GET /_skill/health`` answered with the skill's name, or 502
for a skill that is down)."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from skills.runtime.testing.tls import server_context


def _context(directory: Path, name: str, not_before: dt.datetime,
             not_after: dt.datetime) -> ssl.SSLContext:
    return server_context(directory, name, alt_names=[name], not_before=not_before,
                          not_after=not_after)[0]


class FakeCaddy:
    def __init__(self):
        self._directory = tempfile.TemporaryDirectory()
        self.contexts: dict[str, ssl.SSLContext] = {}
        self.sites: dict[str, str | None] = {}  # host name -> the skill answering, None: 502
        self.health_checks: list[str] = []
        caddy = self

        def pick(sslobj, name, context):
            chosen = caddy.contexts.get(name or "")
            if chosen is None:
                return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
            sslobj.context = chosen
            return None

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                host = self.headers.get("Host", "")
                caddy.health_checks.append(host)
                skill = caddy.sites.get(host)
                if self.path != "/_skill/health" or host not in caddy.sites:
                    self.send_error(404)
                elif skill is None:
                    self.send_error(502)
                else:
                    body = json.dumps({"skill": skill, "status": "ok"}).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        now = dt.datetime.now(dt.UTC)
        listening = _context(Path(self._directory.name), "default.invalid", now,
                             now + dt.timedelta(days=1))
        listening.sni_callback = pick
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = listening.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)

    def site(self, name: str, skill: str | None = None, *, days_left: float = 60,
             lifetime_days: float = 90) -> None:
        """Serve ``name`` with a certificate expiring in ``days_left`` days; its health check
        answered by ``skill`` (None: 502, the skill is down)."""
        now = dt.datetime.now(dt.UTC)
        not_after = now + dt.timedelta(days=days_left)
        self.contexts[name] = _context(Path(self._directory.name), name,
                                       not_after - dt.timedelta(days=lifetime_days), not_after)
        self.sites[name] = skill

    def __enter__(self) -> FakeCaddy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._directory.cleanup()
