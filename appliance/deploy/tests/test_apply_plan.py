"""What an apply asks the helper to do on a systemd host (no systemd here: the helper is faked):
only changed skills restart, on-demand skills go through their socket, rollback on failure."""

from __future__ import annotations

import pytest

from appliance.catalogue.models import Revision, Skill
from appliance.deploy import apply as apply_module
from appliance.deploy.apply import apply_catalogue

from .fakes import FakeHelper, systemd_layout

pytestmark = pytest.mark.unit


@pytest.fixture
def helper_calls(db, settings, tmp_path, monkeypatch):
    for name, value in systemd_layout(tmp_path).items():
        setattr(settings, name, value)
    calls = FakeHelper()
    monkeypatch.setattr(apply_module, "run_helper", calls)
    monkeypatch.setattr(apply_module.health, "wait_healthy", calls.wait_healthy)
    for slug, port, fields in (("always", 8101, {}), ("lazy", 8102, {"on_demand": True}),
                               ("off", 8103, {"enabled": False})):
        Skill.objects.create(slug=slug, name=slug, source="memory_game", port=port, **fields)
    return calls


def test_first_apply_starts_enabled_skills_through_their_units_and_sockets(helper_calls):
    revision = apply_catalogue()
    assert revision.outcome == Revision.APPLIED, revision.messages
    assert helper_calls[:2] == ["install", "daemon-reload"]
    assert helper_calls[-1] == "reload-caddy"
    middle = set(helper_calls[2:-1])
    assert middle == {"service enable alexa-skill-always", "service restart alexa-skill-always",
                      "service stop alexa-skill-lazy", "service enable alexa-skill-lazy.socket",
                      "service restart alexa-skill-lazy.socket"}
    assert not any("alexa-skill-off" in call for call in helper_calls)


def test_an_unchanged_apply_restarts_nothing_and_disabling_stops_one(helper_calls):
    apply_catalogue()
    helper_calls.clear()
    assert apply_catalogue().outcome == Revision.APPLIED
    assert helper_calls == ["install", "daemon-reload", "reload-caddy"]
    helper_calls.clear()
    Skill.objects.filter(slug="lazy").update(enabled=False)
    revision = apply_catalogue()
    assert helper_calls == ["install", "daemon-reload",
                            "service stop alexa-skill-lazy.socket",
                            "service disable alexa-skill-lazy.socket",
                            "service stop alexa-skill-lazy", "service disable alexa-skill-lazy",
                            "reload-caddy"]
    assert "stopped lazy (disabled or removed)" in revision.messages


def test_a_changed_skill_alone_restarts_and_a_failed_check_rolls_back(helper_calls):
    first = apply_catalogue()
    helper_calls.clear()
    Skill.objects.filter(slug="always").update(threads=2)
    helper_calls.unhealthy["always"] = "always did not answer through Caddy within 10 s: x"
    revision = apply_catalogue()
    assert revision.outcome == Revision.FAILED
    assert revision.messages.startswith("always did not answer through Caddy within 10 s")
    assert helper_calls == [
        "install", "daemon-reload", "service enable alexa-skill-always",
        "service restart alexa-skill-always", "reload-caddy",
        f"restore {revision.number}", "daemon-reload", "service enable alexa-skill-always",
        "service restart alexa-skill-always", "reload-caddy"]
    first.refresh_from_db()
    assert first.outcome == Revision.APPLIED
    assert "--threads 2" in revision.diff
