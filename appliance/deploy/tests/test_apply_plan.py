"""What an apply asks the helper to do on a systemd host (no systemd here: the helper is faked):
only changed skills restart, on-demand skills go through their socket, one helper call per step
for all skills, rollback on failure."""

from __future__ import annotations

import pytest

from appliance.catalogue.models import Revision, Skill
from appliance.deploy import apply as apply_module
from appliance.deploy.apply import apply_catalogue
from appliance.deploy.client import HelperError

pytestmark = pytest.mark.unit


@pytest.fixture
def helper_calls(fake_helper):
    for slug, port, fields in (("always", 8101, {}), ("lazy", 8102, {"on_demand": True}),
                               ("off", 8103, {"enabled": False})):
        Skill.objects.create(slug=slug, name=slug, source="memory_game", port=port, **fields)
    return fake_helper


def test_first_apply_starts_enabled_skills_through_their_units_and_sockets(helper_calls):
    revision = apply_catalogue()
    assert revision.outcome == Revision.APPLIED, revision.messages
    assert helper_calls == [
        "install", "daemon-reload", "services stop alexa-skill-lazy",
        "services enable alexa-skill-always alexa-skill-lazy.socket",
        "services restart alexa-skill-always alexa-skill-lazy.socket", "reload-caddy"]
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
                            "services stop alexa-skill-lazy.socket alexa-skill-lazy",
                            "services disable alexa-skill-lazy.socket alexa-skill-lazy",
                            "reload-caddy"]
    assert "stopped lazy (disabled)" in revision.messages


def test_a_changed_skill_alone_restarts_and_a_failed_check_rolls_back(helper_calls):
    first = apply_catalogue()
    helper_calls.clear()
    Skill.objects.filter(slug="always").update(threads=2)
    helper_calls.unhealthy["always"] = "always did not answer through Caddy within 10 s: x"
    revision = apply_catalogue()
    assert revision.outcome == Revision.FAILED
    assert revision.messages.startswith("always did not answer through Caddy within 10 s")
    assert helper_calls == [
        "install", "daemon-reload", "services enable alexa-skill-always",
        "services restart alexa-skill-always", "reload-caddy",
        f"restore {revision.number}", "daemon-reload", "services enable alexa-skill-always",
        "services restart alexa-skill-always", "reload-caddy"]
    first.refresh_from_db()
    assert first.outcome == Revision.APPLIED
    assert "--threads 2" in revision.diff


def many_skills(count: int) -> list[str]:
    Skill.objects.bulk_create(Skill(slug=f"s{n:03d}", name=f"s{n:03d}", source="memory_game",
                                    port=9000 + n) for n in range(count))
    return [f"s{n:03d}" for n in range(count)]


def test_a_hundred_skills_take_as_many_helper_calls_as_one(helper_calls):
    slugs = many_skills(100)
    assert apply_catalogue().outcome == Revision.APPLIED
    steps = [call.split()[:2] for call in helper_calls]
    assert steps == [["install"], ["daemon-reload"], ["services", "stop"],
                     ["services", "enable"], ["services", "restart"], ["reload-caddy"]]
    assert helper_calls[4].split()[2:] == sorted(
        [f"alexa-skill-{slug}" for slug in ("always", *slugs)] + ["alexa-skill-lazy.socket"])

    helper_calls.clear()
    Skill.objects.filter(slug__in=slugs[:50]).update(enabled=False)
    Skill.objects.filter(slug__in=slugs[50:]).update(threads=2)
    assert apply_catalogue().outcome == Revision.APPLIED
    assert [call.split()[:2] for call in helper_calls] == [
        ["install"], ["daemon-reload"], ["services", "stop"], ["services", "disable"],
        ["services", "enable"], ["services", "restart"], ["reload-caddy"]]
    assert len(helper_calls[2].split()) == 2 + 50
    assert helper_calls[5] == "services restart " + " ".join(
        f"alexa-skill-{slug}" for slug in slugs[50:])


def test_one_skill_failing_in_a_batch_is_named_and_the_others_rolled_back(helper_calls):
    many_skills(20)
    assert apply_catalogue().outcome == Revision.APPLIED
    helper_calls.clear()
    Skill.objects.exclude(slug="off").update(threads=2)
    Skill.objects.create(slug="fresh", name="fresh", source="memory_game", port=8104)
    helper_calls.failing["restart alexa-skill-fresh"] = (
        "restart alexa-skill-fresh failed (exit 1): alexa-skill-fresh failed to start")
    revision = apply_catalogue()
    assert revision.outcome == Revision.FAILED
    assert revision.messages.startswith(
        "fresh did not start: restart alexa-skill-fresh failed (exit 1): alexa-skill-fresh "
        "failed to start\n")
    assert "logs alexa-skill-fresh --lines 5" in helper_calls
    # Every skill this apply restarted, and had been running before, is restarted as it was.
    running = " ".join(sorted(f"alexa-skill-{slug}" for slug in Skill.objects.filter(
        enabled=True).exclude(slug="fresh").values_list("slug", flat=True)))
    assert helper_calls[-5:] == [f"restore {revision.number}", "daemon-reload",
                                 f"services enable {running}", f"services restart {running}",
                                 "reload-caddy"]
    assert "restarted s019 with its previous configuration" in revision.messages
    assert [call.split()[:2] for call in helper_calls[:6]] == [
        ["install"], ["daemon-reload"], ["services", "stop"], ["services", "enable"],
        ["services", "restart"], ["logs", "alexa-skill-fresh"]]
    assert len(helper_calls) == 11


def test_a_skill_that_will_not_stop_fails_the_apply_and_is_started_again(helper_calls):
    apply_catalogue()
    helper_calls.clear()
    Skill.objects.filter(slug__in=["always", "lazy"]).update(enabled=False)
    helper_calls.failing["stop alexa-skill-always"] = "stop alexa-skill-always failed (exit 1): x"
    revision = apply_catalogue()
    assert revision.outcome == Revision.FAILED
    assert revision.messages.startswith(
        "always did not stop: stop alexa-skill-always failed (exit 1): x\n")
    assert helper_calls[2] == ("services stop alexa-skill-always alexa-skill-lazy.socket "
                               "alexa-skill-lazy")
    assert not any(call.startswith("services disable") for call in helper_calls)
    assert helper_calls[-3:] == ["services enable alexa-skill-always alexa-skill-lazy",
                                 "services restart alexa-skill-always alexa-skill-lazy",
                                 "reload-caddy"]


def test_a_skill_the_rollback_cannot_restart_is_said(helper_calls):
    apply_catalogue()
    helper_calls.clear()
    Skill.objects.filter(slug__in=["always", "lazy"]).update(threads=2)
    helper_calls.failing["restart alexa-skill-always"] = "restart alexa-skill-always failed: y"
    revision = apply_catalogue()
    assert revision.outcome == Revision.FAILED
    assert revision.messages.startswith("always did not start: restart alexa-skill-always "
                                        "failed: y\n")
    assert "could not restart always: restart alexa-skill-always failed: y" in revision.messages
    assert "restarted lazy with its previous configuration" in revision.messages


def test_a_batch_the_helper_refuses_fails_every_skill_in_it(helper_calls, monkeypatch):
    def refusing(*args, **kwargs):
        if args[0] == "services" and args[1] == "enable":
            raise apply_module.HelperError("not a service the helper manages: 'x'", {}, 2)
        return helper_calls(*args, **kwargs)

    monkeypatch.setattr(apply_module, "run_helper", refusing)
    revision = apply_catalogue()
    assert revision.outcome == Revision.FAILED
    assert revision.messages.startswith(
        "always did not start: not a service the helper manages: 'x'; "
        "lazy did not start: not a service the helper manages: 'x'\n")


def test_a_removed_skill_is_left_to_the_install_and_a_rollback_brings_it_back(helper_calls):
    apply_catalogue()
    helper_calls.clear()
    Skill.objects.filter(slug="lazy").delete()
    revision = apply_catalogue()
    assert revision.outcome == Revision.APPLIED, revision.messages
    # Its unit went with its files: the install stopped and disabled it, and systemd no longer
    # knows the name, so a stop or disable of it would fail the apply.
    assert helper_calls == ["install", "daemon-reload", "reload-caddy"]
    assert "stopped lazy (removed)" in revision.messages

    Skill.objects.filter(slug="always").delete()
    helper_calls.clear()
    Skill.objects.create(slug="new", name="new", source="memory_game", port=8104)
    helper_calls.unhealthy["new"] = "new did not answer through Caddy within 10 s: x"
    failed = apply_catalogue()
    assert failed.outcome == Revision.FAILED
    restarts = [call for call in helper_calls if call.startswith("services restart")]
    assert "alexa-skill-always" in restarts[-1], helper_calls  # the rollback started it again


@pytest.mark.parametrize(("installed", "words", "undone"), [
    (2, "it installed revision 2 after all, which was undone", True),
    (1, "Nothing was installed: the helper did not answer", False),
])
def test_a_helper_that_answers_too_late_is_asked_what_it_did(helper_calls, monkeypatch,
                                                              installed, words, undone):
    """The admin gave up waiting, but the helper may have gone on: its state (read once its
    lock is free) says which, and an install that happened anyway is undone."""
    assert apply_catalogue().number == 1

    def late(*args, **kwargs):
        if args[0] == "install":
            helper_calls.append("install")
            raise HelperError("the helper did not answer within 180 s (install 2)",
                              timed_out=True)
        if args[0] == "state":
            helper_calls.append("state")
            return {"ok": True, "revision": installed, "installed": []}
        return helper_calls(*args, **kwargs)

    monkeypatch.setattr(apply_module, "run_helper", late)
    Skill.objects.filter(slug="always").update(threads=2)
    helper_calls.clear()
    revision = apply_catalogue()
    assert revision.outcome == Revision.FAILED
    assert words in revision.messages
    assert helper_calls[:2] == ["install", "state"]
    assert ("restore 2" in helper_calls) is undone
