"""Revisions keep secrets as references only, through the real apply and rollback (the helper
and health check are faked): no value in any row, a rotated secret survives a rollback, and
``apply --check`` still sees a secret change."""

from __future__ import annotations

import json

import pytest

from appliance.catalogue import secretrefs
from appliance.catalogue.models import HostSettings, Revision, Skill
from appliance.deploy.apply import apply_catalogue, rollback_to
from appliance.deploy.pending import pending_changes

pytestmark = pytest.mark.unit

TOKEN = "0123abcd-0000-4000-8000-00000000beef"
NEW_TOKEN = "0123abcd-0000-4000-8000-00000000cafe"


@pytest.fixture
def host(fake_helper):
    HostSettings.objects.update_or_create(pk=1, defaults={"duckdns_domains": "mine",
                                                          "duckdns_token": TOKEN})
    Skill.objects.create(slug="quiz", name="quiz", source="memory_game", port=8101,
                         environment={"LEVEL": "easy"},
                         secrets={"API_KEY": "first-api-key-1", "OLD_PIN": "old-pin-2"})
    return fake_helper


def stored() -> str:
    """Everything every revision keeps, as one text to search."""
    return json.dumps(list(Revision.objects.values("files", "catalogue", "diff", "messages")))


def applied(revision: Revision) -> Revision:
    assert revision.outcome == Revision.APPLIED, revision.messages
    return revision


def test_no_revision_holds_a_secret_value_after_applies_and_a_rollback(host):
    first = applied(apply_catalogue())
    Skill.objects.filter(slug="quiz").update(secrets={"API_KEY": "rotated-api-key-3",
                                                      "NEW_ONE": "added-later-4"})
    HostSettings.objects.filter(pk=1).update(duckdns_token=NEW_TOKEN)
    applied(apply_catalogue())
    applied(rollback_to(first))
    text = stored()
    for value in ("first-api-key-1", "old-pin-2", "rotated-api-key-3", "added-later-4",
                  TOKEN, NEW_TOKEN):
        assert value not in text, value
    # What is kept instead: the names, and a reference per value.
    rows = first.catalogue["rows"]
    quiz = next(r for r in rows if r["model"] == "catalogue.skill")["fields"]
    assert quiz["environment"] == {"LEVEL": "easy"}
    assert set(quiz["secrets"]) == {"API_KEY", "OLD_PIN"}
    assert all(secretrefs.is_reference(v) for v in quiz["secrets"].values())
    secret_files = [r for r in first.files.values() if r["secret"]]
    assert len(secret_files) >= 2  # the skill's env file, DuckDNS's curl config
    assert all(secretrefs.is_reference(r["content"]) for r in secret_files)


def test_a_rollback_keeps_rotated_secrets_drops_added_ones_and_cannot_revive_deleted_ones(host):
    first = applied(apply_catalogue())
    Skill.objects.filter(slug="quiz").update(
        secrets={"API_KEY": "rotated-api-key-3", "NEW_ONE": "added-later-4"},
        environment={"LEVEL": "hard"})
    HostSettings.objects.filter(pk=1).update(duckdns_token=NEW_TOKEN)
    applied(apply_catalogue())
    applied(rollback_to(first))
    quiz = Skill.objects.get(slug="quiz")
    assert quiz.environment == {"LEVEL": "easy"}  # the rest of the row did go back
    assert quiz.secrets == {"API_KEY": "rotated-api-key-3"}
    assert HostSettings.load().duckdns_token == NEW_TOKEN


def test_a_renamed_skill_takes_its_current_secrets_back_to_its_old_name(host):
    first = applied(apply_catalogue())
    Skill.objects.filter(slug="quiz").update(slug="trivia",
                                             secrets={"API_KEY": "rotated-api-key-3"})
    applied(apply_catalogue())
    applied(rollback_to(first))
    assert Skill.objects.get().secrets == {"API_KEY": "rotated-api-key-3"}
    assert Skill.objects.get().slug == "quiz"


def test_apply_check_sees_a_rotated_secret_and_an_unchanged_one_as_unchanged(host):
    applied(apply_catalogue())
    assert pending_changes()["pending"] is False
    skill = Skill.objects.get(slug="quiz")
    skill.secrets = {**skill.secrets, "API_KEY": "rotated-api-key-3"}
    skill.save()
    [reason] = pending_changes()["reasons"]
    assert reason.startswith("1 rendered files differ:") and reason.endswith("/quiz.env")
    revision = applied(apply_catalogue())
    assert "(secret file changed)" in revision.diff and "rotated-api-key-3" not in revision.diff
    assert pending_changes()["pending"] is False
