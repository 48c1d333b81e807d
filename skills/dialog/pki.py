"""A test PKI kept on disk, so a skill served in another process can trust the dialog's requests.

``python -m skills dialog --url`` signs with this PKI; the skill trusts its root through the
files ``trust_files`` writes (``ASK_CA_BUNDLE``, ``ASK_CERT_CACHE_DIR``), e.g. in the env file
given to ``python -m skills serve --env-file``. Only the signing leaf's key is stored (0600):
the CA keys are thrown away once the chain is made, so nothing else can ever be signed by it.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from skills.runtime.testing import TestPKI, trust_files

KEY_FILE = "signing-key.pem"
CHAIN_FILE = "signing-chain.pem"  # leaf, intermediate, root
ENV_FILE = "trust.env"


def _load(directory: Path) -> TestPKI | None:
    try:
        key = serialization.load_pem_private_key((directory / KEY_FILE).read_bytes(), None)
        leaf, intermediate, root = x509.load_pem_x509_certificates(
            (directory / CHAIN_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    if leaf.not_valid_after_utc < dt.datetime.now(dt.UTC) + dt.timedelta(days=1):
        return None  # about to expire: make a new one
    pki = TestPKI.__new__(TestPKI)  # the certificates exist already: no keys to generate
    pki.key_size = key.key_size
    pki.leaf_key, pki.leaf_cert = key, leaf
    pki.intermediate_cert, pki.root_cert = intermediate, root
    pki.root_key = pki.intermediate_key = None
    pem = serialization.Encoding.PEM
    pki.root_pem = root.public_bytes(pem)
    pki.chain_pem = leaf.public_bytes(pem) + intermediate.public_bytes(pem)
    return pki


def _save(pki: TestPKI, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path = directory / KEY_FILE
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pki.key_pem())
    pem = serialization.Encoding.PEM
    (directory / CHAIN_FILE).write_bytes(b"".join(
        c.public_bytes(pem) for c in (pki.leaf_cert, pki.intermediate_cert, pki.root_cert)))


def stored_pki(directory: str | os.PathLike) -> tuple[TestPKI, dict[str, str]]:
    """The PKI in ``directory`` (made on first use) and the environment that trusts it.

    Also writes ``trust.env`` (NAME="value" lines) for ``python -m skills serve --env-file``.
    """
    directory = Path(directory)
    pki = _load(directory)
    if pki is None:
        pki = TestPKI()
        _save(pki, directory)
    env = trust_files(pki, directory)
    quoted = {k: v.replace("\\", "\\\\").replace('"', '\\"') for k, v in env.items()}
    (directory / ENV_FILE).write_text("".join(f'{k}="{v}"\n' for k, v in sorted(quoted.items())))
    return pki, env


def default_directory() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "skills-dialog" / "pki"
