"""Alexa's signing certificate chains: fetched, validated once, cached by URL in memory and on disk.

The caller passes the URL's canonical form (``verifier.check_cert_chain_url``), so spellings of
one URL share an entry. Both caches are bounded (the oldest entry or file goes first), and
network fetches for URLs in neither are rate-limited: a flood of forged requests naming new
URLs costs a few fetches a minute, never one each.

A request path that parses PEM or touches the disk cannot stay within Alexa's latency budget, so
a validated chain is reduced to the leaf's public key and validity window. Validation itself
(``x509chain.py``, with ``cryptography``) runs in a short-lived child process unless this process
already holds ``cryptography``: a skill process then never maps its 8 MiB for a check it makes
once per chain. Per-request signature checks go through libcrypto (``openssl.py``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import openssl
from .errors import TrustRootsError, VerificationError

if TYPE_CHECKING:
    import requests

log = logging.getLogger("skills.runtime.verifier")

_FETCH_ERROR = "could not fetch the signing certificate chain"
# Amazon signs with one chain at a time and rotates it rarely; these leave ample room for that
# and for the admin's seeded test-console chain.
MAX_ENTRIES = 16  # validated chains kept in memory
MAX_FILES = 16  # chain files kept in the disk cache
FETCHES_PER_MINUTE = 10  # network fetches of URLs in neither cache
_CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "x509chain.py")


def cache_file_name(url: str) -> str:
    """Disk-cache file name for a chain URL: hashed, so the header value never becomes a path."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest() + ".pem"


class _CryptographyKey:
    """The fallback where no libcrypto can be bound: the same check through ``cryptography``."""

    def __init__(self, spki_der: bytes):
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.serialization import load_der_public_key

        self._key = load_der_public_key(spki_der)
        self._invalid = InvalidSignature
        self._padding = padding.PKCS1v15()
        self._digests = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1()}  # noqa: S303
        self.spki_der = spki_der

    def verify(self, signature: bytes, data: bytes, digest: str = "sha256") -> bool:
        if digest not in self._digests:
            raise ValueError(f"unsupported digest {digest!r}")
        try:
            self._key.verify(signature, data, self._padding, self._digests[digest])
        except self._invalid:
            return False
        return True


def load_public_key(spki_der: bytes):
    """A key object with ``verify(signature, data, digest) -> bool`` for a DER public key."""
    if openssl.available():
        return openssl.RSAPublicKey(spki_der)
    return _CryptographyKey(spki_der)


class TokenBucket:
    """At most ``rate`` takes a minute on average, ``rate`` at once after a quiet minute."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.clock = clock
        self._tokens = float(rate)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self.clock()
            self._tokens = min(float(self.rate), self._tokens + (now - self._at) * self.rate / 60)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


@dataclass(frozen=True, slots=True)
class _Entry:
    """A validated chain reduced to what a cache hit needs: no PEM, no datetime objects."""

    key: Any  # openssl.RSAPublicKey or _CryptographyKey
    not_before: float
    not_after: float


class ChildValidator:
    """Runs ``x509chain.py`` in a child process: JSON in, the leaf's key and window out."""

    def __init__(self, ca_bundle: str | None, extra_ca_bundle: str | None,
                 timeout: float = 10.0):
        self.ca_bundle = ca_bundle
        self.extra_ca_bundle = extra_ca_bundle
        self.timeout = timeout

    def __call__(self, pem: bytes, now: float) -> tuple[bytes, float, float]:
        job = json.dumps({"pem": pem.decode("latin-1"), "now": now, "ca_bundle": self.ca_bundle,
                          "extra_ca_bundle": self.extra_ca_bundle})
        try:
            # -I: no PYTHONPATH, no user site, no script folder: only the installed packages.
            done = subprocess.run([sys.executable, "-I", _CHILD], input=job.encode(),
                                  capture_output=True, timeout=self.timeout, check=False)
            answer = json.loads(done.stdout) if done.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
            log.error("certificate chain validator failed: %s", exc)
            answer = done = None
        if not isinstance(answer, dict):
            if done is not None:
                log.error("certificate chain validator exited %s: %s", done.returncode,
                          done.stderr.decode(errors="replace")[-2000:])
            raise VerificationError("could not validate the signing certificate chain")
        if "error" in answer:
            error = TrustRootsError if answer.get("trust_roots") else VerificationError
            raise error(str(answer["error"]))
        return (base64.b64decode(answer["spki_der"]), float(answer["not_before"]),
                float(answer["not_after"]))


class InlineValidator:
    """Validates in this process: for processes that hold ``cryptography`` anyway."""

    def __init__(self, ca_bundle: str | None, extra_ca_bundle: str | None):
        from .x509chain import ChainValidator

        self._validate = ChainValidator(ca_bundle, extra_ca_bundle)

    def __call__(self, pem: bytes, now: float) -> tuple[bytes, float, float]:
        from . import x509chain

        try:
            leaf = self._validate(pem, now)
        except x509chain.TrustRootsError as exc:
            raise TrustRootsError(str(exc)) from None
        except x509chain.ChainError as exc:
            raise VerificationError(str(exc)) from None
        return leaf.spki_der, leaf.not_before, leaf.not_after


def _validator(mode: str, ca_bundle: str | None, extra_ca_bundle: str | None):
    if mode == "auto":
        mode = "inline" if "cryptography" in sys.modules else "child"
    if mode == "inline":
        return InlineValidator(ca_bundle, extra_ca_bundle)
    if mode == "child":
        return ChildValidator(ca_bundle, extra_ca_bundle)
    raise ValueError(f"validation must be auto, inline or child, not {mode!r}")


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
        validation: str = "auto",
        max_entries: int = MAX_ENTRIES,
        max_files: int = MAX_FILES,
        fetches_per_minute: int = FETCHES_PER_MINUTE,
    ) -> None:
        self.cache_dir = cache_dir
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.session = session
        self.clock = clock
        self.max_entries = max_entries
        self.max_files = max_files
        self.fetches = TokenBucket(fetches_per_minute)
        self._validate = _validator(validation, ca_bundle, extra_ca_bundle)
        self._entries: dict[str, _Entry] = {}  # insertion order: the first is the oldest
        self._lock = threading.Lock()  # guards _url_locks and changes to _entries
        self._url_locks: dict[str, list[Any]] = {}  # url -> [Lock, number of users]

    def public_key(self, url: str):
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
            with self._lock:
                self._entries.pop(url, None)
            entry = self._load_from_disk(url, now)
            if entry is None:
                if not self.fetches.take():
                    raise VerificationError(f"{_FETCH_ERROR}: over {self.fetches.rate} new "
                                            "certificate URLs a minute")
                pem = self._fetch(url)
                entry = self._entry(pem, now)
                self._save_to_disk(url, pem)
            with self._lock:
                self._entries[url] = entry
                while len(self._entries) > self.max_entries:
                    del self._entries[next(iter(self._entries))]
            return entry.key

    def _entry(self, pem: bytes, now: float) -> _Entry:
        spki_der, not_before, not_after = self._validate(pem, now)
        return _Entry(load_public_key(spki_der), not_before, not_after)

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
        if len(pem) > self.max_bytes:
            reason = f"larger than {self.max_bytes} bytes"
        else:
            try:
                # Anything could have written this file: trust it no more than the network.
                return self._entry(pem, now)
            except TrustRootsError:
                raise  # our roots are broken, not the file: keep it
            except VerificationError as exc:
                reason = str(exc)
        log.warning("discarding cached chain %s: %s", path, reason)
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
            self._prune_disk(keep=path)
        except OSError as exc:
            # The chain is valid and in memory; a read-only cache must not fail the request.
            log.warning("could not cache the certificate chain in %s: %s", self.cache_dir, exc)
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.remove(tmp)

    def _prune_disk(self, keep: str) -> None:
        """Remove the oldest chain files beyond ``max_files`` (never the one just written)."""
        files = []
        with os.scandir(self.cache_dir) as listing:
            for entry in listing:
                if entry.name.endswith(".pem") and entry.path != keep:
                    with contextlib.suppress(OSError):  # removed meanwhile by another thread
                        files.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
        files.sort()
        for _, path in files[:max(0, len(files) + 1 - self.max_files)]:
            with contextlib.suppress(OSError):
                os.remove(path)

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
