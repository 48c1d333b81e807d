"""Verification of Alexa's signed requests, exactly as Amazon's certification tests it.

https://developer.amazon.com/docs/custom-skills/host-a-custom-skill-as-a-web-service.html
Order: cert-chain URL, the signature header's shape, chain → public key, signature over the raw
body; then, once the body is parsed, timestamp and skill ID. Everything that costs something (a
fetch, a chain validation, parsing the body) comes after the checks that cost nothing.
Chains are validated with ``cryptography``'s RFC 5280 verifier, never by hand, and cached by
canonical URL (``chains.py``); the signature itself is checked by libcrypto (``openssl.py``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import math
import posixpath
import re
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

from .chains import CertChainStore, cache_file_name
from .errors import TrustRootsError, VerificationError

__all__ = [
    "CertChainStore", "RequestVerifier", "TrustRootsError", "VerificationError",
    "cache_file_name", "check_application_id", "check_cert_chain_url", "check_timestamp",
    "signature_header",
]

log = logging.getLogger(__name__)

DEFAULT_TIMESTAMP_TOLERANCE = 150  # seconds
SKILL_EVENT_TIMESTAMP_TOLERANCE = 3600  # request types starting with "AlexaSkillEvent."

_URL_HOST = "s3.amazonaws.com"
_URL_PATH_PREFIX = "/echo.api/"
# RFC 3986 path characters; anything else (spaces, controls, non-ASCII) is no URL Amazon sends.
_PATH_CHARS = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# An RSA signature is as long as the key's modulus: 256 bytes for RSA-2048 to 512 for RSA-4096.
SIGNATURE_BYTES = range(256, 513)
_SIGNATURE_MAX_CHARS = 4 * -(-SIGNATURE_BYTES[-1] // 3)  # its base64 length


def _short(value: object, limit: int = 80) -> str:
    """A bounded repr of attacker-controlled text, so log lines stay short and unambiguous."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _canonical_escape(match: re.Match) -> str:
    # RFC 3986 6.2.2: an escaped unreserved character is that character; other escapes in
    # upper case. "%65cho-api-cert.pem" and "echo-api-cert.pem" are one S3 key, one cache entry.
    char = chr(int(match[1], 16))
    return char if char in _UNRESERVED else "%" + match[1].upper()


def check_cert_chain_url(url: str | None) -> str:
    """Refuse any SignatureCertChainUrl that is not Amazon's https://s3.amazonaws.com/echo.api/.

    Returns the URL's one canonical form (lower-case scheme and host, no port, no fragment, path
    normalised), which is what is fetched and what the chain cache is keyed on.
    """
    if not url:
        raise VerificationError("SignatureCertChainUrl header is missing")
    # urlsplit silently drops tabs and newlines: refuse them (and spaces, controls) first.
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise VerificationError(f"SignatureCertChainUrl is not a valid URL: {_short(url)}")
    try:
        parts = urlsplit(url)
        port = parts.port  # parsing the port raises ValueError for "notaport" or out of range
    except ValueError:
        raise VerificationError(
            f"SignatureCertChainUrl is not a valid URL: {_short(url)}"
        ) from None
    if parts.scheme.lower() != "https":
        raise VerificationError("SignatureCertChainUrl scheme must be https")
    if (parts.hostname or "").lower() != _URL_HOST:
        raise VerificationError(f"SignatureCertChainUrl host must be {_URL_HOST}")
    if port not in (None, 443):
        raise VerificationError("SignatureCertChainUrl port must be 443")
    if "@" in parts.netloc:
        raise VerificationError("SignatureCertChainUrl must not contain user information")
    # Amazon's rules do not name the query; Amazon never sends one, and it would make S3 answer
    # something else than the object (?versionId=, ?acl): refused. A fragment is never sent.
    if "?" in url.partition("#")[0]:
        raise VerificationError("SignatureCertChainUrl must not have a query")
    if not _PATH_CHARS.fullmatch(parts.path):
        raise VerificationError(f"SignatureCertChainUrl path is not valid: {_short(parts.path)}")
    # Resolve "." and ".." (escaped ones too) so /echo.api/../cert/ cannot pass a prefix test;
    # the prefix comparison itself is case-sensitive, as S3 keys are.
    path = _ESCAPE.sub(_canonical_escape, parts.path)
    path = posixpath.normpath(path) if path.startswith("/") else ""
    if not path.startswith(_URL_PATH_PREFIX):
        raise VerificationError(f"SignatureCertChainUrl path must start with {_URL_PATH_PREFIX}")
    return f"https://{_URL_HOST}{path}"


def _timestamp_seconds(timestamp: Any) -> float:
    if isinstance(timestamp, bool):  # bool is an int; True is not a point in time
        raise VerificationError("request timestamp is not a valid date")
    if isinstance(timestamp, int | float):
        seconds = timestamp / 1000.0  # Alexa has historically sent epoch milliseconds
    elif isinstance(timestamp, str):
        try:
            parsed = dt.datetime.fromisoformat(timestamp.strip())
        except ValueError:
            raise VerificationError(
                f"request timestamp is not ISO 8601: {_short(timestamp)}"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        seconds = parsed.timestamp()
    elif timestamp is None:
        raise VerificationError("request timestamp is missing")
    else:
        raise VerificationError("request timestamp is not a valid date")
    if not math.isfinite(seconds):
        raise VerificationError("request timestamp is not a valid date")
    return seconds


def check_timestamp(timestamp: Any, request_type: str, *, now: float) -> None:
    """Refuse a request whose timestamp is too far from ``now`` (a replay, or a bad clock)."""
    tolerance = (
        SKILL_EVENT_TIMESTAMP_TOLERANCE
        if isinstance(request_type, str) and request_type.startswith("AlexaSkillEvent.")
        else DEFAULT_TIMESTAMP_TOLERANCE
    )
    age = now - _timestamp_seconds(timestamp)
    if abs(age) > tolerance:
        when = "old" if age > 0 else "in the future"
        raise VerificationError(
            f"request timestamp is {abs(age):.0f} s {when} (limit {tolerance} s)"
        )


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def check_application_id(payload: dict, allowed: Collection[str]) -> None:
    """Refuse a request addressed to a skill ID this service does not serve."""
    app_id = _dig(payload, "context", "System", "application", "applicationId")
    if app_id is None:  # older payloads, and some request types, only carry it in the session
        app_id = _dig(payload, "session", "application", "applicationId")
    if not app_id:
        raise VerificationError("request has no applicationId")
    if app_id not in allowed:
        raise VerificationError(f"applicationId {_short(app_id)} is not served here")


def signature_header(headers: Mapping[str, str]) -> tuple[str, str, bytes]:
    """(header name, digest, signature bytes), refused unless shaped like an RSA signature.

    Costs nothing, so it runs before the chain is fetched: a junk signature never costs a fetch.
    """
    value = headers.get("Signature-256")
    if value is not None:
        name, digest = "Signature-256", "sha256"
    else:
        # SHA-1 only for senders that predate Signature-256; never a downgrade when present.
        value = headers.get("Signature")
        if value is None:
            raise VerificationError("request is not signed (no Signature-256 header)")
        name, digest = "Signature", "sha1"
    if not value:
        raise VerificationError(f"{name} header is empty")
    if len(value) > _SIGNATURE_MAX_CHARS:
        raise VerificationError(f"{name} header is longer than an RSA-4096 signature")
    try:
        signature = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(f"{name} header is not valid base64") from None
    if len(signature) not in SIGNATURE_BYTES:
        raise VerificationError(f"{name} is {len(signature)} bytes, not an RSA-2048 to "
                                "RSA-4096 signature")
    return name, digest, signature


class RequestVerifier:
    """Checks one request (headers, raw body, parsed JSON) and raises VerificationError."""

    def __init__(
        self,
        store: CertChainStore,
        *,
        application_ids: Collection[str] = (),
        check_timestamps: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.application_ids = frozenset(application_ids)
        self.check_timestamps = check_timestamps
        self.clock = clock

    def check_signature(self, headers: Mapping[str, str], body: bytes) -> None:
        """The URL, the signature's shape, the chain, then the signature over the raw body."""
        url = check_cert_chain_url(headers.get("SignatureCertChainUrl"))
        name, digest, signature = signature_header(headers)
        key = self.store.public_key(url)
        if not key.verify(signature, bytes(body), digest):
            raise VerificationError(f"{name} does not match the body")

    def check_payload(self, payload: Any, *, timestamps: bool | None = None) -> None:
        """Timestamp and skill ID of the parsed body of a correctly signed request."""
        if not isinstance(payload, dict):
            raise VerificationError("request body is not a JSON object")
        if self.check_timestamps if timestamps is None else timestamps:
            request = payload.get("request")
            request = request if isinstance(request, dict) else {}
            check_timestamp(request.get("timestamp"), request.get("type") or "", now=self.clock())
        if self.application_ids:
            check_application_id(payload, self.application_ids)

    def verify(self, headers: Mapping[str, str], body: bytes, payload: Any, *,
               timestamps: bool | None = None) -> None:
        """Both checks; ``timestamps`` overrides the verifier's default for this one request."""
        self.check_signature(headers, body)
        self.check_payload(payload, timestamps=timestamps)
