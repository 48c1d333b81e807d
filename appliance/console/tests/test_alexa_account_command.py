"""`manage.py alexa_account`: linking from a refresh token (Ansible), against the fake LWA."""

from __future__ import annotations

import io
import os
from unittest import mock

from django.core.management import CommandError, call_command
from django.test import override_settings

from appliance.catalogue.models import AlexaAccount
from appliance.test import BaseTestCase
from skills.smapi import SCOPES
from skills.smapi.testing import CLIENT_ID, CLIENT_SECRET, VENDOR, FakeSMAPI

TOKEN = "Atzr|from-the-vault"
ARGS = ("--client-id", CLIENT_ID, "--client-secret-from-env", "E2E_SECRET",
        "--refresh-token-from-env", "E2E_TOKEN")


class AlexaAccountCommandTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.fake = FakeSMAPI().__enter__()
        self.addCleanup(self.fake.__exit__, None, None, None)
        self.fake.refresh_tokens[TOKEN] = frozenset(SCOPES.split())
        urls = override_settings(ASK_SMAPI_URL=self.fake.url, LWA_URL=self.fake.url)
        urls.enable()
        self.addCleanup(urls.disable)
        env = mock.patch.dict(os.environ, {"E2E_SECRET": CLIENT_SECRET, "E2E_TOKEN": TOKEN})
        env.start()
        self.addCleanup(env.stop)

    def run_command(self, *extra) -> str:
        out = io.StringIO()
        call_command("alexa_account", *ARGS, *extra, stdout=out)
        return out.getvalue()

    def test_it_links_the_account_and_picks_the_only_vendor(self):
        self.assertTrue(self.run_command().startswith("changed:"))
        account = AlexaAccount.load()
        self.assertTrue(account.linked)
        self.assertEqual(account.refresh_token, TOKEN)
        self.assertEqual(account.vendor_id, VENDOR["id"])

    def test_a_second_run_is_unchanged_and_calls_nobody(self):
        self.run_command()
        calls = len(self.fake.calls)
        self.assertTrue(self.run_command().startswith("unchanged:"))
        self.assertEqual(len(self.fake.calls), calls)

    def test_it_never_prints_a_secret(self):
        out = self.run_command()
        self.assertNotIn(TOKEN, out)
        self.assertNotIn(CLIENT_SECRET, out)

    def test_a_token_amazon_refuses_stores_nothing(self):
        os.environ["E2E_TOKEN"] = "Atzr|revoked"
        with self.assertRaisesMessage(CommandError, "Amazon refused the credentials"):
            self.run_command()
        self.assertFalse(AlexaAccount.load().linked)

    def test_a_vendor_the_account_does_not_have_is_refused(self):
        with self.assertRaisesMessage(CommandError, "has no vendor M9OTHER"):
            self.run_command("--vendor", "M9OTHER")
        self.assertFalse(AlexaAccount.load().linked)

    def test_a_missing_secret_variable_is_named(self):
        del os.environ["E2E_TOKEN"]
        with self.assertRaisesMessage(CommandError, "E2E_TOKEN is not set"):
            self.run_command()
