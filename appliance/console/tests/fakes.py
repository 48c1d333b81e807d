"""A stand-in for Caddy on loopback: TLS with SNI, answering the test console's POSTs.

The console's own code runs unchanged (real sockets, real TLS); only the far end is fake.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

from django.core.cache import cache

from appliance.render.layout import Paths, write_layout
from skills.runtime.testing import tls


def self_signed(directory: Path, name: str = "fake caddy") -> tuple[Path, Path]:
    return tls.self_signed(directory, name, organization="Fake Caddy",
                           not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=7))


class FakeCaddy:
    """``answer(envelope) -> (status, body dict or bytes)`` decides each reply."""

    def __init__(self):
        self.requests: list[dict] = []
        self.server_names: list[str] = []
        self.answer = lambda envelope: (200, {"version": "1.0", "response": {}})
        self._directory = tempfile.TemporaryDirectory()
        directory = Path(self._directory.name)
        cert, key = self_signed(directory)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                envelope = json.loads(body)
                fake.requests.append({"headers": dict(self.headers), "envelope": envelope,
                                      "body": body})
                status, reply = fake.answer(envelope)
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.layout = directory / "layout.json"
        write_layout(self.layout, Paths(), https_port=self.port, init_flavour="sysv")
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> FakeCaddy:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering but keep the layout naming this (now closed) port."""
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    def __exit__(self, *exc) -> None:
        self.stop()
        self._directory.cleanup()


def alexa_reply(speech: str, attributes: dict | None = None, end: bool = False,
                reprompt: str | None = None, card: dict | None = None) -> dict:
    response = {"outputSpeech": {"type": "PlainText", "text": speech}, "shouldEndSession": end}
    if reprompt:
        response["reprompt"] = {"outputSpeech": {"type": "PlainText", "text": reprompt}}
    if card:
        response["card"] = card
    return {"version": "1.0", "sessionAttributes": attributes or {}, "response": response}


def use_helper(test, helper: FakeHelper | None = None) -> FakeHelper:
    """The console's services ask ``helper`` (a FakeHelper that knows no unit by default)
    for the rest of ``test``, their states' cache emptied before and after it."""
    helper = helper if helper is not None else FakeHelper()
    test.enterContext(mock.patch("appliance.console.services.run_helper", helper))
    cache.clear()  # states are cached a few seconds: each test starts without any
    test.addCleanup(cache.clear)
    return helper


class FakeHelper:
    """Answers ``run_helper(*args)`` as the root helper would; records every call.

    ``states`` maps a unit to its state: systemd's words (active, inactive, failed) or the
    helper's own (running, stopped, failed, idle), as ``status-all`` and ``service status``
    answer; ``logs`` maps a unit to its entries (oldest first), ``last-requests`` answering
    from their request lines; a unit in ``broken`` makes the helper fail, as a refused or
    crashed call does ("*": every call, status-all too).
    """

    WORDS = {"active": "running", "inactive": "stopped", "failed": "failed"}

    def __init__(self, states=None, logs=None, broken=()):
        self.states = dict(states or {})
        self.logs = dict(logs or {})
        self.broken = set(broken)
        self.calls: list[tuple] = []

    def __call__(self, *args, timeout=None, check=True):
        from appliance.deploy.client import HelperError

        self.calls.append(args)
        command, rest = args[0], args[1:]
        if command == "status-all":
            if "*" in self.broken or "status-all" in self.broken:
                raise HelperError("systemctl show failed (exit 1): bus down", {"ok": False}, 1)
            units = {unit: self.WORDS.get(state, state) for unit, state in self.states.items()}
            return {"ok": True, "units": units, "message": f"states of {len(units)} services"}
        if command == "last-requests":
            return self.last_requests(rest)
        unit = rest[-1] if command == "service" else rest[0]
        if unit in self.broken or "*" in self.broken:
            raise HelperError(f"journalctl failed for {unit}: permission denied",
                              {"ok": False}, 1)
        if command == "service" and rest[0] == "status":
            state = self.states.get(unit, "inactive")
            return {"ok": True, "state": state, "message": f"{unit} is {state}"}
        if command == "service":
            return {"ok": True, "message": f"{rest[0]} {unit}: done"}
        if command == "logs":
            return {"ok": True, "name": unit, "entries": list(self.logs.get(unit, []))}
        raise AssertionError(f"unexpected helper call {args}")

    def last_requests(self, units) -> dict:
        from appliance.deploy.client import HelperError
        from appliance.helper.requestlog import parse_request

        if self.broken & {"*", "last-requests", *units}:
            raise HelperError("journalctl failed: permission denied", {"ok": False}, 1)
        newest = {}
        for unit in units:
            rows = [dict(request, time=entry["time"]) for entry in self.logs.get(unit, [])
                    if (request := parse_request(entry["message"]))]
            newest[unit] = rows[-1] if rows else None
        return {"ok": True, "units": newest}

    def count(self, *prefix) -> int:
        return sum(1 for call in self.calls if call[:len(prefix)] == prefix)
