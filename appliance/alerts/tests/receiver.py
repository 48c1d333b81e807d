"""A webhook receiver on loopback that takes apprise's JSON notifications (``json://`` over HTTP,
``jsons://`` over HTTPS), as strict as a webhook service is: POST to its one path, JSON that
has apprise's fields, else 4xx. ``status`` makes it refuse (a failing channel).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

FIELDS = {"version", "title", "message", "type"}
TYPES = {"info", "success", "warning", "failure"}


def loopback_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its path is also the CA bundle to trust)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake webhook")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


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
            cert, key = loopback_certificate(Path(self._directory.name))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.ca_bundle = str(cert)
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
