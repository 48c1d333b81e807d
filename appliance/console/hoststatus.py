"""The host's status for the dashboard: DuckDNS's last answer and the certificates Caddy serves.

Informational only: a certificate is read from a TLS handshake with Caddy on loopback, without
verifying it (the point is to show what is served, trusted or not). What a handshake found is
kept in the cache for a minute (a certificate lasts weeks), a failed one for a few seconds (a
site just applied shows its certificate soon), so a dashboard of 100 skills does not make 100
handshakes each time it is shown.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID
from django.core.cache import cache

from ..deploy.client import layout
from ..render.layout import LayoutError

HANDSHAKE_TIMEOUT = 1.5
CERTIFICATE_TTL = 60  # seconds a served certificate's description is reused
NO_CERTIFICATE_TTL = 5  # ... and the finding that none was served
DEFAULT_HTTPS_PORT = 443


def https_port() -> int:
    """The port Caddy serves HTTPS on: the layout's ``https_port`` (tests), else 443."""
    try:
        _, extras = layout()
    except LayoutError:
        return DEFAULT_HTTPS_PORT
    port = extras.get("https_port", DEFAULT_HTTPS_PORT)
    return port if isinstance(port, int) and 0 < port < 65536 else DEFAULT_HTTPS_PORT


def duckdns_status() -> dict:
    """When the updater last ran and what DuckDNS said ("OK" or "KO"), from curl's output file."""
    try:
        paths, _ = layout()
    except LayoutError:
        return {"ran": False, "ok": False, "result": "", "when": None}
    path = Path(paths.duckdns_dir) / "last-result"
    try:
        with path.open("rb") as handle:
            answer = handle.read(200).decode("utf-8", "replace").strip()
        when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except OSError:
        return {"ran": False, "ok": False, "result": "", "when": None}
    first = answer.splitlines()[0].strip() if answer else ""
    return {"ran": True, "ok": first == "OK", "result": first or "(empty answer)",
            "when": when}


def _name(name: x509.Name) -> str:
    parts = [attr.value for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME)
             for attr in name.get_attributes_for_oid(oid)]
    return " · ".join(dict.fromkeys(str(part) for part in parts)) or name.rfc4514_string()


def served_certificate(fqdn: str, port: int, timeout: float = HANDSHAKE_TIMEOUT) -> dict:
    """Issuer and expiry of the certificate Caddy serves for ``fqdn`` on 127.0.0.1:port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # informational: show what is served, trusted or not
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=fqdn) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        return {"state": "none", "error": _reason(exc), "detail": str(exc)}
    if not der:
        return {"state": "none", "error": "no certificate served"}
    cert = x509.load_der_x509_certificate(der)
    expires = cert.not_valid_after_utc
    state = "expired" if expires <= dt.datetime.now(dt.UTC) else "valid"
    return {"state": state, "issuer": _name(cert.issuer), "not_after": expires,
            "not_before": cert.not_valid_before_utc, "error": ""}


# OpenSSL's words for "the server has no certificate for this name": Caddy answers a name it
# has no site (or no certificate yet) for with an alert, and that is what the operator sees.
NO_SITE_ALERTS = ("TLSV1_ALERT_INTERNAL_ERROR", "TLSV1_UNRECOGNIZED_NAME",
                  "SSLV3_ALERT_HANDSHAKE_FAILURE", "TLSV1_ALERT_ACCESS_DENIED")
NO_SITE = "Caddy has none for this name: not applied yet, or still being issued"


def _reason(exc: Exception) -> str:
    """Why no certificate was seen, in words."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "Caddy did not answer (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return "Caddy is not listening: is it running?"
    reason = getattr(exc, "reason", None)
    if reason in NO_SITE_ALERTS:
        return NO_SITE
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake failed ({reason or exc})"
    return getattr(exc, "strerror", None) or str(exc)


def _certificate_key(fqdn: str, port: int) -> str:
    return f"appliance:certificate:{port}:{hashlib.sha256(fqdn.encode()).hexdigest()[:32]}"


def certificates(fqdns: list[str], port: int) -> dict[str, dict]:
    """{fqdn: served_certificate(...)}: from the cache, else the handshakes side by side."""
    if not fqdns:
        return {}
    keys = {fqdn: _certificate_key(fqdn, port) for fqdn in set(fqdns)}
    cached = cache.get_many(list(keys.values()))
    found = {fqdn: cached[key] for fqdn, key in keys.items() if key in cached}
    missing = [fqdn for fqdn in keys if fqdn not in found]
    if missing:
        fresh = _handshakes(missing, port)
        for ttl in (CERTIFICATE_TTL, NO_CERTIFICATE_TTL):
            chosen = {keys[fqdn]: answer for fqdn, answer in fresh.items()
                      if (answer["state"] != "none") == (ttl == CERTIFICATE_TTL)}
            if chosen:
                cache.set_many(chosen, ttl)
        found.update(fresh)
    return found


def _handshakes(fqdns: list[str], port: int) -> dict[str, dict]:
    pool = ThreadPoolExecutor(max_workers=min(16, len(fqdns)))
    futures = {fqdn: pool.submit(served_certificate, fqdn, port) for fqdn in fqdns}
    wait(futures.values(), timeout=HANDSHAKE_TIMEOUT * 2)
    pool.shutdown(wait=False, cancel_futures=True)
    late = {"state": "none", "error": "no answer (timed out)"}
    return {fqdn: future.result() if _finished(future) else late
            for fqdn, future in futures.items()}


def _finished(future) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None
