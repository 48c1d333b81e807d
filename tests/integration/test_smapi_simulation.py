"""Alexa's simulator (the fake SMAPI) playing the Memory Game in its real server process.

The fake resolves each utterance with the dialog engine, signs the request with the test PKI
the skill trusts, and POSTs it to the endpoint in the manifest published through the client.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from skills.smapi import SCOPES, LWAClient, SmapiClient, TokenSource
from skills.smapi.testing import CLIENT_ID, CLIENT_SECRET, VENDOR, FakeSMAPI

from .conftest import MEMORY_GAME

pytestmark = pytest.mark.integration
MODEL = json.loads((MEMORY_GAME / "skill-package/interactionModels/custom/en-US.json")
                   .read_text())


@pytest.fixture
def published(memory_game, alexa_pki):
    with FakeSMAPI(sign=alexa_pki.sign, build_polls=1) as fake:
        lwa = LWAClient(CLIENT_ID, CLIENT_SECRET, base_url=fake.url)
        fake.refresh_tokens["Atzr|test"] = frozenset(SCOPES.split())  # linked earlier
        smapi = SmapiClient(TokenSource(lwa, "Atzr|test"), fake.url, sleep=time.sleep)
        skill_id = smapi.create_skill(VENDOR["id"], {"manifest": {"apis": {"custom": {
            "endpoint": {"uri": memory_game.url, "sslCertificateType": "Trusted"}}}}})
        smapi.put_model(skill_id, "en-US", MODEL)
        smapi.wait_built(skill_id, ["en-US"], interval=0)
        smapi.enable_testing(skill_id)
        yield smapi, skill_id


def test_the_simulator_plays_a_whole_game_in_one_session(published):
    smapi, skill_id = published
    opened = smapi.simulate(skill_id, "open memory game", new_session=True, interval=0.02)
    assert opened.status == "SUCCESSFUL", opened.error
    assert opened.intent == "LaunchRequest"
    assert opened.speech.startswith("Welcome to memory game")
    assert opened.request["session"]["new"] is True
    assert opened.request["session"]["application"]["applicationId"] == skill_id

    round_ = smapi.simulate(skill_id, "yes", interval=0.02)
    assert round_.intent == "AMAZON.YesIntent"
    assert round_.request["session"]["new"] is False
    assert round_.request["session"]["sessionId"] == opened.request["session"]["sessionId"]
    numbers = re.findall(r"\d", round_.speech)
    assert len(numbers) == 3, round_.speech

    answered = smapi.simulate(skill_id, " ".join(reversed(numbers)), interval=0.02)
    assert answered.intent == "AnswerIntent"
    assert answered.speech == "Good job!"
    assert answered.request["session"]["new"] is False
    assert answered.response["response"]["shouldEndSession"] is True


def test_a_forced_new_session_starts_over(published):
    smapi, skill_id = published
    smapi.simulate(skill_id, "open memory game", new_session=True, interval=0.02)
    again = smapi.simulate(skill_id, "open memory game", new_session=True, interval=0.02)
    assert again.request["session"]["new"] is True
