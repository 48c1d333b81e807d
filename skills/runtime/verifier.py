"""Verification of Alexa's signed requests, exactly as Amazon's certification tests it.

https://developer.amazon.com/docs/custom-skills/host-a-custom-skill-as-a-web-service.html
Order: cert-chain URL, chain → public key, signature over the raw body, timestamp, skill ID.
The chain is validated with ``cryptography``'s RFC 5280 verifier, never by hand.

Validated chains are cached in memory (and optionally on disk) by URL, because a request path
that parses PEM or touches the disk cannot stay within Alexa's latency budget.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import logging
import math
import os
import posixpath
import re
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.x509 import verification as xv

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

DEFAULT_TIMESTAMP_TOLERANCE = 150  # seconds
SKILL_EVENT_TIMESTAMP_TOLERANCE = 3600  # request types starting with "AlexaSkillEvent."

ECHO_API_HOST = "echo-api.amazon.com"
_URL_HOST = "s3.amazonaws.com"
_URL_PATH_PREFIX = "/echo.api/"
_FETCH_ERROR = "could not fetch the signing certificate chain"
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


class VerificationError(Exception):
    """Why a request was refused.

    The message is safe to log (no secrets); the request is answered 400.
    """


def _short(value: object, limit: int = 80) -> str:
    """A bounded repr of attacker-controlled text, so log lines stay short and unambiguous."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cache_file_name(url: str) -> str:
    """Disk-cache file name for a chain URL: hashed, so the header value never becomes a path."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest() + ".pem"


def check_cert_chain_url(url: str | None) -> None:
    """Refuse any SignatureCertChainUrl that is not Amazon's https://s3.amazonaws.com/echo.api/."""
    if not url:
        raise VerificationError("SignatureCertChainUrl header is missing")
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
    # Resolve "." and ".." first so /echo.api/../cert/ cannot pass a prefix test; the prefix
    # comparison itself is case-sensitive, as S3 keys are.
    path = posixpath.normpath(parts.path) if parts.path.startswith("/") else ""
    if not path.startswith(_URL_PATH_PREFIX):
        raise VerificationError(f"SignatureCertChainUrl path must start with {_URL_PATH_PREFIX}")


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


@dataclass(frozen=True, slots=True)
class _Entry:
    """A validated chain reduced to what a cache hit needs: no PEM, no datetime objects."""

    key: RSAPublicKey
    not_before: float
    not_after: float


def _load_roots(path: str) -> list[x509.Certificate]:
    try:
        with open(path, "rb") as fh:
            blocks = _PEM_CERT.findall(fh.read())
    except OSError as exc:
        msg = f"could not load the CA bundle {path}: {type(exc).__name__}"
        raise VerificationError(msg) from None
    roots = []
    # One by one: a single malformed root (certifi ships one with a negative serial, which
    # cryptography warns about and will one day refuse) must not void the rest.
    for block in blocks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                roots.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                log.warning("skipping an unparsable certificate in %s", path)
    if not roots:
        raise VerificationError(f"the CA bundle {path} holds no certificates")
    return roots


class CertChainStore:
    """Fetches, validates and caches Alexa's signing certificate chains by URL."""

    def __init__(
        self,
        *,
        ca_bundle: str | None = None,
        extra_ca_bundle: str | None = None,
        cache_dir: str | None = None,
        timeout: float = 3.0,
        max_bytes: int = 64 * 1024,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ca_bundle = ca_bundle
        self.extra_ca_bundle = extra_ca_bundle
        self.cache_dir = cache_dir
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.session = session
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._store: xv.Store | None = None
        self._lock = threading.Lock()  # guards _store and _url_locks
        self._url_locks: dict[str, list[Any]] = {}  # url -> [Lock, number of users]

    def public_key(self, url: str) -> RSAPublicKey:
        """The leaf's key for ``url``, from memory, disk or the network (validated on entry)."""
        entry = self._entries.get(url)
        if entry is not None and entry.not_before <= self.clock() <= entry.not_after:
            return entry.key
        with self._url_lock(url):
            # Another thread may have loaded it while this one waited for the lock.
            entry = self._entries.get(url)
            now = self.clock()
            if entry is not None and entry.not_before <= now <= entry.not_after:
                return entry.key
            # Expired (or not yet valid) in memory: forget it, the file may have been replaced.
            self._entries.pop(url, None)
            self._trust_store()  # a broken CA bundle must not look like a bad cache file
            entry = self._load_from_disk(url, now)
            if entry is None:
                pem = self._fetch(url)
                entry = self._validate(pem, now)
                self._save_to_disk(url, pem)
            self._entries[url] = entry
            return entry.key

    @contextlib.contextmanager
    def _url_lock(self, url: str) -> Iterator[None]:
        # One lock per URL, dropped when unused, so one slow fetch never blocks another URL
        # and attacker-chosen URLs do not accumulate locks.
        with self._lock:
            slot = self._url_locks.setdefault(url, [threading.Lock(), 0])
            slot[1] += 1
        try:
            with slot[0]:
                yield
        finally:
            with self._lock:
                slot[1] -= 1
                if slot[1] == 0:
                    del self._url_locks[url]

    def _trust_store(self) -> xv.Store:
        with self._lock:
            if self._store is None:
                path = self.ca_bundle
                if path is None:
                    import certifi  # deferred: only needed the first time a chain is validated

                    path = certifi.where()
                roots = _load_roots(path)
                if self.extra_ca_bundle:
                    roots += _load_roots(self.extra_ca_bundle)
                self._store = xv.Store(roots)
            return self._store

    def _validate(self, pem: bytes, now: float) -> _Entry:
        try:
            certs = x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise VerificationError("signing certificate chain is not valid PEM") from None
        leaf, intermediates = certs[0], certs[1:]
        not_before = leaf.not_valid_before_utc.timestamp()
        not_after = leaf.not_valid_after_utc.timestamp()
        # These pre-checks only give clearer messages; the verifier below enforces them too.
        if now > not_after:
            raise VerificationError(
                f"signing certificate expired at {leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
            )
        if now < not_before:
            raise VerificationError(
                "signing certificate is not valid before "
                f"{leaf.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}"
            )
        if ECHO_API_HOST not in _dns_names(leaf):
            raise VerificationError(f"signing certificate is not issued to {ECHO_API_HOST}")
        verifier = (
            xv.PolicyBuilder()
            .store(self._trust_store())
            .time(dt.datetime.fromtimestamp(now, dt.UTC))
            .build_server_verifier(x509.DNSName(ECHO_API_HOST))
        )
        try:
            verifier.verify(leaf, intermediates)
        except xv.VerificationError as exc:
            reason = str(exc).removeprefix("validation failed: ")[:160]
            reason = "".join(c if c.isprintable() else "?" for c in reason)  # names are untrusted
            msg = f"signing certificate chain is not trusted: {reason}"
            raise VerificationError(msg) from None
        key = leaf.public_key()
        if not isinstance(key, RSAPublicKey):
            raise VerificationError("signing certificate key is not RSA")
        return _Entry(key, not_before, not_after)

    def _cache_path(self, url: str) -> str | None:
        if not self.cache_dir:
            return None
        return os.path.join(self.cache_dir, cache_file_name(url))

    def _load_from_disk(self, url: str, now: float) -> _Entry | None:
        path = self._cache_path(url)
        if path is None:
            return None
        try:
            with open(path, "rb") as fh:
                pem = fh.read(self.max_bytes + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("ignoring unreadable cached chain %s: %s", path, exc)
            return None
        try:
            if len(pem) > self.max_bytes:
                raise VerificationError(f"larger than {self.max_bytes} bytes")
            # Anything could have written this file: trust it no more than the network.
            return self._validate(pem, now)
        except VerificationError as exc:
            log.warning("discarding cached chain %s: %s", path, exc)
            with contextlib.suppress(OSError):
                os.remove(path)
            return None

    def _save_to_disk(self, url: str, pem: bytes) -> None:
        path = self._cache_path(url)
        if path is None:
            return
        tmp = None
        try:
            os.makedirs(self.cache_dir, mode=0o700, exist_ok=True)
            # Same directory, then rename: readers see the old file or the whole new one.
            fd, tmp = tempfile.mkstemp(dir=self.cache_dir, prefix=".chain-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), 0o600)
                fh.write(pem)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            # The chain is valid and in memory; a read-only cache must not fail the request.
            log.warning("could not cache the certificate chain in %s: %s", self.cache_dir, exc)
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.remove(tmp)

    def _fetch(self, url: str) -> bytes:
        import requests  # deferred: importing requests costs ~100 ms and a hit never needs it

        getter = self.session.get if self.session is not None else requests.get
        deadline = time.monotonic() + self.timeout
        try:
            response = getter(url, timeout=self.timeout, allow_redirects=False, stream=True)
        except requests.RequestException as exc:
            raise VerificationError(f"{_FETCH_ERROR}: {type(exc).__name__}") from None
        try:
            if response.status_code != 200:
                raise VerificationError(f"{_FETCH_ERROR}: HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise VerificationError(f"{_FETCH_ERROR}: larger than {self.max_bytes} bytes")
            body = bytearray()
            for chunk in response.iter_content(chunk_size=16 * 1024):
                body += chunk
                if len(body) > self.max_bytes:
                    raise VerificationError(f"{_FETCH_ERROR}: larger than {self.max_bytes} bytes")
                # requests' timeout is per socket read; a trickling server needs a total bound.
                if time.monotonic() > deadline:
                    raise VerificationError(f"{_FETCH_ERROR}: took longer than {self.timeout} s")
            return bytes(body)
        except requests.RequestException as exc:
            raise VerificationError(f"{_FETCH_ERROR}: {type(exc).__name__}") from None
        finally:
            response.close()


def _dns_names(cert: x509.Certificate) -> list[str]:
    with contextlib.suppress(x509.ExtensionNotFound):
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return [name.lower() for name in san.get_values_for_type(x509.DNSName)]
    return []


def _decode_signature(name: str, value: str) -> bytes:
    if not value:
        raise VerificationError(f"{name} header is empty")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(f"{name} header is not valid base64") from None


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

    def verify(self, headers: Mapping[str, str], body: bytes, payload: dict, *,
               timestamps: bool | None = None) -> None:
        """``timestamps`` overrides the verifier's default for this one request."""
        url = headers.get("SignatureCertChainUrl")
        check_cert_chain_url(url)
        key = self.store.public_key(url)
        self._check_signature(key, headers, body)
        if not isinstance(payload, dict):
            raise VerificationError("request body is not a JSON object")
        if self.check_timestamps if timestamps is None else timestamps:
            request = payload.get("request")
            request = request if isinstance(request, dict) else {}
            check_timestamp(request.get("timestamp"), request.get("type") or "", now=self.clock())
        if self.application_ids:
            check_application_id(payload, self.application_ids)

    @staticmethod
    def _check_signature(key: RSAPublicKey, headers: Mapping[str, str], body: bytes) -> None:
        value = headers.get("Signature-256")
        if value is not None:
            name, algorithm = "Signature-256", hashes.SHA256()
        else:
            # SHA-1 only for senders that predate Signature-256; never a downgrade when present.
            value = headers.get("Signature")
            if value is None:
                raise VerificationError("request is not signed (no Signature-256 header)")
            name, algorithm = "Signature", hashes.SHA1()  # noqa: S303 - Alexa's legacy header
        signature = _decode_signature(name, value)
        try:
            key.verify(signature, bytes(body), padding.PKCS1v15(), algorithm)
        except InvalidSignature:
            raise VerificationError(f"{name} does not match the body") from None
