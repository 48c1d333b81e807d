"""A host for deploys: the deploy tests' throwaway host (real Caddy on free ports, SysV scripts,
real skill processes) whose releases build as ``nobody`` from a local package index, and git
repositories made here."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.deploy.tests.conftest import admin_on, caddy_host, stop_everything
from appliance.helper.tests.releasekit import (
    APP,
    build_settings,
    kept_index,
    open_folder,
    share_runtime,
)


@pytest.fixture(scope="session")
def kept_folder():
    with kept_index("appliance-releases-kept-") as folder:
        yield folder


@pytest.fixture(scope="session")
def index(kept_folder):
    return kept_folder / "wheels"


@pytest.fixture
def release_host(db, settings, index, kept_folder):
    root = open_folder("appliance-deploy-")
    host = caddy_host(root, **build_settings(index))
    admin_on(host, settings)
    settings.RELEASES_LOCAL_GIT = True
    settings.RELEASES_RUN = "inline"
    share_runtime(host.paths, kept_folder)
    try:
        yield host
    finally:
        stop_everything(host)
        share_runtime(host.paths, kept_folder, after=True)
        shutil.rmtree(root, ignore_errors=True)


class Repository:
    """A git repository on this host, committed to as a skill's author would."""

    def __init__(self, path: Path):
        self.path = path
        self.git("init", "-q", "-b", "main")

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", "-c", "user.name=Author", "-c", "user.email=a@example.org",
                               *args], cwd=self.path, capture_output=True, text=True,
                              check=True)
        return done.stdout.strip()

    def commit(self, files: dict[str, str | None], message: str = "change",
               tag: str = "") -> str:
        for name, text in files.items():
            path = self.path / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        if tag:
            self.git("tag", tag)
        return self.git("rev-parse", "HEAD")


def skill_files(speech: str = "tinytool.greet()", imports: str = "import tinytool\n",
                requirements: str = "tinytool==1.0\n") -> dict[str, str]:
    return {"app.py": APP.format(imports=imports, speech=speech),
            "requirements.txt": requirements, "templates.yaml": "welcome: Hello\n",
            "skill-package/skill.json": '{"manifest": {"publishingInformation": {}}}\n'}


@pytest.fixture
def repository(tmp_path):
    folder = open_folder("appliance-repo-")
    yield Repository(folder)
    shutil.rmtree(folder, ignore_errors=True)
