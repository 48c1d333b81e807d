"""A fake Login with Amazon on loopback: code pairs, device-code polling, refresh tokens.

Strict where LWA is: the form fields of each grant, ``scope=alexa:all`` with ``scope_data``
naming a product ID and serial number, polling faster than ``interval`` → ``slow_down``, an
expired code → ``invalid_code_pair``, an unknown or revoked refresh token → ``invalid_grant``.
``tls=True`` serves HTTPS with a throwaway certificate (trust ``ca_bundle``), as LWA only
speaks HTTPS.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from ._certs import server_context

CLIENT_ID = "amzn1.application-oa2-client.0123456789abcdef"
PRODUCT_ID = "alexa_appliance_test"
SERIAL = "appliance-0001"


@dataclass
class Pair:
    user_code: str
    device_code: str
    product_id: str
    serial_number: str
    expires_at: float
    interval: float
    approved: bool = False
    denied: bool = False
    polls: int = 0
    last_poll: float = 0.0


@dataclass
class Stats:
    codepairs: int = 0
    polls: int = 0
    slow_downs: int = 0
    refreshes: int = 0
    refused_refreshes: int = 0
    requests: list[dict] = field(default_factory=list)  # form fields, secrets masked


class FakeLWA:
    """``url`` is the base URL; ``approve()`` is the user entering the code on Amazon's page."""

    def __init__(self, client_id: str = CLIENT_ID, *, interval: float = 0.05,
                 code_ttl: float = 600.0, access_ttl: float = 3600.0,
                 approve_after_polls: int | None = None, tls: bool = False):
        self.client_id = client_id
        self.interval = interval
        self.code_ttl = code_ttl
        self.access_ttl = access_ttl
        self.approve_after_polls = approve_after_polls
        self.pairs: dict[str, Pair] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token → serial number
        self.access_tokens: dict[str, float] = {}  # access token → expiry (time.time())
        self.token_serials: dict[str, str] = {}  # access token → the device's serial number
        self.forced_slow_downs = 0
        self.stats = Stats()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, answer = fake._route(self.path, form,
                                             self.headers.get("Content-Type", ""))
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.ca_bundle: str | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-lwa-")
        if tls:
            context, self.ca_bundle = server_context(Path(self._tmp.name))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> FakeLWA:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._tmp.cleanup()

    def serial_of(self, access_token: str) -> str | None:
        with self._lock:
            return self.token_serials.get(access_token)

    # -- what a test does --------------------------------------------------------------------

    def latest(self) -> Pair:
        return list(self.pairs.values())[-1]

    def approve(self, user_code: str | None = None) -> None:
        with self._lock:
            pair = self.pairs_by_user(user_code) if user_code else self.latest()
            pair.approved = True

    def deny(self) -> None:
        with self._lock:
            self.latest().denied = True

    def expire(self) -> None:
        with self._lock:
            self.latest().expires_at = 0.0

    def pairs_by_user(self, user_code: str) -> Pair:
        return next(p for p in self.pairs.values() if p.user_code == user_code)

    def slow_down(self, times: int = 1) -> None:
        self.forced_slow_downs += times

    def issue(self, serial_number: str = SERIAL, access_ttl: float | None = None) -> dict:
        """Tokens as if a device had linked: for tests that start from a linked device."""
        with self._lock:
            return self._tokens(serial_number, access_ttl)

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self.refresh_tokens.clear()

    def access_valid(self, token: str) -> bool:
        with self._lock:
            return self.access_tokens.get(token, 0.0) > time.time()

    # -- the protocol ------------------------------------------------------------------------

    def _tokens(self, serial_number: str, access_ttl: float | None = None,
                refresh: str | None = None) -> dict:
        ttl = self.access_ttl if access_ttl is None else access_ttl
        access = "Atza|" + secrets.token_urlsafe(24)
        refresh = refresh or "Atzr|" + secrets.token_urlsafe(24)
        self.access_tokens[access] = time.time() + ttl
        self.token_serials[access] = serial_number
        self.refresh_tokens[refresh] = serial_number
        return {"access_token": access, "refresh_token": refresh, "token_type": "bearer",
                "expires_in": ttl}

    def _route(self, path: str, form: dict, content_type: str) -> tuple[int, dict]:
        masked = {k: ("…" if "token" in k or "secret" in k or k == "device_code" else v)
                  for k, v in form.items()}
        self.stats.requests.append({"path": path, **masked})
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return 400, _error("invalid_request", "expected a form body")
        if form.get("client_id") != self.client_id:
            return 400, _error("invalid_client", "unknown client_id")
        with self._lock:
            if path == "/auth/O2/create/codepair":
                return self._codepair(form)
            if path == "/auth/o2/token":
                grant = form.get("grant_type")
                if grant == "device_code":
                    return self._poll(form)
                if grant == "refresh_token":
                    return self._refresh(form)
                return 400, _error("unsupported_grant_type", f"grant_type {grant!r}")
        return 404, _error("not_found", path)

    def _codepair(self, form: dict) -> tuple[int, dict]:
        if form.get("response_type") != "device_code":
            return 400, _error("invalid_request", "response_type must be device_code")
        if form.get("scope") != "alexa:all":
            return 400, _error("invalid_scope", "scope must be alexa:all")
        try:
            data = json.loads(form.get("scope_data", ""))["alexa:all"]
            product = data["productID"]
            serial = data["productInstanceAttributes"]["deviceSerialNumber"]
        except (ValueError, KeyError, TypeError):
            return 400, _error("invalid_request", "scope_data must name productID and "
                                                  "productInstanceAttributes.deviceSerialNumber")
        self.stats.codepairs += 1
        pair = Pair(secrets.token_hex(3).upper(), secrets.token_urlsafe(16), product, serial,
                    time.time() + self.code_ttl, self.interval)
        self.pairs[pair.device_code] = pair
        return 200, {"user_code": pair.user_code, "device_code": pair.device_code,
                     "verification_uri": "https://amazon.com/us/code",
                     "expires_in": self.code_ttl, "interval": self.interval}

    def _poll(self, form: dict) -> tuple[int, dict]:
        pair = self.pairs.get(form.get("device_code", ""))
        if pair is None or form.get("user_code") != pair.user_code:
            return 400, _error("invalid_grant", "unknown device_code or user_code")
        self.stats.polls += 1
        now = time.time()
        too_soon = pair.last_poll and now - pair.last_poll < 0.8 * pair.interval
        pair.last_poll = now
        pair.polls += 1
        if now >= pair.expires_at:
            return 400, _error("invalid_code_pair", "the code pair expired")
        if self.forced_slow_downs or too_soon:
            self.forced_slow_downs = max(0, self.forced_slow_downs - 1)
            self.stats.slow_downs += 1
            return 400, _error("slow_down", "polling too fast")
        if pair.denied:
            return 400, _error("access_denied", "the user refused")
        if self.approve_after_polls is not None and pair.polls >= self.approve_after_polls:
            pair.approved = True
        if not pair.approved:
            return 400, _error("authorization_pending", "the user has not entered the code yet")
        del self.pairs[pair.device_code]
        return 200, self._tokens(pair.serial_number)

    def _refresh(self, form: dict) -> tuple[int, dict]:
        token = form.get("refresh_token", "")
        if token not in self.refresh_tokens:
            self.stats.refused_refreshes += 1
            return 400, _error("invalid_grant", "The request has an invalid grant parameter : "
                                                "refresh_token")
        self.stats.refreshes += 1
        return 200, self._tokens(self.refresh_tokens[token], refresh=token)


def _error(code: str, description: str) -> dict:
    return {"error": code, "error_description": description}
