"""The admin and the conversation skill: why it is not configured, and the test console's turns."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from appliance.catalogue.interaction import match_utterance
from appliance.catalogue.models import Skill
from appliance.console import hoststatus, services, skillchecks
from appliance.console.forms import TurnForm

pytestmark = pytest.mark.unit

MODEL = (Path(__file__).resolve().parents[2] / "skills" / "conversation" / "skill-package" /
         "interactionModels" / "custom" / "en-US.json").read_text()
READY = {"BEDROCK_REGION": "us-west-2"}


@pytest.fixture
def host_credentials(monkeypatch):
    """What boto3's chain finds on the host: set ``.value`` (None: nothing)."""
    class Found:
        value: str | None = "iam-role"

    monkeypatch.setattr(skillchecks, "host_credentials", lambda: Found.value)
    return Found


def test_ready_with_a_region_and_the_instance_profile(host_credentials):
    assert skillchecks.conversation_problems(READY, set()) == []


def test_ready_with_keys_as_secrets_whatever_the_host_has(host_credentials):
    host_credentials.value = None
    secrets = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert skillchecks.conversation_problems({"AWS_REGION": "eu-west-3"}, secrets) == []


@pytest.mark.parametrize("environment, secrets, host, why", [
    ({}, set(), "iam-role", "no AWS region"),
    ({"BEDROCK_REGION": "  "}, set(), "iam-role", "no AWS region"),
    ({**READY, "BEDROCK_MODEL_ID": "my model"}, set(), "iam-role", "is not a Bedrock model ID"),
    (READY, {"AWS_ACCESS_KEY_ID"}, "iam-role", "only one of AWS_ACCESS_KEY_ID"),
    (READY, set(), None, "no AWS credentials"),
    (READY, set(), "shared-credentials-file", "found only for the admin"),
    (READY, set(), "env", "found only for the admin"),
    ({**READY, "PROMPT_TEMPLATE_S3_URI": "https://b/k"}, set(), "iam-role", "not s3://"),
])
def test_each_reason_is_said(host_credentials, environment, secrets, host, why):
    host_credentials.value = host
    [problem] = skillchecks.conversation_problems(environment, secrets)
    assert why in problem


@pytest.mark.parametrize("model_id", ["mistral.mistral-7b-instruct-v0:2",
                                      "us.anthropic.claude-3-haiku-20240307-v1:0",
                                      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                                      "us.meta.llama3-2-1b-instruct-v1:0"])
def test_model_ids_that_are_fine(host_credentials, model_id):
    assert skillchecks.conversation_problems({**READY, "BEDROCK_MODEL_ID": model_id}, set()) == []


def test_only_the_conversation_skill_is_checked(host_credentials):
    host_credentials.value = None
    assert skillchecks.problems(Skill(slug="memory-game", source="memory_game")) == []
    assert skillchecks.problems(Skill(slug="mine", source="conversation",
                                      source_kind=Skill.SOURCE_UPLOADED)) == []
    assert skillchecks.problems(Skill(slug="chat", source="conversation"))


def test_the_host_lookup_is_cached_and_names_only_the_source(monkeypatch):
    import botocore.session

    calls = []
    real = botocore.session.get_session

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(botocore.session, "get_session", counting)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASECRETVALUE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret")
    skillchecks.forget_host_credentials()
    try:
        assert skillchecks.host_credentials() == "env"
        assert skillchecks.host_credentials() == "env"
        assert len(calls) == 1
    finally:
        skillchecks.forget_host_credentials()


@pytest.fixture
def dashboard(admin_client, monkeypatch, host_credentials):
    monkeypatch.setattr(services, "host_states", lambda: None)
    monkeypatch.setattr(hoststatus, "certificates", lambda fqdns, port: {})
    return lambda: admin_client.get(reverse("console:dashboard")).content.decode()


@pytest.mark.django_db
def test_the_dashboard_says_why_the_conversation_skill_is_not_configured(dashboard,
                                                                         host_credentials):
    host_credentials.value = None
    Skill.objects.create(slug="conversation", name="Conversation", source="conversation",
                         port=8110, enabled=False, secrets={"AWS_ACCESS_KEY_ID": "AKIAHIDDEN"})
    Skill.objects.create(slug="memory-game", name="Memory Game", source="memory_game",
                         port=8111)
    page = dashboard()
    assert page.count("Not configured yet") == 1
    assert "no AWS region" in page and "only one of AWS_ACCESS_KEY_ID" in page
    assert "AKIAHIDDEN" not in page


@pytest.mark.django_db
def test_a_configured_conversation_skill_shows_nothing(dashboard):
    Skill.objects.create(slug="conversation", name="Conversation", source="conversation",
                         port=8110, environment=READY)
    assert "Not configured yet" not in dashboard()


# The test console ---------------------------------------------------------------------------

@pytest.mark.parametrize("typed, intent, slots", [
    ("Why is the sky blue?", "ChatIntent", {"utterance": "why is the sky blue"}),
    ("I have to go to the dentist tomorrow", "ChatIntent",
     {"utterance": "i have to go to the dentist tomorrow"}),
    ("how do I stop a leaking tap", "ChatIntent", {"utterance": "how do i stop a leaking tap"}),
    ("stop", "AMAZON.StopIntent", {}),
    ("help", "AMAZON.HelpIntent", {}),
    ("yes", "AMAZON.YesIntent", {}),
])
def test_typed_text_reaches_the_catch_all_and_built_ins_keep_theirs(typed, intent, slots):
    assert match_utterance(MODEL, typed) == (intent, slots)


def test_the_console_builds_the_chat_turn_from_typed_text():
    skill = Skill(slug="conversation", source="conversation", enabled=True, test_console=True)
    form = TurnForm({"action": "utterance", "utterance": "tell me a joke"}, skill=skill,
                    model_text=MODEL)
    assert form.is_valid(), form.errors
    slot = form.cleaned_data["request"]["intent"]["slots"]["utterance"]
    assert slot["value"] == "tell me a joke"


def test_the_console_can_fill_the_slot_by_hand():
    skill = Skill(slug="conversation", source="conversation", enabled=True, test_console=True)
    field = TurnForm.slot_field("ChatIntent", "utterance")
    form = TurnForm({"action": "intent", "intent": "ChatIntent", field: "I prefer to stop"},
                    skill=skill, model_text=MODEL)
    assert form.is_valid(), form.errors
    slot = form.cleaned_data["request"]["intent"]["slots"]["utterance"]
    assert slot["value"] == "I prefer to stop"
