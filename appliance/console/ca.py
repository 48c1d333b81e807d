"""The test console's signing CA: how the admin signs requests a skill will accept.

A throwaway root and a leaf for echo-api.amazon.com are made once and kept in the admin's data
directory; the root's private key is discarded right away, so nobody (the admin included) can
mint another certificate with it. Skills trust this root only while their "test console"
switch is on; the leaf's chain is seeded into their certificate cache under an S3-looking URL
that Amazon never uses. See the README's "Test console" section.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from skills.runtime.testing import TestPKI
from skills.runtime.testing.certs import sign_body

from ..render.envfiles import CONSOLE_CERT_URL

RENEW_BEFORE = dt.timedelta(days=30)


class ConsoleCA:
    def __init__(self, root_pem: bytes, chain_pem: bytes, leaf_key):
        self.root_pem = root_pem
        self.chain_pem = chain_pem
        self.leaf_key = leaf_key

    @classmethod
    def directory(cls) -> Path:
        return Path(settings.APPLIANCE_DATA_DIR) / "console"

    @classmethod
    def load_or_create(cls, directory: Path | None = None) -> ConsoleCA:
        directory = directory or cls.directory()
        return cls.load_current(directory) or cls._create(directory)

    @classmethod
    def load_current(cls, directory: Path | None = None) -> ConsoleCA | None:
        """The CA on disk, unless it is missing, unreadable or due for renewal; writes nothing."""
        try:
            ca = cls._load(directory or cls.directory())
        except (OSError, ValueError):
            return None
        return None if ca.expires() - dt.datetime.now(dt.UTC) < RENEW_BEFORE else ca

    @classmethod
    def _load(cls, directory: Path) -> ConsoleCA:
        key = serialization.load_pem_private_key((directory / "leaf-key.pem").read_bytes(),
                                                 password=None)
        return cls((directory / "ca.pem").read_bytes(), (directory / "chain.pem").read_bytes(),
                   key)

    @classmethod
    def _create(cls, directory: Path) -> ConsoleCA:
        pki = TestPKI()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write(directory / "leaf-key.pem", pki.key_pem(), 0o600)
        _write(directory / "chain.pem", pki.chain_pem, 0o644)
        _write(directory / "ca.pem", pki.root_pem, 0o644)
        return cls(pki.root_pem, pki.chain_pem, pki.leaf_key)

    def expires(self) -> dt.datetime:
        return x509.load_pem_x509_certificates(self.chain_pem)[0].not_valid_after_utc

    def sign(self, body: bytes) -> dict[str, str]:
        """The headers Alexa would send with ``body``, signed by the console's leaf."""
        return sign_body(self.leaf_key, body, CONSOLE_CERT_URL, sha1=False)


def _write(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
