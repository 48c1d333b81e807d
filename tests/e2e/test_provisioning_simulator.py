"""Alexa's simulator, faked on this machine (skills.smapi.testing), playing the Memory Game on
the booted host: the skill is created and its model built through the real SMAPI client, then
each utterance is sent as a signed request to the manifest's HTTPS endpoint through Caddy, and
the skill's own verification (the console's CA, which the skill is told to trust) accepts it."""

from __future__ import annotations

import json
import re
import time

import pytest

from .fixtures_provisioning import SKILL_FQDN

pytest_plugins = ("tests.e2e.fixtures_provisioning",)
pytestmark = pytest.mark.e2e

SLUG = "memory-game"


@pytest.fixture
def simulator(provisioned, front):
    from appliance.render.envfiles import CONSOLE_CERT_URL
    from skills.runtime.testing.certs import sign_body
    from skills.smapi import SCOPES, LWAClient, SmapiClient, TokenSource
    from skills.smapi.testing import CLIENT_ID, CLIENT_SECRET, VENDOR, FakeSMAPI

    key = provisioned.console_key()
    model = json.loads(provisioned.run(
        ["cat", "/opt/appliance/venv/lib/python3.11/site-packages/skills/memory_game/"
                "skill-package/interactionModels/custom/en-US.json"]).stdout)
    env = provisioned.run(["cat", f"/etc/appliance/skills/{SLUG}.env"]).stdout
    found = re.search(r'^ASK_APPLICATION_ID="([^"]*)"$', env, re.M)
    before = found.group(1).split(",") if found else []
    with FakeSMAPI(sign=lambda body: sign_body(key, body, CONSOLE_CERT_URL, sha1=False),
                   ca_bundle=str(provisioned.root_ca), build_polls=2) as fake:
        fake.refresh_tokens["Atzr|e2e"] = frozenset(SCOPES.split())  # linked earlier
        lwa = LWAClient(CLIENT_ID, CLIENT_SECRET, base_url=fake.url)
        smapi = SmapiClient(TokenSource(lwa, "Atzr|e2e"), fake.url, sleep=time.sleep)
        skill_id = smapi.create_skill(VENDOR["id"], {"manifest": {"apis": {"custom": {
            "endpoint": {"uri": f"https://{SKILL_FQDN}/", "sslCertificateType": "Trusted"}}}}})
        smapi.put_model(skill_id, "en-US", model)
        smapi.wait_built(skill_id, ["en-US"], interval=0.05)
        smapi.enable_testing(skill_id)
        # The skill accepts exactly the published skill's ID, as publishing would set it.
        provisioned.manage("skill_add", SLUG, "--skill-id", skill_id)
        provisioned.manage("apply", "--reason", "e2e: the simulator's skill ID")
        try:
            yield smapi, skill_id
        finally:
            restore = [arg for one in before for arg in ("--skill-id", one)] \
                or ["--clear-skill-ids"]
            provisioned.manage("skill_add", SLUG, *restore)
            provisioned.manage("apply", "--reason", "e2e: skill IDs as they were")


def test_the_simulator_plays_the_memory_game_through_caddy(provisioned, simulator):
    smapi, skill_id = simulator
    opened = smapi.simulate(skill_id, "open memory game", new_session=True, interval=0.05)
    assert opened.status == "SUCCESSFUL", opened.error
    assert opened.intent == "LaunchRequest"
    assert opened.speech.startswith("Welcome to memory game")

    round_ = smapi.simulate(skill_id, "yes", interval=0.05)
    assert round_.request["session"]["sessionId"] == opened.request["session"]["sessionId"]
    numbers = re.findall(r"\d", round_.speech)
    assert len(numbers) == 3, round_.speech
    answered = smapi.simulate(skill_id, " ".join(reversed(numbers)), interval=0.05)
    assert answered.speech == "Good job!"

    # The skill itself verified and answered each one: its own request log says so.
    journal = provisioned.run(["journalctl", "-u", f"alexa-skill-{SLUG}", "--since",
                               "-2min", "--no-pager", "-o", "cat"]).stdout
    request_id = answered.request["request"]["requestId"]
    assert re.search(rf"request_id=\S*{re.escape(request_id)}\S* .*outcome=ok", journal), \
        journal[-2000:]


def test_a_skill_expecting_another_id_refuses_the_simulator(provisioned, simulator):
    smapi, skill_id = simulator
    provisioned.manage("skill_add", SLUG, "--skill-id", "amzn1.ask.skill.someone-else")
    provisioned.manage("apply", "--reason", "e2e: another skill ID")
    refused = smapi.simulate(skill_id, "open memory game", new_session=True, interval=0.05)
    # As Alexa does: the user hears that the skill failed; the skill answered an error, not a
    # response.
    assert refused.speech == "There was a problem with the requested skill's response"
    assert "response" not in (refused.response or {})
    journal = provisioned.run(["journalctl", "-u", f"alexa-skill-{SLUG}", "--since", "-1min",
                               "--no-pager", "-o", "cat"]).stdout
    assert "outcome=refused" in journal
