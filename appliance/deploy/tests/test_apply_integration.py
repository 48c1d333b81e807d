"""Apply against real Caddy and real skill processes, on a SysV-style host under a temp root."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from django.core.management import call_command

from appliance.catalogue.models import Revision, Skill
from appliance.console.ca import ConsoleCA
from appliance.deploy import apply as apply_module
from appliance.deploy.apply import ApplyBusy, apply_catalogue, rollback_to
from appliance.deploy.health import get_through_caddy
from skills.runtime.testing.builders import envelope, launch_request

pytestmark = pytest.mark.integration


def health(host, fqdn: str) -> dict:
    status, body = get_through_caddy(fqdn, host.https_port)
    assert status == 200, body
    return json.loads(body)


def signed_launch(host, fqdn: str) -> dict:
    """A LaunchRequest signed by the test console's CA, verified by the skill, via Caddy."""
    body = json.dumps(envelope(launch_request())).encode()
    headers = {"Content-Type": "application/json", **ConsoleCA.load_or_create().sign(body)}
    status, answer = get_through_caddy(fqdn, host.https_port, "/", method="POST", body=body,
                                       headers=headers)
    assert status == 200, answer
    return json.loads(answer)


def test_apply_serves_through_caddy_and_an_unchanged_apply_restarts_nothing(test_host):
    test_host.skill("memory-game", name="Memory Game")
    first = apply_catalogue(reason="first")
    assert first.outcome == Revision.APPLIED, first.messages
    assert health(test_host, "memory-game.localhost") == {"skill": "memory-game", "status": "ok"}
    speech = signed_launch(test_host, "memory-game.localhost")["response"]["outputSpeech"]
    assert "memory" in json.dumps(speech).lower()
    assert test_host.on_disk(test_host.paths.caddyfile).is_file()
    pid = test_host.pid("alexa-skill-memory-game")

    call_command("apply", reason="again")
    second = Revision.objects.get(number=2)
    assert second.outcome == Revision.APPLIED
    assert "nothing was restarted" in second.messages
    assert "0 changed, 0 added, 0 removed" in second.messages
    assert test_host.pid("alexa-skill-memory-game") == pid
    assert Revision.objects.get(number=1).outcome == Revision.SUPERSEDED
    print(f"apply figures: first {first.timings}, unchanged {second.messages.splitlines()[-1]}")


def test_a_config_caddy_rejects_is_not_installed(test_host, settings):
    test_host.skill("memory-game")
    assert apply_catalogue().outcome == Revision.APPLIED
    caddyfile = test_host.on_disk(test_host.paths.caddyfile)
    before = caddyfile.read_text()

    # The caller cannot hand the helper a file: a Caddyfile that Caddy refuses comes from root's
    # own settings, here a storage folder that is a plain file.
    blocked = test_host.root / "not-a-folder"
    blocked.write_text("")
    layout = json.loads(Path(settings.APPLIANCE_LAYOUT).read_text())
    Path(settings.APPLIANCE_LAYOUT).write_text(json.dumps({**layout,
                                                           "caddy_storage": str(blocked)}))
    Skill.objects.filter(slug="memory-game").update(threads=2)
    revision = apply_catalogue(reason="broken")
    assert revision.outcome == Revision.FAILED
    assert "Nothing was installed" in revision.messages
    assert "caddy validate" in revision.messages and str(blocked) in revision.messages
    assert caddyfile.read_text() == before
    assert "--threads 4" in test_host.on_disk(
        f"{test_host.paths.initd_dir}/alexa-skill-memory-game").read_text()
    assert health(test_host, "memory-game.localhost")["skill"] == "memory-game"
    with pytest.raises(Exception, match="revision 3 failed"):
        call_command("apply")


def test_a_skill_that_dies_is_rolled_back(test_host):
    test_host.skill("memory-game")
    assert apply_catalogue().outcome == Revision.APPLIED
    source = test_host.root / "var/lib/appliance/skills/broken/src"
    source.mkdir(parents=True)
    (source / "app.py").write_text("import no_such_module_anywhere\n")
    test_host.skill("broken", source="src", source_kind=Skill.SOURCE_UPLOADED)
    pid = test_host.pid("alexa-skill-memory-game")

    revision = apply_catalogue(reason="add a broken skill")
    assert revision.outcome == Revision.FAILED, revision.messages
    assert revision.messages.startswith("broken did not")
    assert "no_such_module_anywhere" in revision.messages
    assert not test_host.on_disk(f"{test_host.paths.initd_dir}/alexa-skill-broken").exists()
    assert not test_host.running("alexa-skill-broken")
    assert test_host.pid("alexa-skill-memory-game") == pid  # untouched
    assert health(test_host, "memory-game.localhost")["skill"] == "memory-game"
    assert "broken.localhost" not in test_host.on_disk(test_host.paths.caddyfile).read_text()
    assert Revision.objects.get(number=1).outcome == Revision.APPLIED


def test_rollback_restores_the_catalogue_and_the_files(test_host):
    test_host.skill("memory-game")
    first = apply_catalogue()
    test_host.skill("second-game", hostname="second")
    Skill.objects.filter(slug="memory-game").update(threads=3)
    second = apply_catalogue()
    assert second.outcome == Revision.APPLIED, second.messages
    assert health(test_host, "second.localhost")["skill"] == "second-game"
    assert "+++ b" in second.diff and "second-game" in second.diff

    call_command("rollback", str(first.number))
    third = Revision.objects.get(number=3)
    assert third.outcome == Revision.APPLIED, third.messages
    assert third.restored_from_id == first.pk
    assert list(Skill.objects.values_list("slug", "threads")) == [("memory-game", 4)]
    assert not test_host.on_disk(f"{test_host.paths.initd_dir}/alexa-skill-second-game").exists()
    assert not test_host.running("alexa-skill-second-game")
    files = {path: record["content"] for path, record in third.files.items()}
    assert files == {path: record["content"] for path, record in first.files.items()}
    assert health(test_host, "memory-game.localhost")["skill"] == "memory-game"


def test_a_second_apply_at_the_same_time_is_told(test_host, monkeypatch, django_user_model):
    alice = django_user_model.objects.create_user("alice")
    outcome = {}

    def meanwhile(*args, **kwargs):
        # Alice's apply holds the lock here; a second one, from another thread, must be told.
        def other():
            try:
                apply_catalogue()
            except ApplyBusy as exc:
                outcome["busy"] = str(exc)
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        raise RuntimeError("enough: the lock was held")

    monkeypatch.setattr(apply_module, "build_catalogue", meanwhile)
    revision = apply_catalogue(user=alice)
    assert outcome["busy"].startswith("another apply is running, started by alice at ")
    assert revision.outcome == Revision.FAILED
    assert revision.messages.startswith("The configuration could not be rendered: enough")
    assert Revision.objects.count() == 1
    with pytest.raises(ValueError, match="never applied"):
        rollback_to(revision)


def test_a_skill_back_from_lambda_is_started_again(test_host):
    """A skill on Lambda keeps its enabled flag and its rendered unit: only where it runs tells
    the apply to stop it, and to start it again when it comes back."""
    test_host.skill("memory-game")
    assert apply_catalogue(reason="first").outcome == Revision.APPLIED
    assert test_host.running("alexa-skill-memory-game")

    Skill.objects.filter(slug="memory-game").update(runs_on=Skill.RUNS_ON_LAMBDA)
    assert apply_catalogue(reason="to Lambda").outcome == Revision.APPLIED
    assert not test_host.running("alexa-skill-memory-game")

    Skill.objects.filter(slug="memory-game").update(runs_on=Skill.RUNS_ON_HOST)
    back = apply_catalogue(reason="back")
    assert back.outcome == Revision.APPLIED, back.messages
    assert test_host.running("alexa-skill-memory-game")
    assert health(test_host, "memory-game.localhost")["skill"] == "memory-game"
