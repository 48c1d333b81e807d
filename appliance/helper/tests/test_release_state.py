"""``release-state SLUG``: the real helper, in a child process, says which of a skill's releases
are complete on this host (root's marker), which a build left unfinished, and which the
installed service runs; it only reads, and refuses any argument outside the allow-list."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

import pytest

from .releasekit import BUILD_USER, helper, open_folder, release_layout

pytestmark = pytest.mark.integration


@pytest.fixture
def host():
    root = open_folder("appliance-release-state-")
    paths, layout = release_layout(root, root / "no-index")
    yield paths, layout
    shutil.rmtree(root, ignore_errors=True)


def release(paths, slug: str, number: int, *, marker_owner: str | None = "root") -> Path:
    folder = Path(paths.releases_dir, slug, str(number))
    (folder / "code").mkdir(parents=True)
    (folder / "code/app.py").write_text("")
    if marker_owner:
        marker = folder / "release.json"
        marker.write_text("{}")
        user = pwd.getpwnam(marker_owner)
        os.chown(marker, user.pw_uid, user.pw_gid)
    return folder


def test_a_skill_without_releases_has_none_and_nothing_is_made(host):
    paths, layout = host
    code, answer = helper(layout, "release-state", "quiz")
    assert code == 0, answer
    assert (answer["built"], answer["incomplete"], answer["in_use"]) == ([], [], [])
    assert answer["message"] == "quiz's releases built on this host: none"
    assert not Path(paths.releases_dir).exists()


def test_complete_unfinished_and_running_releases_are_told_apart(host):
    paths, layout = host
    release(paths, "quiz", 1)
    release(paths, "quiz", 3)
    release(paths, "quiz", 4, marker_owner=None)  # a build that died, or restored code
    release(paths, "quiz", 12, marker_owner=BUILD_USER)  # only root's marker counts
    release(paths, "other", 2)
    Path(paths.releases_dir, "quiz", "notes").mkdir()
    script = Path(paths.initd_dir, "alexa-skill-quiz")
    script.parent.mkdir(parents=True)
    script.write_text(f"DAEMON={paths.releases_dir}/quiz/3/venv/bin/python\n")
    code, answer = helper(layout, "release-state", "quiz")
    assert code == 0, answer
    assert (answer["built"], answer["incomplete"], answer["in_use"]) == ([1, 3], [4, 12], [3])
    assert answer["message"] == "quiz's releases built on this host: 1, 3"
    assert sorted(p.name for p in Path(paths.releases_dir, "quiz").iterdir()) == [
        "1", "12", "3", "4", "notes"]  # read only: no lock, nothing removed


@pytest.mark.parametrize("argv", [
    ("release-state",), ("release-state", "quiz", "3"), ("release-state", "../quiz"),
    ("release-state", "Quiz"), ("release-state", "a" * 27),
])
def test_refused_arguments(host, argv):
    _, layout = host
    code, answer = helper(layout, *argv)
    assert (code, answer.get("refused")) == (2, True), answer
