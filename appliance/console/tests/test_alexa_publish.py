"""Linking the developer account and publishing a skill, against the strict fake SMAPI + LWA."""

from __future__ import annotations

import io
import json
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import httpx
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from appliance.catalogue.models import AlexaAccount, HostSettings, Skill
from appliance.test import MEMORY_GAME_MODEL, BaseTestCase
from skills.smapi.testing import CLIENT_ID, CLIENT_SECRET, FakeSMAPI


class AlexaTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.fake = FakeSMAPI(build_polls=1).__enter__()
        patcher = mock.patch("appliance.console.publish.BUILD_POLL", 0.01)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.addCleanup(self.fake.__exit__, None, None, None)
        urls = override_settings(ASK_SMAPI_URL=self.fake.url, LWA_URL=self.fake.url,
                                 LWA_AUTHORIZE_URL=self.fake.authorize_url)
        urls.enable()
        self.addCleanup(urls.disable)
        HostSettings.objects.filter(pk=1).update(
            domain="example.org", certificate_authority="letsencrypt",
            acme_email="ops@example.org")
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101,
                                          interaction_model=MEMORY_GAME_MODEL)
        self.login()

    def sign_in(self, tamper_state: bool = False):
        start = self.client.post(reverse("console:alexa_account"),
                                 {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
        self.assertEqual(start.status_code, 302)
        amazon = httpx.get(start["Location"])  # the operator signs in; Amazon redirects back
        back = urlsplit(amazon.headers["Location"])
        self.assertEqual(back.path, "/alexa/callback/")
        query = parse_qs(back.query)
        if tamper_state:
            query["state"] = ["forged"]
        return self.client.get(back.path, {k: v[0] for k, v in query.items()}, follow=True)

    def link(self):
        self.sign_in()
        return AlexaAccount.load()

    def publish(self):
        return self.client.post(reverse("console:publish", args=["memory-game"]), follow=True)

    def test_signing_in_links_the_account_and_reads_the_vendor(self):
        page = self.sign_in()
        account = AlexaAccount.load()
        self.assertTrue(account.linked)
        self.assertEqual(account.vendor_id, "M1FAKEVENDOR")
        self.assertContains(page, "is linked")
        self.assertContains(page, "https://admin.example.org/alexa/callback/")
        self.assertNotContains(page, CLIENT_SECRET)  # write-only
        self.assertNotContains(page, account.refresh_token)

    def test_a_callback_with_a_forged_state_links_nothing(self):
        page = self.sign_in(tamper_state=True)
        self.assertContains(page, "state does not match")
        self.assertEqual(AlexaAccount.load().refresh_token, "")

    def test_publishing_creates_the_skill_and_keeps_its_id(self):
        self.link()
        page = self.publish()
        self.skill.refresh_from_db()
        skill_id = self.skill.application_ids
        self.assertTrue(skill_id.startswith("amzn1.ask.skill.fake-"), skill_id)
        self.assertContains(page, f"Published memory-game as {skill_id}")
        stored = self.fake.skills[skill_id]
        endpoint = stored["manifest"]["manifest"]["apis"]["custom"]["endpoint"]
        self.assertEqual(endpoint, {"uri": "https://memory-game.example.org/",
                                    "sslCertificateType": "Trusted"})
        self.assertEqual(stored["models"]["en-US"]["model"], json.loads(MEMORY_GAME_MODEL))
        self.assertTrue(stored["enabled"])

    def test_a_second_publish_with_nothing_changed_writes_nothing(self):
        self.link()
        self.publish()
        writes = len(self.fake.writes())
        page = self.publish()
        self.assertEqual(len(self.fake.writes()), writes)
        self.assertContains(page, "nothing had changed, nothing was written")

    def test_a_changed_model_is_uploaded_alone_with_its_etag(self):
        self.link()
        self.publish()
        self.skill.refresh_from_db()
        model = json.loads(MEMORY_GAME_MODEL)
        model["interactionModel"]["languageModel"]["intents"][2]["samples"].append("help me")
        self.skill.interaction_model = json.dumps(model, indent=2)
        self.skill.save()
        before = len(self.fake.writes())
        self.publish()
        new = self.fake.writes()[before:]
        self.assertEqual([method for method, _ in new], ["PUT"])
        self.assertIn("/interactionModel/locales/en-US", new[0][1])

    def test_a_failed_build_is_shown_beside_the_models_lines(self):
        self.link()
        model = json.loads(MEMORY_GAME_MODEL)
        model["interactionModel"]["languageModel"]["intents"][-1]["samples"].append(
            "{fourth} please")
        text = json.dumps(model, indent=2)
        self.skill.interaction_model = text
        self.skill.save()
        page = self.publish()
        line = next(n for n, row in enumerate(text.splitlines(), 1) if "{fourth} please" in row)
        self.assertContains(page, "build failed")
        self.assertContains(page, f'data-line="{line}"')
        self.assertContains(page, f"line {line}: en-US: Sample utterance")

    def test_a_host_on_caddys_internal_ca_is_refused_without_a_call(self):
        self.link()
        HostSettings.objects.filter(pk=1).update(domain="appliance.localhost",
                                                 certificate_authority="internal")
        calls = len(self.fake.calls)
        page = self.publish()
        self.assertContains(page, "Amazon cannot reach it")
        self.assertEqual(len(self.fake.calls), calls)

    def test_publishing_needs_its_permission(self):
        self.link()
        self.client.force_login(self.staff("catalogue.view_skill", "catalogue.change_skill"))
        self.assertEqual(self.publish().status_code, 403)
        self.assertEqual(self.fake.writes(), [])

    def test_the_command_publishes_and_then_reports_unchanged(self):
        self.link()
        out = []
        for _ in range(2):
            buffer = io.StringIO()
            call_command("skill_publish", "memory-game", stdout=buffer)
            out.append(buffer.getvalue())
        self.assertTrue(out[0].startswith("changed: memory-game is amzn1.ask.skill.fake-"))
        self.assertTrue(out[1].startswith("unchanged:"))
