"""``manage.py releases_rebuild``: a host that has a release's code but not its build (restored
from a backup, or a build that was interrupted) gets it built again by the real helper, in a
child process, before the first apply, which then serves it through real Caddy; a second run
is "unchanged"; a release whose code is missing, or whose build fails, is named."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from appliance.catalogue.models import Skill
from appliance.helper import releasedirs
from appliance.helper.tests.releasekit import APP, stage
from appliance.releases.models import Release
from skills.runtime.testing.process import free_port

from .test_skill_deploy import speech

pytestmark = pytest.mark.integration


def command(name: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def restored(paths, slug: str, live: int, kept: dict[int, str]) -> Skill:
    """A skill as a restore leaves it: its rows (built elsewhere), its releases' code where a
    deploy stages it (the backup's ``releases`` area), and nothing of them on this host."""
    skill = Skill.objects.create(slug=slug, name=slug.title(), port=free_port(),
                                 source_kind=Skill.SOURCE_RELEASE, release=live)
    for number, words in kept.items():
        Release.objects.create(skill=skill, number=number, kind=Release.ZIP,
                               zip_name=f"{slug}-{number}.zip", zip_sha256="ab" * 32,
                               outcome=Release.BUILT, message=f"{slug} serves release {number}",
                               log="== the deploy on the old host\n")
        imports, requirements = ("import tinytool\n", "tinytool==1.0\n") if number == live \
            else ("", None)
        said = f'{words!r} + " " + tinytool.greet()' if number == live else repr(words)
        stage(paths, slug, number, app=APP.format(imports=imports, speech=said),
              requirements=requirements)
    return skill


def test_a_restored_release_is_rebuilt_before_the_apply_serves_it_then_unchanged(release_host):
    paths = release_host.paths
    restored(paths, "quiz", 2, {1: "Release one", 2: "Release two"})
    # An earlier rebuild was interrupted: the folder without its marker.
    partial = Path(releasedirs.release_dir(paths, "quiz", 2))
    (partial / "code").mkdir(parents=True)
    (partial / "code" / "app.py").write_text("")

    with pytest.raises(CommandError, match="release 2 of quiz is not on this host"):
        command("apply")  # what a restored host did before: its first apply failed

    out, err = command("releases_rebuild")
    assert out == "changed: rebuilt quiz 2", (out, err)
    assert "Successfully installed tinytool-1.0" in err and "built release 2 of quiz" in err
    assert "a rollback to them needs releases_rebuild --kept): quiz 1" in err
    record = json.loads((partial / "release.json").read_text())
    assert (record["number"], record["requirements"]) == (2, ["tinytool==1.0"])
    assert not Path(releasedirs.release_dir(paths, "quiz", 1)).exists()  # not asked: --kept
    row = Release.objects.get(number=2)
    assert row.outcome == Release.BUILT and row.built_at is not None
    assert row.message.startswith("quiz serves release 2 Rebuilt on this host 20")
    assert row.log.startswith("== the deploy on the old host\n== rebuilding release 2 of quiz")
    assert "python -m skills check" in row.log

    assert command("releases_rebuild") == ("unchanged: every release is built",
                                           "kept releases this host has not built (a rollback "
                                           "to them needs releases_rebuild --kept): quiz 1\n")
    out, _ = command("apply")
    assert out.startswith("revision 2 applied"), out
    assert speech(release_host) == "Release two Hello from tinytool"

    # A rollback to a kept release the host has not built is told what to run.
    with pytest.raises(CommandError, match="release 1 of quiz is kept but not built on this "
                                           "host: manage\\.py releases_rebuild --kept"):
        command("skill_rollback", "quiz", "1")
    assert command("releases_rebuild", "--kept")[0] == "changed: rebuilt quiz 1"
    assert command("releases_rebuild", "--kept")[0] == "unchanged: every release is built"
    assert command("skill_rollback", "quiz", "1")[0].startswith(
        "changed: quiz serves release 1 again")
    assert speech(release_host) == "Release one"


def test_a_release_without_its_code_is_named_and_nothing_is_built(release_host):
    paths = release_host.paths
    restored(paths, "alpha", 1, {1: "Alpha"})
    restored(paths, "quiz", 3, {3: "Three"})
    lost = Path(paths.data_dir, "releases", "quiz", "3")
    shutil.rmtree(lost)
    with pytest.raises(CommandError) as raised:
        command("releases_rebuild")
    assert str(raised.value) == (
        f"the code of release 3 of quiz ({lost}) is missing, so it cannot be built again: "
        "deploy the skill again (or restore a backup that holds it); nothing was built")
    assert not Path(paths.releases_dir, "alpha").exists()


def test_a_build_that_fails_is_named_after_the_others_are_built(release_host):
    paths = release_host.paths
    restored(paths, "alpha", 1, {1: "Alpha"})
    restored(paths, "beta", 1, {1: "Beta"})
    Path(paths.data_dir, "releases", "beta", "1", "app.py").unlink()
    with pytest.raises(CommandError) as raised:
        command("releases_rebuild")
    assert str(raised.value) == (
        "not rebuilt: release 1 of beta: the code has no app.py at its top level (the module "
        "that defines the skill's Flask app) (rebuilt: alpha 1)")
    assert releasedirs.built(paths, "alpha", 1) and not releasedirs.built(paths, "beta", 1)
    beta = Release.objects.get(skill__slug="beta")
    assert (beta.outcome, beta.built_at) == (Release.BUILT, None)  # its code is still good
    assert "== the rebuild failed: the code has no app.py" in beta.log
    # Once the code is back, the next run builds what is left, and only that.
    Path(paths.data_dir, "releases", "beta", "1", "app.py").write_text(
        APP.format(imports="", speech='"Beta"'))
    assert command("releases_rebuild")[0] == "changed: rebuilt beta 1"
