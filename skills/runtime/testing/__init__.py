"""Test support for skill authors: a test PKI, request builders, a signing client, fixtures.

    from skills.runtime.testing import SkillClient, TestPKI, trust

    pki = TestPKI()
    trust(app, pki, tmp_path)          # the app now trusts requests signed by ``pki``
    alexa = SkillClient(app, pki)
    assert "Welcome" in alexa.launch().speech

With pytest the fixtures ``alexa_pki``, ``alexa_trust`` and ``alexa`` (which needs a
``skill_app`` fixture returning the app) are available without any import.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from . import builders
from .builders import (
    APPLICATION_ID,
    envelope,
    intent_request,
    launch_request,
    session_ended_request,
    slot,
)
from .certs import CERT_URL, TestPKI
from .client import Reply, SkillClient


def trust_files(pki: TestPKI, directory: str | os.PathLike) -> dict[str, str]:
    """Write the PKI's root and seeded chain cache under ``directory``.

    Returns the environment a skill process needs to trust ``pki``:
    ``ASK_CA_BUNDLE`` and ``ASK_CERT_CACHE_DIR``.
    """
    directory = Path(directory)
    cache = directory / "cert-cache"
    cache.mkdir(parents=True, exist_ok=True)
    bundle = pki.write_ca_bundle(directory / "test-root-ca.pem")
    pki.seed_cache(cache)
    return {"ASK_CA_BUNDLE": str(bundle), "ASK_CERT_CACHE_DIR": str(cache)}


def trust(app: Flask, pki: TestPKI, directory: str | os.PathLike, **config) -> dict[str, str]:
    """Make an in-process ``app`` verify requests against ``pki`` (and apply ``config``)."""
    from ..config import Settings
    from ..core import _Extension

    files = trust_files(pki, directory)
    app.config.update(files, **config)
    app.extensions["skills.runtime"] = _Extension(Settings.load(app.config, environ={}))
    return files


__all__ = [
    "APPLICATION_ID",
    "CERT_URL",
    "Reply",
    "SkillClient",
    "TestPKI",
    "builders",
    "envelope",
    "intent_request",
    "launch_request",
    "session_ended_request",
    "slot",
    "trust",
    "trust_files",
]
