"""The skills role deploys a skill from git: its checks take ``git``/``ref`` entries (and name a bad
one before anything changes), and its deploy task runs the admin's real ``skill_deploy`` through
``appliance-manage`` (here a wrapper running manage.py as root would, on a throwaway host with
real Caddy), reporting changed for a new commit and unchanged for the same one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from appliance.deploy.health import get_through_caddy
from appliance.deploy.tests.conftest import caddy_host, stop_everything
from appliance.helper.tests.releasekit import (
    build_settings,
    open_folder,
    wheelhouse,
)
from appliance.releases.tests.conftest import Repository, skill_files

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def play(tmp_path: Path, skills: list, *, manage: str = "/nonexistent", deploy: bool = False,
         extra: dict | None = None) -> subprocess.CompletedProcess:
    tasks = [{"name": "Check", "ansible.builtin.include_role": {
        "name": "skills", "tasks_from": "validate", "public": True}}]
    if deploy:
        tasks.append({"name": "Deploy", "ansible.builtin.include_role": {
            "name": "skills", "tasks_from": "deploy"}})
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars": {"ansible_python_interpreter": sys.executable}, "tasks": tasks}]))
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"skills_bundled": skills, "appliance_manage": manage,
                                     **(extra or {})}))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
         str(playbook), "-e", f"@{variables}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("entry", [
    {"slug": "quiz", "git": "https://github.com/example/quiz.git", "ref": "v1.2"},
    {"slug": "quiz", "git": "git@github.com:example/quiz.git"},
    {"slug": "quiz", "git": "ssh://git@example.org:2222/srv/quiz.git", "ref": "main"},
    {"slug": "memory-game", "source": "memory_game"},
])
def test_git_entries_pass_the_role_s_checks(tmp_path, entry):
    done = play(tmp_path, [entry])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("entry", [
    {"slug": "quiz", "git": "http://example.org/quiz.git"},
    {"slug": "quiz", "git": "https://user:token@example.org/quiz.git"},
    {"slug": "quiz", "git": "https://example.org/quiz.git", "source": "quiz"},
    {"slug": "quiz"},
    {"slug": "quiz", "git": "https://example.org/quiz.git", "ref": "--upload-pack=evil"},
    {"slug": "quiz", "git": "https://example.org/quiz.git", "ref": "a/../b"},
    {"slug": "quiz", "source": "quiz", "ref": "main"},
])
def test_a_bad_git_entry_is_named_before_anything_runs(tmp_path, entry):
    done = play(tmp_path, [entry], deploy=True)
    assert done.returncode != 0
    assert 'skills_bundled entry "quiz"' in done.stdout, done.stdout
    assert "Deploy each skill" not in done.stdout


@pytest.fixture
def host():
    """A throwaway host and an appliance-manage that runs manage.py against it, as root."""
    root = open_folder("appliance-role-deploy-")
    fake = caddy_host(root, **build_settings(wheelhouse(root / "wheels")))
    paths = fake.paths
    env = {"DJANGO_SETTINGS_MODULE": "appliance.settings", "SECRET_KEY": "role-test-" + "x" * 40,
           "DATABASE_URL": f"sqlite:///{root}/admin.sqlite3", "APPLIANCE_ROOT": str(root),
           "APPLIANCE_DATA_DIR": paths.data_dir, "APPLIANCE_LAYOUT": str(root / "layout.json"),
           "APPLIANCE_HELPER": "direct", "APPLIANCE_RELEASES_LOCAL_GIT": "true"}
    manage = root / "appliance-manage"
    manage.write_text("#!/bin/sh\n" + "".join(f"export {k}='{v}'\n" for k, v in env.items())
                      + f"exec {sys.executable} {ROOT}/manage.py \"$@\"\n")
    manage.chmod(0o755)
    subprocess.run([str(manage), "migrate", "-v", "0"], check=True, cwd=ROOT, timeout=300)
    subprocess.run([str(manage), "host_set", "--init", "sysv"], check=True, cwd=ROOT,
                   timeout=60, capture_output=True)
    try:
        yield fake, manage
    finally:
        stop_everything(fake)
        shutil.rmtree(root, ignore_errors=True)


def test_the_role_deploys_a_new_commit_and_reports_the_same_one_unchanged(host, tmp_path):
    fake, manage = host
    repository = Repository(open_folder("appliance-role-repo-"))
    repository.commit(skill_files(), tag="v1")
    entry = {"slug": "quiz", "git": repository.url, "ref": "v1"}
    # The role takes https and ssh; this repository is on this host (file://), which the admin
    # here allows (APPLIANCE_RELEASES_LOCAL_GIT).
    local = {"skills__git_pattern": "^file:///"}
    try:
        first = play(tmp_path, [entry], manage=str(manage), deploy=True, extra=local)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "changed: [localhost] => (item=quiz" in first.stdout, first.stdout
        status, body = get_through_caddy("quiz.localhost", fake.https_port)
        assert (status, json.loads(body)["skill"]) == (200, "quiz")

        again = play(tmp_path, [entry], manage=str(manage), deploy=True, extra=local)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "ok: [localhost] => (item=quiz" in again.stdout and "changed=0" in again.stdout
    finally:
        shutil.rmtree(repository.path, ignore_errors=True)
