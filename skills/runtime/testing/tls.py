"""Throwaway self-signed certificates for the loopback TLS servers that stand in for real ones in
tests (AVS, LWA, Caddy, a webhook service): the clients under test connect with real TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import ssl
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = ("localhost", "127.0.0.1")


def _alt_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def self_signed(directory: Path, name: str, *, organization: str | None = None,
                alt_names: Iterable[str] = (), ca: bool = False,
                not_before: dt.datetime | None = None,
                not_after: dt.datetime | None = None) -> tuple[Path, Path]:
    """(certificate, key) files in ``directory`` for a new EC key: common name ``name``, the
    host names and IP addresses ``alt_names``, valid from a minute ago for a day unless told;
    ``ca`` marks it a CA, so that a client can trust it as its own CA bundle."""
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    subject = x509.Name(attributes)
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before or now - dt.timedelta(minutes=1))
               .not_valid_after(not_after or now + dt.timedelta(days=1)))
    if alt_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_alt_name(alt) for alt in alt_names]), critical=False)
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                        critical=True)
    cert = builder.sign(key, hashes.SHA256())
    stem = re.sub(r"[^A-Za-z0-9.-]+", "-", name)
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def server_context(directory: Path, name: str, *, alpn: list[str] | None = None,
                   **certificate) -> tuple[ssl.SSLContext, str]:
    """A server TLS context on a new certificate (``self_signed``'s ``certificate``
    arguments), and the path of its PEM, which a client trusts as its CA bundle."""
    cert, key = self_signed(directory, name, **certificate)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if alpn:
        context.set_alpn_protocols(alpn)
    return context, str(cert)
