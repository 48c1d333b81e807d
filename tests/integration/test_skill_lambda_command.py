"""``manage.py skill_lambda``: the Memory Game moved to Lambda (moto_server) and back, its
changed/unchanged output, the host's service left out while it runs there, and the refusals."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appliance.catalogue.models import Skill
from appliance.catalogue.snapshot import build_catalogue
from appliance.render.layout import Paths
from tests.fakesmapi import SKILL_ID, FakeSmapi
from tests.motoserver import moto  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
SMAPI = FakeSmapi()


def smapi_factory():
    return SMAPI


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")  # the requirements cache, kept between tests


@pytest.fixture
def aws(moto, monkeypatch, settings, data_dir):  # noqa: F811
    global SMAPI
    moto.reset()
    SMAPI = FakeSmapi()
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)
    settings.APPLIANCE_SMAPI_FACTORY = f"{__name__}.smapi_factory"
    settings.APPLIANCE_DATA_DIR = data_dir
    return moto


@pytest.fixture
def skill():
    return Skill.objects.create(slug="memory-game", name="Memory Game", source="memory_game",
                                port=8101, application_ids=SKILL_ID)


def run(*args) -> list[str]:
    out = StringIO()
    call_command("skill_lambda", *args, stdout=out)
    return out.getvalue().splitlines()


def on_host(slug: str) -> bool:
    return {s.slug: s.enabled for s in build_catalogue(Paths()).skills}[slug]


def test_moving_to_lambda_and_back(aws, skill):
    first = run("memory-game", "--memory", "512", "--timeout", "10")
    assert first[0] == "changed: skill memory-game on AWS Lambda"
    assert "  created function alexa-skill-memory-game" in first
    skill.refresh_from_db()
    assert (skill.runs_on, skill.lambda_memory, skill.lambda_timeout) == ("lambda", 512, 10)
    config = aws.client("lambda").get_function_configuration(FunctionName=skill.lambda_arn)
    assert (config["MemorySize"], config["Timeout"]) == (512, 10)
    assert SMAPI.endpoint() == {"uri": skill.lambda_arn}
    assert not on_host("memory-game")

    assert run("memory-game") == ["unchanged: skill memory-game on AWS Lambda"]

    back = run("memory-game", "--back")
    assert back[0] == "changed: skill memory-game on the host"
    assert SMAPI.endpoint() == {"uri": "https://memory-game.localhost/",
                                "sslCertificateType": "SelfSigned"}
    assert on_host("memory-game")
    assert run("memory-game", "--back") == ["unchanged: skill memory-game on the host"]


def test_a_skill_without_a_skill_id_is_refused(aws, skill):
    skill.application_ids = ""
    skill.save()
    with pytest.raises(CommandError, match=r"refused: .*no skill ID: the Alexa trigger"):
        run("memory-game")
    assert aws.client("lambda").list_functions()["Functions"] == []
    skill.refresh_from_db()
    assert skill.runs_on == "host"


def test_no_aws_region_is_a_clear_error(aws, skill, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(CommandError, match="refused: no AWS region: set AWS_REGION"):
        run("memory-game")


def test_out_of_range_settings_are_refused_before_anything(skill):
    with pytest.raises(CommandError, match="--memory: Lambda takes 128 to 10240 MB"):
        run("memory-game", "--memory", "64")
    with pytest.raises(CommandError, match="there is no skill 'nope'"):
        run("nope")
