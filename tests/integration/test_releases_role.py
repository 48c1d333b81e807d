"""The appliance role builds again the releases a restored host lacks, after the migrations and
before its first apply, on every run: its task runs the admin's real ``releases_rebuild``
through ``appliance-manage`` (here a wrapper running manage.py as root would, on a throwaway
host whose releases build as ``nobody`` from a local package index), changed when it built one
and ok when there was nothing to build; ansible-lint's production profile passes it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from appliance.helper import releasedirs
from appliance.helper.tests.releasekit import (
    BUILD_USER,
    PIP_USER,
    RELEASE_PYTHON,
    open_folder,
    stage,
    wheelhouse,
)
from appliance.render.layout import paths_under, write_layout

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "roles" / "appliance" / "tasks"


def names(tasks: list[dict]) -> list[str]:
    """Each task's imported or included file, else its name."""
    return [task.get("ansible.builtin.import_tasks") or task.get("ansible.builtin.include_tasks")
            or task["name"] for task in tasks]


def test_the_rebuild_comes_after_the_migrations_and_before_the_first_apply():
    main = names(yaml.safe_load((TASKS / "main.yml").read_text()))
    configure = names(yaml.safe_load((TASKS / "configure.yml").read_text()))
    assert "Migrate the admin's database" in configure
    assert configure.index("restore.yml") < configure.index("Migrate the admin's database")
    assert main.index("configure.yml") < main.index("releases.yml") < main.index("apply.yml")
    task, = yaml.safe_load((TASKS / "releases.yml").read_text())
    assert "when" not in task  # every run: a host whose build was interrupted comes back too


def test_ansible_lint_s_production_profile_passes_the_task():
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-lint"), "--profile", "production",
         "--nocolor", str(TASKS / "releases.yml"), str(TASKS / "main.yml")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Profile 'production' was required, and it passed" in done.stdout + done.stderr


@pytest.fixture
def host():
    """A throwaway host, its migrated catalogue, and an appliance-manage running manage.py
    against it as root would."""
    root = open_folder("appliance-role-rebuild-")
    paths = paths_under(root, venv=sys.prefix)
    write_layout(root / "layout.json", paths, init_flavour="sysv", skill_user="root",
                 admin_user="root", build_user=BUILD_USER, pip_user=PIP_USER,
                 release_python=RELEASE_PYTHON, pip_no_index=True,
                 pip_find_links=[str(wheelhouse(root / "wheels"))])
    env = {"DJANGO_SETTINGS_MODULE": "appliance.settings", "SECRET_KEY": "role-test-" + "x" * 40,
           "DATABASE_URL": f"sqlite:///{root}/admin.sqlite3", "APPLIANCE_ROOT": str(root),
           "APPLIANCE_DATA_DIR": paths.data_dir, "APPLIANCE_LAYOUT": str(root / "layout.json"),
           "APPLIANCE_HELPER": "direct"}
    manage = root / "appliance-manage"
    manage.write_text("#!/bin/sh\n" + "".join(f"export {k}='{v}'\n" for k, v in env.items())
                      + f"exec {sys.executable} {ROOT}/manage.py \"$@\"\n")
    manage.chmod(0o755)
    subprocess.run([str(manage), "migrate", "-v", "0"], check=True, cwd=ROOT, timeout=300)
    try:
        yield paths, manage
    finally:
        shutil.rmtree(root, ignore_errors=True)


def restore_quiz(manage: Path, paths) -> None:
    """What a restore leaves: the catalogue runs quiz's release 1, whose code is staged where a
    deploy puts it, and this host has no build of it."""
    subprocess.run([str(manage), "skill_add", "quiz", "--releases"], check=True, cwd=ROOT,
                   timeout=120, capture_output=True)
    subprocess.run([str(manage), "shell", "-c",
                    "from appliance.catalogue.models import Skill; "
                    "from appliance.releases.models import Release; "
                    "skill = Skill.objects.get(slug='quiz'); skill.release = 1; skill.save(); "
                    "Release.objects.create(skill=skill, number=1, kind='zip', "
                    "zip_name='quiz.zip', outcome='built')"],
                   check=True, cwd=ROOT, timeout=120, capture_output=True)
    stage(paths, "quiz", 1)


def play(tmp_path: Path, manage: Path) -> subprocess.CompletedProcess:
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars": {"ansible_python_interpreter": sys.executable},
        "tasks": [{"name": "Rebuild", "ansible.builtin.include_role": {
            "name": "appliance", "tasks_from": "releases"}}]}]))
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"appliance_manage": str(manage)}))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
         str(playbook), "-e", f"@{variables}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


def test_the_task_rebuilds_a_restored_release_then_changes_nothing(host, tmp_path):
    paths, manage = host
    nothing = play(tmp_path, manage)  # a new host: no release to build
    assert nothing.returncode == 0 and "changed=0" in nothing.stdout, nothing.stdout

    restore_quiz(manage, paths)
    first = play(tmp_path, manage)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "changed: [localhost]" in first.stdout and "changed=1" in first.stdout, first.stdout
    assert releasedirs.built(paths, "quiz", 1)

    again = play(tmp_path, manage)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout


def test_a_release_whose_code_is_gone_stops_the_play_naming_it(host, tmp_path):
    paths, manage = host
    restore_quiz(manage, paths)
    shutil.rmtree(Path(paths.data_dir, "releases", "quiz", "1"))
    done = play(tmp_path, manage)
    assert done.returncode != 0
    assert "the code of release 1 of quiz" in done.stdout and "is missing" in done.stdout, \
        done.stdout
