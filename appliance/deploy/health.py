"""The health check after an apply: every enabled skill answers through Caddy, as Alexa reaches it.

An HTTPS request to Caddy on loopback with the skill's name as SNI and Host, ``GET
/_skill/health``. The certificate is not verified: this checks our own proxy on 127.0.0.1, and a
fresh Let's Encrypt certificate may not have arrived yet.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

HEALTH_PATH = "/_skill/health"
DEFAULT_WAIT = 10.0


class _SNIConnection(http.client.HTTPSConnection):
    """HTTPS to an address, with another name in the TLS handshake."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        super().__init__(address, port, timeout=timeout, context=context)
        self.server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_name)


def get_through_caddy(fqdn: str, https_port: int, path: str = HEALTH_PATH, *,
                      address: str = "127.0.0.1", timeout: float = 3.0,
                      method: str = "GET", body: bytes | None = None,
                      headers: dict | None = None) -> tuple[int, bytes]:
    connection = _SNIConnection(address, https_port, fqdn, timeout)
    try:
        connection.request(method, path, body=body, headers={"Host": fqdn, **(headers or {})})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def probe(slug: str, fqdn: str, https_port: int, timeout: float = 3.0) -> str | None:
    """None when the skill answered its health check through Caddy; else why not, in words."""
    try:
        status, body = get_through_caddy(fqdn, https_port, timeout=timeout)
    except ConnectionRefusedError:
        return f"connection refused (nothing listens on 127.0.0.1:{https_port})"
    except ssl.SSLError as exc:
        return f"the TLS handshake for {fqdn} failed ({exc.reason or exc})"
    except TimeoutError:
        return "no answer (timed out)"
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"
    if status == 502:
        return "Caddy answered 502 Bad Gateway: the skill is not listening"
    if status != 200:
        return f"it answered HTTP {status}"
    try:
        answer = json.loads(body)
    except ValueError:
        return "the answer is not the skill runtime's health check"
    if not isinstance(answer, dict) or answer.get("skill") != slug:
        named = answer.get("skill") if isinstance(answer, dict) else None
        return f"the answer came from {named!r}, not from {slug}"
    return None


def wait_healthy(skills: list[tuple[str, str]], https_port: int, *, wait: float = DEFAULT_WAIT,
                 why_dead: Callable[[str], str | None] | None = None) -> dict[str, str]:
    """Check ``(slug, fqdn)`` pairs until each answers or ``wait`` seconds pass.

    Returns {slug: message} for the skills that failed. ``why_dead(slug)`` may tell early that a
    skill's service has died, so the check need not wait the whole time for it.
    """

    def check(slug: str, fqdn: str) -> str | None:
        started = time.monotonic()
        next_look = started + 1.5
        reason = "not checked"
        while True:
            reason = probe(slug, fqdn, https_port, timeout=min(3.0, wait))
            if reason is None:
                return None
            now = time.monotonic()
            if why_dead and now >= next_look:
                dead = why_dead(slug)
                if dead:
                    return f"{slug} did not answer through Caddy: {dead}"
                next_look = now + 1.5
            if now - started >= wait:
                return f"{slug} did not answer through Caddy within {wait:.0f} s: {reason}"
            time.sleep(0.1)

    if not skills:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(skills))) as pool:
        results = list(pool.map(lambda pair: (pair[0], check(*pair)), skills))
    return {slug: message for slug, message in results if message}
