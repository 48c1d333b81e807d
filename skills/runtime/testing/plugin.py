"""pytest fixtures for skill authors (registered through the ``pytest11`` entry point).

Define a ``skill_app`` fixture returning your Flask app, then use ``alexa``::

    def test_it_welcomes(alexa):
        assert alexa.launch().speech.startswith("Welcome")
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def alexa_pki():
    """A test PKI for the whole run (making RSA keys takes a moment)."""
    from skills.runtime.testing import TestPKI

    return TestPKI()


@pytest.fixture(scope="session")
def alexa_trust(alexa_pki, tmp_path_factory) -> dict[str, str]:
    """Environment that makes a skill process trust ``alexa_pki``."""
    from skills.runtime.testing import trust_files

    return trust_files(alexa_pki, tmp_path_factory.mktemp("alexa-trust"))


@pytest.fixture
def alexa(request, alexa_pki, tmp_path):
    """A :class:`SkillClient` for the ``skill_app`` fixture, trusting ``alexa_pki``."""
    from skills.runtime.testing import SkillClient, trust

    app = request.getfixturevalue("skill_app")
    trust(app, alexa_pki, tmp_path)
    return SkillClient(app, alexa_pki)
