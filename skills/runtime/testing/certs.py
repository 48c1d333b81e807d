"""A throwaway PKI that signs test requests the way Alexa signs real ones.

Point the verifier's CA bundle at ``TestPKI.root_pem`` (``write_ca_bundle``) and either seed the
chain cache (``seed_cache``) or serve ``chain_pem`` from a fake S3; then ``sign(body)`` gives the
headers Alexa would send. The certificates follow the RFC 5280 / CA/B profile that
``cryptography``'s strict verifier enforces, so the real verification code runs unmodified.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from skills.runtime.verifier import cache_file_name

CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem"
ECHO_API_HOST = "echo-api.amazon.com"

_UTC = dt.UTC


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Alexa appliance test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _new_key(key_size: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _build(
    *,
    subject: x509.Name,
    key: CertificateIssuerPrivateKeyTypes,
    issuer: x509.Certificate | None,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    not_before: dt.datetime,
    not_after: dt.datetime,
    ca: bool,
    san: str | None = None,
) -> x509.Certificate:
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    # A root is its own authority; everything else names the key that signed it.
    authority = issuer_key.public_key()
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(authority), critical=False
    )
    if ca:
        # path_length=None on the root, 0 below it: the intermediate may only sign leaves.
        path_length = None if issuer is None else 0
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=path_length), critical=True
        ).add_extension(_ca_usage(), critical=True)
    else:
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_leaf_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
    if san is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


class TestPKI:
    """A throwaway root CA → intermediate → leaf for echo-api.amazon.com, all valid now."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, key_size: int = 2048) -> None:
        self.key_size = key_size
        now = dt.datetime.now(_UTC)
        # Backdate so a slightly skewed clock, or a test that rewinds a little, still sees "valid".
        ca_from, ca_until = now - dt.timedelta(days=365), now + dt.timedelta(days=3650)

        self.root_key = _new_key(key_size)
        self.root_cert = _build(
            subject=_name("Test Alexa Root CA"),
            key=self.root_key,
            issuer=None,
            issuer_key=self.root_key,
            not_before=ca_from,
            not_after=ca_until,
            ca=True,
        )
        self.intermediate_key = _new_key(key_size)
        self.intermediate_cert = _build(
            subject=_name("Test Alexa Intermediate CA"),
            key=self.intermediate_key,
            issuer=self.root_cert,
            issuer_key=self.root_key,
            not_before=ca_from,
            not_after=ca_until,
            ca=True,
        )
        self.leaf_key = _new_key(key_size)
        self.leaf_cert = self._leaf(
            self.leaf_key,
            san=ECHO_API_HOST,
            not_before=now - dt.timedelta(days=1),
            not_after=now + dt.timedelta(days=365),
        )
        self.root_pem: bytes = _pem(self.root_cert)
        self.chain_pem: bytes = _pem(self.leaf_cert, self.intermediate_cert)

    def _leaf(
        self,
        key: CertificateIssuerPrivateKeyTypes,
        *,
        san: str,
        not_before: dt.datetime,
        not_after: dt.datetime,
        self_signed: bool = False,
    ) -> x509.Certificate:
        return _build(
            subject=_name(san),
            key=key,
            issuer=None if self_signed else self.intermediate_cert,
            issuer_key=key if self_signed else self.intermediate_key,
            not_before=not_before,
            not_after=not_after,
            ca=False,
            san=san,
        )

    def write_ca_bundle(self, path: str | os.PathLike[str]) -> str:
        """Write the root certificate (the trust anchor) to ``path`` and return it."""
        Path(path).write_bytes(self.root_pem)
        return os.fspath(path)

    def seed_cache(
        self,
        cache_dir: str | os.PathLike[str],
        url: str = CERT_URL,
        chain_pem: bytes | None = None,
    ) -> str:
        """Pre-populate the verifier's disk cache so no fetch is needed; returns the file path."""
        directory = Path(cache_dir)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / cache_file_name(url)
        target.write_bytes(self.chain_pem if chain_pem is None else chain_pem)
        target.chmod(0o600)
        return os.fspath(target)

    def sign(
        self,
        body: bytes,
        url: str = CERT_URL,
        *,
        sha1: bool = True,
        key: rsa.RSAPrivateKey | None = None,
    ) -> dict[str, str]:
        """The signature headers Alexa would send with ``body`` (signed by the leaf or ``key``)."""
        return sign_body(self.leaf_key if key is None else key, body, url, sha1=sha1)

    def make_chain(
        self,
        *,
        san: str = ECHO_API_HOST,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        self_signed: bool = False,
        key: CertificateIssuerPrivateKeyTypes | None = None,
    ) -> tuple[bytes, CertificateIssuerPrivateKeyTypes]:
        """A fresh leaf (+ this PKI's intermediate) for negative tests; returns (PEM, leaf key).

        With ``self_signed`` the leaf signs itself and the PEM holds only that leaf, so it
        chains to nothing the verifier trusts. ``key`` swaps in another leaf key (e.g. EC).
        """
        now = dt.datetime.now(_UTC)
        key = _new_key(self.key_size) if key is None else key
        leaf = self._leaf(
            key,
            san=san,
            not_before=now - dt.timedelta(days=1) if not_before is None else not_before,
            not_after=now + dt.timedelta(days=365) if not_after is None else not_after,
            self_signed=self_signed,
        )
        if self_signed:
            return _pem(leaf), key
        return _pem(leaf, self.intermediate_cert), key

    def key_pem(self, key: CertificateIssuerPrivateKeyTypes | None = None) -> bytes:
        """PEM of a private key (the leaf's by default), e.g. for an ``ssl`` server context."""
        return (self.leaf_key if key is None else key).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def sign_body(key: rsa.RSAPrivateKey, body: bytes, url: str = CERT_URL, *,
              sha1: bool = True) -> dict[str, str]:
    """Alexa's signature headers for ``body``, signed with ``key``."""
    headers = {
        "SignatureCertChainUrl": url,
        "Signature-256": _b64(key.sign(body, padding.PKCS1v15(), hashes.SHA256())),
    }
    if sha1:
        # Alexa still sends the legacy SHA-1 header next to Signature-256.
        headers["Signature"] = _b64(key.sign(body, padding.PKCS1v15(), hashes.SHA1()))
    return headers


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
