"""The Memory Game as a Lambda package, its handler run the way Lambda runs it: a fresh
interpreter that sees only the unpacked zip, one event per invocation, warm in between.

Lambda hands the handler the request envelope itself (Alexa's trigger, allowed for one skill ID
by the function's permission): there is no HTTP request and no signature to check, so the
envelopes here are the ones the signing test client builds, without the headers, and the
handler's own check is the skill ID.
"""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest

from skills.lambda_deploy.package import PackageError, build_package, code_sha256, collect
from skills.runtime.testing import SkillClient, builders
from skills.runtime.testing.client import Reply
from tests.lambdahandler import LocalLambda, unpack
from tests.motoserver import moto  # noqa: F401 (a fixture)

from .conftest import MEMORY_GAME

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def lambda_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("lambda-requirements")


@pytest.fixture(scope="module")
def package(lambda_cache):
    return build_package(MEMORY_GAME, cache_dir=lambda_cache)


class LambdaAlexa(SkillClient):
    """The test client's sessions, delivered as Lambda events instead of signed HTTP posts."""

    def send(self, request: dict, **options) -> Reply:
        result = self.target.invoke(self.envelope(request, **options))
        if "error" in result:
            return Reply(500, result["error"].encode())
        reply = Reply(200, b"", result["answer"])
        self.attributes = reply.attributes
        if reply.ends_session:
            self.session_id = None
        return reply


@pytest.fixture
def handler(package, tmp_path):
    code = unpack(package, tmp_path)
    with LocalLambda(code, {"ASK_APPLICATION_ID": builders.APPLICATION_ID}) as process:
        yield process


def test_an_unchanged_skill_packs_to_identical_bytes(package, lambda_cache):
    assert build_package(MEMORY_GAME, cache_dir=lambda_cache) == package


def test_a_changed_template_changes_the_code_hash(package, lambda_cache, skill_copy):
    templates = skill_copy / "templates.yaml"
    templates.write_text(templates.read_text().replace("Welcome", "Hello"))
    changed = build_package(skill_copy, cache_dir=lambda_cache)
    assert code_sha256(changed) != code_sha256(package)


def test_the_package_holds_the_skill_runtime_and_handler_but_not_the_admin(package):
    names = set(zipfile.ZipFile(BytesIO(package)).namelist())
    assert {"lambda_function.py", "skill/app.py", "skill/templates.yaml",
            "skill/skill-package/skill.json", "skills/runtime/core.py", "skills/loader.py",
            "flask/__init__.py", "yaml/__init__.py"} <= names
    assert not [n for n in names if n.startswith(("appliance/", "skills/runtime/testing/",
                                                  "skills/memory_game/", "boto3/"))]
    assert not [n for n in names if n.endswith(".pyc")]
    # Lambda runs the code as another user: every file must be readable by all.
    infos = zipfile.ZipFile(BytesIO(package)).infolist()
    assert {info.external_attr >> 16 & 0o444 for info in infos} == {0o444}
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_the_packaged_handler_plays_a_whole_game_on_its_own(handler):
    alexa = LambdaAlexa(handler, pki=None)
    welcome = alexa.launch()
    assert welcome.speech.startswith("Welcome to memory game"), welcome.body
    assert welcome.card["title"] == "Memory Game"
    round_ = alexa.intent("AMAZON.YesIntent")
    shown = round_.attributes["shown"]
    assert round_.ends_session is False
    said = dict(zip(("first", "second", "third"), reversed(shown), strict=True))
    won = alexa.intent("AnswerIntent", {name: str(n) for name, n in said.items()})
    assert won.speech == "Good job!"
    assert won.ends_session is True


def test_the_handler_refuses_a_request_for_another_skill(handler):
    alexa = LambdaAlexa(handler, pki=None, application_id="amzn1.ask.skill.someone-else")
    refused = alexa.launch()
    assert refused.status == 500
    assert b"VerificationError" in refused.body and b"not served here" in refused.body


def test_the_handler_reads_the_skills_secrets_from_ssm_at_cold_start(package, tmp_path,
                                                                     moto):  # noqa: F811
    # A tiny skill in place of the Memory Game that says its secret.
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/alexa-appliance/quiz/API_KEY", Value="s3cret",
                      Type="SecureString")
    code = unpack(package, tmp_path)
    (code / "skill" / "app.py").write_text(
        "import os\nfrom flask import Flask\nfrom skills.runtime import Ask, statement\n"
        "app = Flask(__name__)\nask = Ask(app, '/')\n\n@ask.launch\n"
        "def hello():\n    return statement(os.environ.get('API_KEY', 'none'))\n")
    env = {**moto.env(), "APPLIANCE_SECRETS_PATH": "/alexa-appliance/quiz"}
    # Not isolated: boto3 comes with Lambda's runtime, not in the package.
    with LocalLambda(code, env, isolated=False) as process:
        answer = LambdaAlexa(process, pki=None).launch()
    assert answer.speech == "s3cret"


def test_the_image_context_holds_the_zips_files_and_replaces_only_its_own_folder(lambda_cache,
                                                                                 tmp_path):
    contents = collect(MEMORY_GAME, cache_dir=lambda_cache)
    context = contents.write_image_context(tmp_path / "image", "memory-game")
    files = {p.relative_to(context / "package").as_posix()
             for p in (context / "package").rglob("*") if p.is_file()}
    assert files == set(zipfile.ZipFile(BytesIO(contents.zip())).namelist())
    assert contents.unzipped_size == sum(
        (context / "package" / name).stat().st_size for name in files)
    dockerfile = (context / "Dockerfile").read_text()
    assert 'CMD ["lambda_function.handler"]' in dockerfile

    (context / "package" / "stale.txt").write_text("from an older build")
    assert contents.write_image_context(context, "memory-game") == context  # rewritten whole
    assert not (context / "package" / "stale.txt").exists()

    someone_elses = tmp_path / "photos"
    someone_elses.mkdir()
    (someone_elses / "cat.jpg").write_bytes(b"...")
    with pytest.raises(PackageError, match="is not a build context written here"):
        contents.write_image_context(someone_elses, "memory-game")
    assert (someone_elses / "cat.jpg").exists()
