"""A local SMAPI stand-in (SMAPI_REACHES_PRIVATE_HOSTS) may publish a .localhost endpoint on a
private CA; Amazon's own service never is (test_alexa_publish proves the refusal)."""

from __future__ import annotations

import io
import os
from unittest import mock

from django.core.management import CommandError, call_command
from django.test import override_settings

from appliance.catalogue.models import HostSettings, Skill
from appliance.test import MEMORY_GAME_MODEL, BaseTestCase
from skills.smapi import SCOPES
from skills.smapi.testing import CLIENT_ID, CLIENT_SECRET, FakeSMAPI

TOKEN = "Atzr|stand-in"


class PrivateHostPublishTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.fake = FakeSMAPI(build_polls=1).__enter__()
        self.addCleanup(self.fake.__exit__, None, None, None)
        self.fake.refresh_tokens[TOKEN] = frozenset(SCOPES.split())
        urls = override_settings(ASK_SMAPI_URL=self.fake.url, LWA_URL=self.fake.url)
        urls.enable()
        self.addCleanup(urls.disable)
        for patcher in (mock.patch("appliance.console.publish.BUILD_POLL", 0.01),
                        mock.patch.dict(os.environ, {"S": CLIENT_SECRET, "T": TOKEN})):
            patcher.start()
            self.addCleanup(patcher.stop)
        HostSettings.objects.filter(pk=1).update(domain="appliance.localhost",
                                                 certificate_authority="internal")
        Skill.objects.create(slug="memory-game", name="Memory Game", source="memory_game",
                             port=8101, hostname="memory-game",
                             interaction_model=MEMORY_GAME_MODEL)
        call_command("alexa_account", "--client-id", CLIENT_ID, "--client-secret-from-env", "S",
                     "--refresh-token-from-env", "T", stdout=io.StringIO())

    def publish(self) -> str:
        out = io.StringIO()
        call_command("skill_publish", "memory-game", stdout=out)
        return out.getvalue()

    def test_amazons_service_refuses_a_localhost_endpoint(self):
        with self.assertRaisesMessage(CommandError, "Amazon cannot reach it"):
            self.publish()
        self.assertEqual(self.fake.writes(), [])

    @override_settings(SMAPI_REACHES_PRIVATE_HOSTS=True)
    def test_a_stand_in_that_reaches_private_hosts_gets_the_localhost_endpoint(self):
        self.assertTrue(self.publish().startswith("changed:"))
        (skill,) = self.fake.skills.values()
        endpoint = skill["manifest"]["manifest"]["apis"]["custom"]["endpoint"]
        self.assertEqual(endpoint["uri"].rstrip("/"), "https://memory-game.appliance.localhost")
