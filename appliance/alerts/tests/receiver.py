"""A webhook receiver on loopback that takes apprise's JSON notifications (``json://`` over HTTP,
``jsons://`` over HTTPS), as strict as a webhook service is: POST to its one path, JSON that
has apprise's fields, else 4xx. ``status`` makes it refuse (a failing channel).
"""

from __future__ import annotations

import json
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from skills.runtime.testing.tls import server_context

FIELDS = {"version", "title", "message", "type"}
TYPES = {"info", "success", "warning", "failure"}


class Receiver:
    """``with Receiver() as hook: hook.url`` is a ``json://`` URL to it; ``hook.messages`` what
    it accepted, ``hook.refused`` what it answered with an error."""

    def __init__(self, *, tls: bool = False, path: str = "/hooks/s3cret-hook-token"):
        self.path = path
        self.status = 200
        self.messages: list[dict] = []
        self.refused: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._directory = tempfile.TemporaryDirectory()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                status, reason = receiver._take(self)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                body = json.dumps({"ok": status == 200, "error": reason}).encode()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self.send_error(405)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.ca_bundle = None
        if tls:
            context, self.ca_bundle = server_context(
                Path(self._directory.name), "fake webhook", alt_names=["127.0.0.1"], ca=True)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'jsons' if tls else 'json'}://127.0.0.1:{self.port}{path}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)

    def _take(self, request: BaseHTTPRequestHandler) -> tuple[int, str]:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        if request.path.split("?")[0] != self.path:
            return self._refuse(404, f"no hook at {request.path}")
        if request.headers.get("Content-Type", "").split(";")[0] != "application/json":
            return self._refuse(415, "expected application/json")
        try:
            payload = json.loads(body)
        except ValueError:
            return self._refuse(400, "not JSON")
        if not isinstance(payload, dict) or not payload.keys() >= FIELDS or \
                payload["type"] not in TYPES or not payload["message"]:
            return self._refuse(400, f"not an apprise notification: {payload!r}"[:200])
        if self.status != 200:
            return self._refuse(self.status, "the receiver is told to fail")
        with self._lock:
            self.messages.append(payload)
        return 200, ""

    def _refuse(self, status: int, reason: str) -> tuple[int, str]:
        with self._lock:
            self.refused.append((status, reason))
        return status, reason

    def titles(self) -> list[str]:
        return [message["title"] for message in self.messages]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        self._directory.cleanup()
