"""``manage.py skill_deploy``: a skill's code from a git repository made here (a commit, a tag) or a
zip, built by the real helper with a local package index, live through real Caddy; the same code
again is "unchanged"; each kind of bad input is told in words and the live release keeps
serving, untouched."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from appliance.catalogue.models import Skill
from appliance.console.ca import ConsoleCA
from appliance.deploy.health import get_through_caddy
from appliance.releases.models import Release
from skills.runtime.testing.builders import envelope, launch_request

from .conftest import skill_files

pytestmark = pytest.mark.integration


def deploy(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("skill_deploy", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def speech(host, fqdn: str = "quiz.localhost") -> str:
    """What the skill says to a LaunchRequest signed by the test console's CA, through Caddy."""
    body = json.dumps(envelope(launch_request())).encode()
    headers = {"Content-Type": "application/json", **ConsoleCA.load_or_create().sign(body)}
    status, answer = get_through_caddy(fqdn, host.https_port, "/", method="POST", body=body,
                                       headers=headers)
    assert status == 200, answer
    return json.loads(answer)["response"]["outputSpeech"]["text"]


def test_a_tagged_commit_is_built_and_served_and_the_same_code_again_is_unchanged(
        release_host, repository):
    commit = repository.commit(skill_files(), tag="v1")
    out, err = deploy("quiz", "--git", repository.url, "--ref", "v1")
    assert out.startswith("changed: quiz serves release 1 "), (out, err)
    assert "Successfully installed tinytool-1.0" in err and "built release 1 of quiz" in err
    skill = Skill.objects.get(slug="quiz")
    assert (skill.source_kind, skill.release) == (Skill.SOURCE_RELEASE, 1)
    release = skill.releases.get(number=1)
    assert (release.outcome, release.commit, release.git_ref) == (Release.BUILT, commit, "v1")
    assert release.built_at and release.finished_at and "python -m skills check" in release.log
    assert speech(release_host) == "Hello from tinytool"

    out, _ = deploy("quiz", "--git", repository.url, "--ref", "main")
    assert out.startswith("unchanged: quiz already serves this code as release 1"), out
    assert Skill.objects.get(slug="quiz").release == 1

    repository.commit(skill_files(speech='"Version two"', imports="", requirements=""))
    out, _ = deploy("quiz", "--git", repository.url)
    assert out.startswith("changed: quiz serves release 3 "), out
    assert speech(release_host) == "Version two"


def test_a_zip_is_deployed_from_its_one_folder(release_host, tmp_path):
    upload = tmp_path / "quiz-main.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        for name, text in skill_files(speech='"From a zip"', imports="",
                                      requirements="").items():
            archive.writestr(f"quiz-main/{name}", text)
    out, _ = deploy("quiz", "--zip", str(upload))
    assert out.startswith("changed: quiz serves release 1 (quiz-main.zip (sha256 "), out
    assert speech(release_host) == "From a zip"
    assert len(Release.objects.get(number=1).zip_sha256) == 64


BAD = {
    "unreachable": (lambda repo: ["--git", "file:///nonexistent/repository.git"],
                    "Cannot fetch file:///nonexistent/repository.git: "),
    "no such ref": (lambda repo: ["--git", repo.url, "--ref", "v9"],
                    "The repository has no branch, tag or commit named 'v9'."),
    "no app.py": (lambda repo: ["--git", repo.url, "--ref", "no-app"],
                  "There is no app.py at the top level"),
    "does not install": (lambda repo: ["--git", repo.url, "--ref", "bad-requirement"],
                         "a requirement did not install: ERROR: "),
    "no app": (lambda repo: ["--git", repo.url, "--ref", "no-flask-app"],
               "the skill does not import: "),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_told_and_the_live_release_keeps_serving(release_host, repository, case):
    repository.commit(skill_files(), tag="v1")
    assert deploy("quiz", "--git", repository.url, "--ref", "v1")[0].startswith("changed:")
    pid = release_host.pid("alexa-skill-quiz")
    repository.commit({"app.py": None}, tag="no-app")
    repository.commit(skill_files(requirements="nosuchpackage==1.0\n"), tag="bad-requirement")
    repository.commit({"app.py": "from flask import Flask\n\nnot_the_app = Flask(__name__)\n",
                       "requirements.txt": ""}, tag="no-flask-app")

    arguments, words = BAD[case]
    with pytest.raises(CommandError) as caught:
        deploy("quiz", *arguments(repository))
    assert words in str(caught.value), str(caught.value)
    skill = Skill.objects.get(slug="quiz")
    assert skill.release == 1
    failed = skill.releases.order_by("-number").first()
    assert (failed.number, failed.outcome) == (2, Release.FAILED)
    assert words in failed.message and words in failed.log
    assert release_host.pid("alexa-skill-quiz") == pid  # untouched, still serving
    assert speech(release_host) == "Hello from tinytool"


@pytest.mark.parametrize(("arguments", "words"), [
    (["--git", "http://example.org/x.git"], "is not an https:// or ssh:// repository URL"),
    (["--git", "https://user:token@example.org/x.git"], "The URL holds credentials"),
    (["--git", "ext::sh -c touch% /tmp/pwned"], "one line without spaces"),
    (["--git", "https://example.org/x.git", "--ref=--upload-pack=touch"],
     "is not a branch, tag or commit name"),
    ([], "give --git URL [--ref REF] or --zip FILE"),
    (["--zip", "/nonexistent.zip"], "no such file"),
])
def test_a_source_that_cannot_be_fetched_is_refused_before_anything_is_recorded(
        release_host, arguments, words):
    with pytest.raises(CommandError, match=words.replace("[", r"\[").replace("]", r"\]")):
        deploy("quiz", *arguments)
    assert not Release.objects.exists()
