"""A local HTTPS server posing as s3.amazonaws.com, for the tests that fetch signing chains.

It presents a certificate for s3.amazonaws.com from its own test CA, and ``session`` sends
https://s3.amazonaws.com/... to it while still checking that certificate, so the fetch,
redirect, size and timeout rules run through requests/urllib3 rather than a fake.
"""

from __future__ import annotations

import contextlib
import http.server
import ssl
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from skills.runtime.testing.certs import TestPKI


class FakeS3:
    """Routes of a local HTTPS server: path -> (status, headers, body), or a special action."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.fallback: tuple[int, dict[str, str], bytes] = (404, {}, b"no such key")
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.release = threading.Event()  # frees stalled handlers at teardown
        self.counter = 0
        self.session: requests.Session | None = None
        self.port = 0
        self.dir: Path | None = None

    def serve(self, body: bytes, status: int = 200, headers: dict | None = None) -> str:
        with self.lock:
            self.counter += 1
            path = f"/echo.api/test-{self.counter}.pem"
        self.routes[path] = (status, headers or {}, body)
        return f"https://s3.amazonaws.com{path}"


def make_handler(s3: FakeS3):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with s3.lock:
                s3.hits[self.path] += 1
            status, headers, body = s3.routes.get(self.path, s3.fallback)
            headers = dict(headers)  # the X- controls below are popped from a copy
            if headers.pop("X-Stall", None):
                s3.release.wait(10)
            if headers.pop("X-Delay", None):
                s3.release.wait(0.3)
            self.send_response(status)
            unsized = headers.pop("X-Unsized", None)
            for name, value in headers.items():
                self.send_header(name, value)
            if not unsized:  # HTTP/1.0 without a length: the body ends when the socket closes
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler


class LocalS3Adapter(HTTPAdapter):
    """Sends https://s3.amazonaws.com/... to the local server, still checking its certificate."""

    def __init__(self, port: int, ca_file: str) -> None:
        self.port = port
        self.ca_file = ca_file
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        # SNI and the hostname check use the real name, not 127.0.0.1.
        kwargs["server_hostname"] = "s3.amazonaws.com"
        super().init_poolmanager(*args, **kwargs)

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.netloc
        request.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.port}"))
        kwargs["verify"] = self.ca_file
        return super().send(request, **kwargs)


def local_session(port: int, ca_file: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # an environment proxy would be chosen for the real host name
    session.mount("https://", LocalS3Adapter(port, ca_file))
    return session


@contextlib.contextmanager
def running_s3(directory: Path) -> Iterator[FakeS3]:
    """The server, started; its ``session`` fetches from it (its CA files go in ``directory``)."""
    server_pki = TestPKI()
    chain, key = server_pki.make_chain(san="s3.amazonaws.com")
    (directory / "server.pem").write_bytes(chain)
    (directory / "server.key").write_bytes(server_pki.key_pem(key))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")

    fake = FakeS3()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    server.daemon_threads = True
    server.block_on_close = False
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    fake.port, fake.dir = server.server_address[1], directory
    fake.session = local_session(fake.port, server_pki.write_ca_bundle(directory / "ca.pem"))
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        fake.session.close()
