"""The admin's Ask Alexa page: the fake simulator calls a real Memory Game process.

The skill runs in its own server process (Caddy is left out: the fake's stored endpoint is the
process's loopback URL) and is told the published skill ID, so its verification accepts
exactly that skill. Only the root helper is mocked: it hands out the process's real log lines.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from django.urls import reverse

from appliance.catalogue.models import AlexaAccount, HostSettings, Skill
from appliance.test import MEMORY_GAME, MEMORY_GAME_MODEL, BaseTestCase
from skills.runtime.testing import TestPKI, trust_files
from skills.runtime.testing.process import SkillProcess
from skills.smapi import SCOPES
from skills.smapi.testing import CLIENT_ID, CLIENT_SECRET, VENDOR, FakeSMAPI

pytestmark = pytest.mark.integration


class AskAlexaTests(BaseTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = Path(tempfile.mkdtemp(prefix="askalexa-"))
        cls.pki = TestPKI()
        cls.env = trust_files(cls.pki, cls.tmp / "trust")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.fake = FakeSMAPI(sign=self.pki.sign, build_polls=0).__enter__()
        self.addCleanup(self.fake.__exit__, None, None, None)
        self.fake.refresh_tokens["Atzr|linked"] = frozenset(SCOPES.split())
        self.settings(ASK_SMAPI_URL=self.fake.url, LWA_URL=self.fake.url).enable()
        HostSettings.objects.filter(pk=1).update(
            domain="example.org", certificate_authority="letsencrypt",
            acme_email="ops@example.org")
        AlexaAccount.objects.create(pk=1, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                    refresh_token="Atzr|linked", vendor_id=VENDOR["id"])
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101,
                                          interaction_model=MEMORY_GAME_MODEL)
        self.login()
        self.client.post(reverse("console:publish", args=["memory-game"]))
        self.skill.refresh_from_db()
        self.skill_id = self.skill.application_ids
        self.log = self.tmp / f"{self._testMethodName}.log"

    def serve(self, application_id: str):
        process = SkillProcess(MEMORY_GAME, {**self.env, "ASK_APPLICATION_ID": application_id},
                               log_path=self.log).start()
        self.addCleanup(process.stop)
        endpoint = self.fake.skills[self.skill_id]["manifest"]["manifest"]["apis"]["custom"]
        endpoint["endpoint"]["uri"] = process.url  # what Caddy would forward to
        patcher = mock.patch("appliance.console.services.run_helper", self.helper)
        patcher.start()
        self.addCleanup(patcher.stop)

    def helper(self, *args, timeout=None, check=True):
        assert args[:2] == ("logs", "alexa-skill-memory-game"), args
        now = dt.datetime.now(dt.UTC).isoformat()
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return {"ok": True, "entries": [{"time": now, "message": line} for line in lines]}

    def ask(self, **data):
        page = self.client.post(reverse("console:ask_alexa", args=["memory-game"]), data)
        self.assertEqual(page.status_code, 200)
        return page.context["turns"]

    def test_an_utterance_is_resolved_answered_and_found_in_the_skills_log(self):
        self.serve(self.skill_id)
        turn = self.ask(utterance="open memory game", new_session="on")[-1]
        self.assertTrue(turn["ok"], turn["message"])
        self.assertEqual(turn["intent"], "LaunchRequest")
        self.assertIn("Welcome to memory game", turn["speech"])
        self.assertIn("The skill logged the verified request amzn1.echo-api.request.",
                      turn["message"])

    def test_a_whole_game_is_played_in_one_session(self):
        self.serve(self.skill_id)
        turns = self.ask(play="1")
        self.assertEqual([t["intent"] for t in turns],
                         ["LaunchRequest", "AMAZON.YesIntent", "AnswerIntent"])
        self.assertEqual([t["new"] for t in turns], [True, False, False])
        self.assertEqual(turns[-1]["speech"], "Good job!")
        self.assertTrue(all(t["ok"] for t in turns), [t["message"] for t in turns])

    def test_a_request_refused_by_verification_is_named(self):
        self.serve("amzn1.ask.skill.some-other-skill")
        turn = self.ask(utterance="open memory game", new_session="on")[-1]
        self.assertEqual(turn["link"], "verification", turn["message"])
        self.assertIn("verification refused it", turn["message"])

    def test_an_unreachable_endpoint_is_named(self):
        self.serve(self.skill_id)
        endpoint = self.fake.skills[self.skill_id]["manifest"]["manifest"]["apis"]["custom"]
        endpoint["endpoint"]["uri"] = "http://127.0.0.1:9/"
        turn = self.ask(utterance="open memory game", new_session="on")[-1]
        self.assertEqual(turn["link"], "endpoint", turn["message"])

    def test_a_skill_not_enabled_for_testing_is_named(self):
        self.fake.skills[self.skill_id]["enabled"] = False
        turn = self.ask(utterance="open memory game", new_session="on")[-1]
        self.assertEqual(turn["link"], "enablement", turn["message"])
        json.dumps(turn)  # kept in the session as JSON
