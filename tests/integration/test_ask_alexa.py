"""The admin's Ask Alexa page: the fake simulator calls a real Memory Game process.

The skill runs in its own server process, reached directly (the fake's stored endpoint is the
process's loopback URL) or through a real Caddy on its own internal CA, and is told the
published skill ID, so its verification accepts exactly that skill. Only the root helper is
mocked: it hands out the process's and Caddy's real log lines. What Alexa trusts (the fake's
CA bundle, and ``ASK_ENDPOINT_CA_BUNDLE`` for the admin's own handshake) is the test PKI's
root alone.
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
from skills.dialog.session import PROBLEM
from skills.runtime.testing import TestPKI, trust_files
from skills.runtime.testing.process import SkillProcess, free_port
from skills.smapi import SCOPES
from skills.smapi.testing import CLIENT_ID, CLIENT_SECRET, VENDOR, FakeSMAPI

from .caddyfront import CADDY, CaddyFront

pytestmark = pytest.mark.integration
needs_caddy = pytest.mark.skipif(CADDY is None, reason="caddy is not installed")


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
        amazon_trusts = self.env["ASK_CA_BUNDLE"]
        self.fake = FakeSMAPI(sign=self.pki.sign, ca_bundle=amazon_trusts,
                              build_polls=0).__enter__()
        self.addCleanup(self.fake.__exit__, None, None, None)
        self.fake.refresh_tokens["Atzr|linked"] = frozenset(SCOPES.split())
        self.settings(ASK_SMAPI_URL=self.fake.url, LWA_URL=self.fake.url,
                      ASK_ENDPOINT_CA_BUNDLE=amazon_trusts).enable()
        HostSettings.objects.filter(pk=1).update(
            domain="example.org", certificate_authority="letsencrypt",
            acme_email="ops@example.org")
        AlexaAccount.objects.create(pk=1, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                    refresh_token="Atzr|linked", vendor_id=VENDOR["id"])
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101,
                                          interaction_model=MEMORY_GAME_MODEL)
        self.login()
        self.skill_id = self.publish()
        self.log = self.tmp / f"{self._testMethodName}.log"
        self.caddy_log: Path | None = None
        patcher = mock.patch("appliance.console.services.run_helper", self.helper)
        patcher.start()
        self.addCleanup(patcher.stop)

    def publish(self) -> str:
        with mock.patch("appliance.console.publish.BUILD_POLL", 0.01):
            self.client.post(reverse("console:publish", args=["memory-game"]))
        self.skill.refresh_from_db()
        return self.skill.application_ids

    def serve(self, application_id: str) -> SkillProcess:
        process = SkillProcess(MEMORY_GAME, {**self.env, "ASK_APPLICATION_ID": application_id},
                               log_path=self.log).start()
        self.addCleanup(process.stop)
        self.endpoint(process.url)
        return process

    def endpoint(self, uri: str) -> None:
        """Where the published skill's endpoint leads (what the host's DNS and Caddy do)."""
        manifest = self.fake.skills[self.skill_id]["manifest"]["manifest"]
        manifest["apis"]["custom"]["endpoint"]["uri"] = uri

    def front(self, upstream: str, *, debug: bool = False) -> CaddyFront:
        front = CaddyFront(upstream, self.tmp / f"{self._testMethodName}-caddy",
                           debug=debug).start()
        self.addCleanup(front.stop)
        self.caddy_log = front.log_path
        self.endpoint(front.url)
        return front

    def helper(self, *args, timeout=None, check=True):
        assert args[0] == "logs", args
        path = {"alexa-skill-memory-game": self.log, "caddy": self.caddy_log}[args[1]]
        now = dt.datetime.now(dt.UTC).isoformat()
        lines = path.read_text().splitlines() if path and path.exists() else []
        return {"ok": True, "entries": [{"time": now, "message": line} for line in lines]}

    def ask(self, **data):
        page = self.client.post(reverse("console:ask_alexa", args=["memory-game"]), data)
        self.assertEqual(page.status_code, 200)
        self.page = page
        turns = page.context["turns"]
        json.dumps(turns)  # kept in the session as JSON
        return turns

    def open(self) -> dict:
        return self.ask(utterance="open memory game", new_session="on")[-1]

    def simulated(self) -> dict:
        (simulation,) = self.fake.simulations.values()
        return simulation

    # What works -----------------------------------------------------------------------------

    def test_an_utterance_is_resolved_answered_and_found_in_the_skills_log(self):
        self.serve(self.skill_id)
        turn = self.open()
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

    # Each broken link, as the simulator reports it ------------------------------------------

    def test_a_model_that_never_built_is_named_with_its_build_error(self):
        model = json.loads(MEMORY_GAME_MODEL)
        model["interactionModel"]["languageModel"]["intents"][-1]["samples"].append(
            "{fourth} please")
        Skill.objects.filter(pk=self.skill.pk).update(  # a new skill, its first build failing
            application_ids="", interaction_model=json.dumps(model, indent=2))
        self.skill_id = self.publish()
        self.serve(self.skill_id)
        turn = self.open()
        self.assertEqual(turn["link"], "model", turn["message"])
        self.assertIn("last build failed", turn["message"])
        self.assertIn('"{fourth} please"', turn["message"])
        self.assertEqual(self.simulated()["status"], "FAILED")
        self.assertContains(self.page, "<strong>What broke:</strong> the interaction model")

    def test_a_skill_not_enabled_for_testing_is_named(self):
        self.serve(self.skill_id)
        self.fake.skills[self.skill_id]["enabled"] = False  # turned off in the console
        turn = self.open()
        self.assertEqual(turn["link"], "enablement", turn["message"])
        # The simulation itself failed: SMAPI accepted it and reported the disabled skill.
        self.assertIn("disabled", self.simulated()["result"]["error"]["message"])

    def test_an_unreachable_endpoint_is_named(self):
        self.serve(self.skill_id)
        self.endpoint(f"http://127.0.0.1:{free_port()}/")  # nothing listens there
        turn = self.open()
        self.assertEqual(turn["link"], "endpoint", turn["message"])
        self.assertIn("neither can this host", turn["message"])
        self.assertEqual(turn["speech"], PROBLEM)

    def test_a_request_refused_by_verification_is_named(self):
        self.serve("amzn1.ask.skill.some-other-skill")
        turn = self.open()
        self.assertEqual(turn["link"], "verification", turn["message"])
        self.assertIn("verification refused it", turn["message"])
        self.assertEqual(turn["speech"], PROBLEM)

    @needs_caddy
    def test_a_certificate_amazon_does_not_trust_is_named(self):
        process = self.serve(self.skill_id)
        self.front(process.url)  # Caddy's internal CA: neither Amazon nor the admin trust it
        turn = self.open()
        self.assertEqual(turn["link"], "certificate", turn["message"])
        self.assertIn("a TLS handshake from here fails too", turn["message"])
        self.assertIn("(unable to get local issuer certificate)", turn["message"])  # OpenSSL
        self.assertNotIn("request_id=", process.logs())  # nothing reached the skill

    @needs_caddy
    def test_a_handshake_caddy_logged_as_failed_names_the_certificate(self):
        process = self.serve(self.skill_id)
        front = self.front(process.url, debug=True)
        # This host trusts Caddy's CA, Amazon does not: only Caddy's log tells.
        with self.settings(ASK_ENDPOINT_CA_BUNDLE=str(front.root_ca)):
            turn = self.open()
        self.assertEqual(turn["link"], "certificate", turn["message"])
        self.assertIn("Caddy logged “http.stdlib: http: TLS handshake error from 127.0.0.1",
                      turn["message"])

    @needs_caddy
    def test_a_skill_service_that_is_down_is_named_from_caddys_access_log(self):
        front = self.front(f"http://127.0.0.1:{free_port()}")  # the skill is not running
        self.fake.simulator.ca_bundle = str(front.root_ca)  # Amazon would take this one
        turn = self.open()
        self.assertEqual(turn["link"], "service", turn["message"])
        self.assertIn("HTTP 502", turn["message"])
