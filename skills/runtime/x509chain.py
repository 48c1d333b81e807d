"""Validation of Alexa's signing certificate chain with ``cryptography``'s RFC 5280 verifier.

Self-contained on purpose (no imports from this package): the skill process runs this file as a
short-lived child, ``python -I x509chain.py``, JSON on stdin and stdout, so that the 8 MiB of
``cryptography`` never stay in a long-lived skill process for a check made once per chain.
Processes that already hold ``cryptography`` (tests, tools) import it and call
:class:`ChainValidator` directly.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import logging
import re
import sys
import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509 import verification as xv

log = logging.getLogger("skills.runtime.verifier")

ECHO_API_HOST = "echo-api.amazon.com"
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


class ChainError(ValueError):
    """Why a chain was refused; safe to log (untrusted names are made printable)."""


class TrustRootsError(ChainError):
    """The CA bundle cannot be loaded: the fault is ours, not the chain's."""


@dataclass(frozen=True)
class ValidatedLeaf:
    """What request checks need from a validated chain: the leaf's key and validity window."""

    spki_der: bytes  # the leaf's SubjectPublicKeyInfo
    not_before: float
    not_after: float


def load_roots(path: str) -> list[x509.Certificate]:
    try:
        with open(path, "rb") as fh:
            blocks = _PEM_CERT.findall(fh.read())
    except OSError as exc:
        reason = type(exc).__name__
        raise TrustRootsError(f"could not load the CA bundle {path}: {reason}") from None
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
        raise TrustRootsError(f"the CA bundle {path} holds no certificates")
    return roots


def _dns_names(cert: x509.Certificate) -> list[str]:
    with contextlib.suppress(x509.ExtensionNotFound):
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return [name.lower() for name in san.get_values_for_type(x509.DNSName)]
    return []


class ChainValidator:
    """Validates PEM chains against a CA bundle (certifi's by default) plus optional extra roots."""

    def __init__(self, ca_bundle: str | None = None, extra_ca_bundle: str | None = None):
        self.ca_bundle = ca_bundle
        self.extra_ca_bundle = extra_ca_bundle
        self._store: xv.Store | None = None

    def trust_store(self) -> xv.Store:
        if self._store is None:
            path = self.ca_bundle
            if path is None:
                import certifi  # deferred: only when no bundle is configured

                path = certifi.where()
            roots = load_roots(path)
            if self.extra_ca_bundle:
                roots += load_roots(self.extra_ca_bundle)
            self._store = xv.Store(roots)
        return self._store

    def __call__(self, pem: bytes, now: float) -> ValidatedLeaf:
        store = self.trust_store()  # a broken CA bundle is reported before a bad chain
        try:
            certs = x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise ChainError("signing certificate chain is not valid PEM") from None
        leaf, intermediates = certs[0], certs[1:]
        not_before = leaf.not_valid_before_utc.timestamp()
        not_after = leaf.not_valid_after_utc.timestamp()
        # These pre-checks only give clearer messages; the verifier below enforces them too.
        if now > not_after:
            raise ChainError(
                f"signing certificate expired at {leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
            )
        if now < not_before:
            raise ChainError(
                "signing certificate is not valid before "
                f"{leaf.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}"
            )
        if ECHO_API_HOST not in _dns_names(leaf):
            raise ChainError(f"signing certificate is not issued to {ECHO_API_HOST}")
        verifier = (
            xv.PolicyBuilder()
            .store(store)
            .time(dt.datetime.fromtimestamp(now, dt.UTC))
            .build_server_verifier(x509.DNSName(ECHO_API_HOST))
        )
        try:
            verifier.verify(leaf, intermediates)
        except xv.VerificationError as exc:
            reason = str(exc).removeprefix("validation failed: ")[:160]
            reason = "".join(c if c.isprintable() else "?" for c in reason)  # names are untrusted
            raise ChainError(f"signing certificate chain is not trusted: {reason}") from None
        key = leaf.public_key()
        if not isinstance(key, RSAPublicKey):
            raise ChainError("signing certificate key is not RSA")
        spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return ValidatedLeaf(spki, not_before, not_after)


def main() -> int:
    """Child mode: ``{pem, now, ca_bundle, extra_ca_bundle}`` in; the leaf or an error out."""
    job = json.load(sys.stdin)
    validator = ChainValidator(job.get("ca_bundle"), job.get("extra_ca_bundle"))
    try:
        leaf = validator(job["pem"].encode("latin-1"), float(job["now"]))
    except ChainError as exc:
        answer = {"error": str(exc), "trust_roots": isinstance(exc, TrustRootsError)}
    else:
        answer = {"spki_der": base64.b64encode(leaf.spki_der).decode(),
                  "not_before": leaf.not_before, "not_after": leaf.not_after}
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
