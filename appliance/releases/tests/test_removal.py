"""A removed skill's releases go once the apply that removes it is kept: root's release folders
(code, venv, build logs) through the real helper and the admin's staged copies; a skill added
again under the same name before that apply keeps them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from appliance.catalogue.models import Revision
from appliance.helper import releasedirs

from .conftest import skill_files

pytestmark = pytest.mark.integration


def command(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def test_a_removed_skill_s_releases_go_with_the_apply_that_removes_it(release_host, tmp_path):
    paths = release_host.paths
    upload = tmp_path / "quiz.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        for name, text in skill_files(speech='"Hi"', imports="", requirements="").items():
            archive.writestr(name, text)
    assert command("skill_deploy", "quiz", "--zip", str(upload)).startswith("changed:")
    built = Path(releasedirs.release_dir(paths, "quiz", 1))
    staged = Path(paths.data_dir, "releases", "quiz")
    assert built.is_dir() and (staged / "1" / "app.py").is_file()

    # Added again before the apply: the name's releases are kept for it.
    command("skill_remove", "quiz")
    command("skill_add", "quiz", "--releases")
    command("apply")
    assert built.is_dir() and staged.is_dir()

    command("skill_remove", "quiz")
    assert built.is_dir()  # nothing happens before the apply
    out = command("apply")
    assert "removed the releases of quiz (removed): 1" in out, out
    assert not Path(paths.releases_dir, "quiz").exists() and not staged.exists()
    assert not Path(releasedirs.log_path(paths, "quiz", 1)).parent.exists()
    assert Revision.objects.order_by("-number").first().outcome == Revision.APPLIED
