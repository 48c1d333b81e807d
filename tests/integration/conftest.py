"""Skills in their real server processes (``python -m skills serve``), talked to over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from skills.runtime.testing import SkillClient
from skills.runtime.testing.process import SkillProcess
from tests.motoserver import aws, moto  # noqa: F401 (fixtures: one moto_server a module)

ROOT = Path(__file__).resolve().parents[2]
MEMORY_GAME = ROOT / "skills" / "memory_game"


@pytest.fixture(scope="session")
def skill_env(alexa_trust):
    """Environment of a skill process that trusts the test PKI (and only it)."""
    return dict(alexa_trust)


@pytest.fixture(scope="module")
def memory_game(skill_env, tmp_path_factory):
    """One Memory Game process for a whole test module."""
    log = tmp_path_factory.mktemp("memory-game") / "skill.log"
    process = SkillProcess(MEMORY_GAME, skill_env, log_path=log).start()
    yield process
    assert process.stop() == 0, process.logs()


@pytest.fixture
def alexa_http(memory_game, alexa_pki):
    return SkillClient(memory_game.url, alexa_pki)


@pytest.fixture
def skill_copy(tmp_path):
    """A private copy of the Memory Game, for tests that edit its files."""
    target = tmp_path / "memory_game"
    shutil.copytree(MEMORY_GAME, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """The Memory Game's Lambda zip, built once per test module."""
    from skills.lambda_deploy.package import build_package

    return build_package(MEMORY_GAME, cache_dir=tmp_path_factory.mktemp("requirements"))


@pytest.fixture
def lwa():
    """The fake Login with Amazon (skills.voice.testing)."""
    from skills.voice.testing import FakeLWA

    with FakeLWA() as fake:
        yield fake


@pytest.fixture
def avs(lwa):
    """The fake AVS, answering with the Memory Game through the dialog engine."""
    from skills.voice.testing import FakeAVS

    with FakeAVS(MEMORY_GAME, lwa=lwa) as fake:
        yield fake
