"""``release-build``: the real helper, in a child process, builds a release from staged code with a
local package index: its own venv, built as the skill's account (never root), the runtime from
the appliance, the requirements through the shared cache's account, sealed root's. Each kind of
bad input is refused with words, and leaves no release behind."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
from pathlib import Path

import pytest

from appliance.helper import releasedirs

from .releasekit import (
    APP,
    BUILD_USER,
    PIP_USER,
    helper,
    kept_index,
    release_host,
    release_layout,
    stage,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def module_folder():
    with kept_index("appliance-index-") as folder:
        yield folder


@pytest.fixture(scope="module")
def index(module_folder):
    return module_folder / "wheels"


@pytest.fixture
def host(module_folder):
    with release_host("appliance-release-", module_folder) as host:
        yield host


def owners(folder: str) -> set[tuple[int, int]]:
    found = set()
    for directory, names, files in os.walk(folder):
        for name in [*names, *files]:
            info = os.lstat(os.path.join(directory, name))
            found.add((info.st_uid, info.st_mode & 0o022 if not stat.S_ISLNK(info.st_mode)
                       else 0))
    return found


def test_a_release_gets_its_own_sealed_venv_built_as_the_skill_account(host):
    paths, layout = host
    stage(paths, "quiz", 1, files={"lib/helpers.py": "X = 1\n"})
    code, answer = helper(layout, "release-build", "quiz", "1")
    assert code == 0, answer
    release = Path(paths.releases_dir, "quiz", "1")
    record = json.loads((release / "release.json").read_text())
    assert record["requirements"] == ["tinytool==1.0"] and record["number"] == 1
    assert (release / "code/lib/helpers.py").read_text() == "X = 1\n"
    # Root's, and nobody else may write: the running skill cannot change its code.
    assert owners(str(release)) == {(0, 0)}
    skill_dir = Path(paths.releases_dir, "quiz")
    assert (skill_dir.stat().st_gid, stat.S_IMODE(skill_dir.stat().st_mode)) == (
        pwd.getpwnam(BUILD_USER).pw_gid, 0o750)

    # The release's interpreter sees its own requirement and the appliance's runtime, and
    # nothing else of the appliance's environment.
    python = str(release / "venv/bin/python")
    probe = subprocess.run([python, "-c", "import tinytool, flask, skills.runtime, sys; "
                            "import skills.serve, skills.runtime.x509chain, requests, certifi; "
                            "print(tinytool.greet(), flask.__version__)"],
                           capture_output=True, text=True, check=False)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith("Hello from tinytool 3.")
    django = subprocess.run([python, "-c", "import django"], capture_output=True, check=False)
    assert django.returncode != 0
    assert not (release / "venv/bin/pip").exists()

    # The shared cache is the pip account's alone; the log is the admin's to read.
    cache = Path(paths.cache_dir, "pip")
    assert (cache.stat().st_uid, stat.S_IMODE(cache.stat().st_mode)) == (
        pwd.getpwnam(PIP_USER).pw_uid, 0o700)
    log = Path(releasedirs.log_path(paths, "quiz", 1))
    assert stat.S_IMODE(log.stat().st_mode) == 0o640
    text = log.read_text()
    for step in (f"as {BUILD_USER}", f"as {PIP_USER}", "Successfully installed tinytool-1.0",
                 "python -m skills check", "built release 1 of quiz"):
        assert step in text, text
    assert not Path(paths.releases_dir, "fetch", "quiz-1").exists()


def test_requirements_the_runtime_has_are_met_by_it_and_no_requirements_is_fine(host):
    paths, layout = host
    stage(paths, "quiz", 1, requirements="flask>=3\n",
          app=APP.format(imports="", speech='"Hello"'))
    code, answer = helper(layout, "release-build", "quiz", "1")
    assert code == 0, answer
    assert "Requirement already satisfied: flask>=3" in Path(
        releasedirs.log_path(paths, "quiz", 1)).read_text()
    stage(paths, "quiz", 2, requirements=None,
          app=APP.format(imports="", speech='"Hello"'))
    code, answer = helper(layout, "release-build", "quiz", "2")
    assert code == 0, answer
    assert "nothing to install" in Path(releasedirs.log_path(paths, "quiz", 2)).read_text()


@pytest.mark.parametrize(("options", "files", "words"), [
    ({"app": ""}, {}, "no app.py at its top level"),
    ({"requirements": "nosuchpackage==1.0\n"}, {},
     "a requirement did not install: ERROR: "),
    ({"requirements": "flask==2.0.0\n"}, {},
     "conflicts with the appliance's skill runtime, which needs flask==3."),
    ({"requirements": "needsflask==1.0\n"}, {},
     "conflicts with the appliance's skill runtime"),
    ({"requirements": "--index-url https://evil.example/simple\n"}, {},
     "requirements.txt line 1: the pip option --index-url is not taken"),
    ({"requirements": "tinytool @ https://evil.example/t.whl\n"}, {},
     "packages come from the package index, not from URLs"),
    ({"app": APP.format(imports="", speech='"Hi"').replace("app = Flask", "other = Flask")}, {},
     "the skill does not import: "),
    ({"app": "import no_such_module_here\n"}, {}, "No module named 'no_such_module_here'"),
])
def test_bad_input_is_told_and_leaves_no_release(host, options, files, words):
    paths, layout = host
    stage(paths, "quiz", 1, files=files, **options)
    code, answer = helper(layout, "release-build", "quiz", "1")
    assert code == 1 and words in answer["message"], answer
    assert not Path(paths.releases_dir, "quiz", "1").exists()
    assert "the build failed" in Path(releasedirs.log_path(paths, "quiz", 1)).read_text()


def test_the_app_must_define_an_app_named_app(host):
    paths, layout = host
    stage(paths, "quiz", 1, app=APP.format(imports="", speech='"Hi"').replace(
        "app = Flask(__name__)\nask = Ask(app", "other = Flask(__name__)\nask = Ask(other"))
    code, answer = helper(layout, "release-build", "quiz", "1")
    assert code == 1 and "defines no Flask `app`" in answer["message"], answer


def test_a_link_in_the_fetched_code_is_refused(host):
    paths, layout = host
    folder = stage(paths, "quiz", 1)
    (folder / "secrets.txt").symlink_to("/etc/shadow")
    code, answer = helper(layout, "release-build", "quiz", "1")
    assert code == 1 and "symbolic link, secrets.txt" in answer["message"], answer
    assert not Path(paths.releases_dir, "quiz", "1").exists()


def test_root_never_builds(host, index):
    paths, layout = host
    root = Path(paths.releases_dir).parents[2]
    release_layout(root, index, build_user="root")
    stage(paths, "quiz", 1)
    code, answer = helper(layout, "release-build", "quiz", "1")
    assert code == 1 and "never built as root" in answer["message"]


@pytest.mark.parametrize("argv", [
    ("release-build",), ("release-build", "quiz"), ("release-build", "../x", "1"),
    ("release-build", "quiz", "0"), ("release-build", "quiz", "1/../2"),
    ("release-prune",), ("release-prune", "quiz", "x"), ("release-nothing", "quiz"),
])
def test_refused_arguments(host, argv):
    _, layout = host
    code, answer = helper(layout, *argv)
    assert (code, answer.get("refused")) == (2, True), answer


def test_prune_keeps_what_it_is_told_and_what_runs(host):
    paths, layout = host
    for number in (1, 2, 3):
        stage(paths, "quiz", number, requirements=None,
              app=APP.format(imports="", speech='"Hi"'))
        assert helper(layout, "release-build", "quiz", str(number))[0] == 0
    script = Path(paths.initd_dir, "alexa-skill-quiz")
    script.parent.mkdir(parents=True)
    script.write_text(f"DAEMON={paths.releases_dir}/quiz/1/venv/bin/python\n")
    code, answer = helper(layout, "release-prune", "quiz", "3")
    assert (code, answer["removed"]) == (0, [2]), answer
    assert sorted(p.name for p in Path(paths.releases_dir, "quiz").iterdir()
                  if not p.name.startswith(".")) == ["1", "3"]
    assert not Path(releasedirs.log_path(paths, "quiz", 2)).exists()


def test_prune_with_nothing_to_keep_removes_a_removed_skill_s_folders(host):
    paths, layout = host
    for number in (1, 2):
        folder = Path(releasedirs.release_dir(paths, "quiz", number))
        (folder / "code").mkdir(parents=True)
        log = Path(releasedirs.log_path(paths, "quiz", number))
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("built\n")
    Path(releasedirs.release_dir(paths, "other", 1)).mkdir(parents=True)
    code, answer = helper(layout, "release-prune", "quiz")
    assert (code, answer["removed"]) == (0, [1, 2]), answer
    assert not Path(paths.releases_dir, "quiz").exists()
    assert not Path(releasedirs.log_path(paths, "quiz", 1)).parent.exists()
    assert Path(releasedirs.release_dir(paths, "other", 1)).is_dir()

    # One the installed service still runs stays, and so does its folder.
    Path(releasedirs.release_dir(paths, "other", 2)).mkdir()
    script = Path(paths.initd_dir, "alexa-skill-other")
    script.parent.mkdir(parents=True)
    script.write_text(f"DAEMON={paths.releases_dir}/other/1/venv/bin/python\n")
    code, answer = helper(layout, "release-prune", "other")
    assert (code, answer["removed"]) == (0, [2]), answer
    assert Path(releasedirs.release_dir(paths, "other", 1)).is_dir()
