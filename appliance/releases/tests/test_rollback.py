"""``manage.py skill_rollback``: a kept release serves again with its code, venv, environment, unit
and Caddy's route together (through real Caddy); the same release again is "unchanged"; a
release that failed or was pruned is refused in words, and nothing changes."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from appliance.catalogue.models import Skill
from appliance.releases.models import Release
from skills.runtime.testing.process import free_port

from .conftest import skill_files
from .test_skill_deploy import speech

pytestmark = pytest.mark.integration

SPEAKS = 'f"{VERSION} {os.environ.get(\'GREETING\')}"'


def version(repository, name: str) -> str:
    files = skill_files(speech=SPEAKS, imports=f"import os\n\nVERSION = {name!r}\n",
                        requirements="tinytool==1.0\n" if name == "v2" else "")
    return repository.commit(files, tag=name)


def command(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def test_a_rollback_brings_back_code_venv_environment_unit_and_route(release_host, repository,
                                                                     settings):
    settings.RELEASES_KEEP = 2
    Skill.objects.create(slug="quiz", name="Quiz", source_kind=Skill.SOURCE_RELEASE,
                         port=free_port(), environment={"GREETING": "one"})
    version(repository, "v1")
    command("skill_deploy", "quiz", "--git", repository.url, "--ref", "v1")
    Skill.objects.filter(slug="quiz").update(environment={"GREETING": "two"})
    version(repository, "v2")
    command("skill_deploy", "quiz", "--git", repository.url, "--ref", "v2")
    assert speech(release_host) == "v2 two"
    paths = release_host.paths
    script = release_host.on_disk(f"{paths.initd_dir}/alexa-skill-quiz")
    assert f"{paths.releases_dir}/quiz/2/venv/bin/python" in script.read_text()

    out = command("skill_rollback", "quiz", "1")
    assert out.startswith("changed: quiz serves release 1 again"), out
    assert speech(release_host) == "v1 one"
    skill = Skill.objects.get(slug="quiz")
    assert (skill.release, skill.environment) == (1, {"GREETING": "one"})
    assert f"{paths.releases_dir}/quiz/1/venv/bin/python" in script.read_text()
    assert command("skill_rollback", "quiz", "1").startswith(
        "unchanged: quiz already serves release 1")

    # Forward again: release 2's own environment comes back with it.
    assert command("skill_rollback", "quiz", "2").startswith("changed:")
    assert speech(release_host) == "v2 two"

    # Two kept: a third deploy prunes release 1, which then cannot be served again.
    repository.commit({"README.md": "three\n"}, tag="v3")
    command("skill_deploy", "quiz", "--git", repository.url, "--ref", "v3")
    assert sorted(Release.objects.values_list("number", flat=True)) == [2, 3]
    assert not release_host.on_disk(f"{paths.releases_dir}/quiz/1").exists()
    with pytest.raises(CommandError, match="release 1 of quiz is not kept; the releases to roll "
                                           "back to: 3, 2"):
        command("skill_rollback", "quiz", "1")
    assert Skill.objects.get(slug="quiz").release == 3


def test_a_release_that_failed_is_no_rollback_target(release_host, repository):
    version(repository, "v1")
    command("skill_deploy", "quiz", "--git", repository.url, "--ref", "v1")
    repository.commit({"app.py": None}, tag="broken")
    with pytest.raises(CommandError):
        command("skill_deploy", "quiz", "--git", repository.url, "--ref", "broken")
    with pytest.raises(CommandError, match="release 2 of quiz was never built"):
        command("skill_rollback", "quiz", "2")
    with pytest.raises(CommandError, match="there is no skill nope"):
        command("skill_rollback", "nope", "1")
    assert Skill.objects.get(slug="quiz").release == 1
