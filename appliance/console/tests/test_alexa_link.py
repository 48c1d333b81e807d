"""Linking the developer account headless (`manage.py alexa_link`) and choosing the vendor when
`GET /v1/vendors` gives several, on the page and in the command; against the strict fake LWA."""

from __future__ import annotations

import io
import re
from unittest import mock
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from appliance.catalogue.models import AlexaAccount, HostSettings
from appliance.test import BaseTestCase
from skills.smapi.testing import CLIENT_ID, CLIENT_SECRET, VENDOR, FakeSMAPI

OTHER = {"id": "M2OTHERVENDOR", "name": "Other Vendor", "roles": ["ROLE_DEVELOPER"]}
CALLBACK = "https://admin.example.org/alexa/callback/"


class Operator(io.TextIOBase):
    """The person at the terminal: reads what the command printed, opens the sign-in URL (the
    fake signs in and redirects at once) and answers each question in turn; an answer is text,
    or a function of the redirect Amazon sent the browser to."""

    def __init__(self, out: io.StringIO, *answers):
        self.out, self.answers, self.pasted = out, list(answers), []

    def readline(self, size: int = -1) -> str:
        if not self.answers:
            return ""  # end of input
        answer = self.answers.pop(0)
        if callable(answer):
            url = re.search(r"^  (http\S+/ap/oa\?\S+)$", self.out.getvalue(), re.M)[1]
            answer = answer(httpx.get(url).headers["Location"])
        self.pasted.append(answer)
        return answer + "\n"


def whole(location: str) -> str:
    return location


def code_only(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


def forged_state(location: str) -> str:
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return f"{CALLBACK}?{urlencode(dict(query, state='forged'))}"


class AlexaLinkTests(BaseTestCase):
    vendors = [VENDOR]

    def setUp(self):
        super().setUp()
        self.fake = FakeSMAPI(vendors=self.vendors).__enter__()
        self.addCleanup(self.fake.__exit__, None, None, None)
        urls = override_settings(ASK_SMAPI_URL=self.fake.url, LWA_URL=self.fake.url,
                                 LWA_AUTHORIZE_URL=self.fake.authorize_url)
        urls.enable()
        self.addCleanup(urls.disable)
        env = mock.patch.dict("os.environ", {"LWA_SECRET": CLIENT_SECRET})
        env.start()
        self.addCleanup(env.stop)
        HostSettings.objects.filter(pk=1).update(domain="example.org")

    def link(self, *answers, args=("--client-id", CLIENT_ID, "--client-secret-from-env",
                                    "LWA_SECRET")) -> str:
        out = io.StringIO()
        self.operator = Operator(out, *answers)
        with mock.patch("sys.stdin", self.operator):
            try:
                call_command("alexa_link", *args, stdout=out)
            finally:
                self.out = out.getvalue()
        return self.out

    def assert_nothing_stored(self):
        account = AlexaAccount.load()
        self.assertEqual((account.client_id, account.refresh_token, account.vendor_id),
                         ("", "", ""))


class HeadlessLinkTests(AlexaLinkTests):
    def test_pasting_the_callback_address_links_the_account(self):
        out = self.link(whole)
        self.assertIn(f"Allowed Return URL in the security profile's Web Settings:\n"
                      f"  {CALLBACK}\n", out)
        self.assertTrue(out.rstrip().endswith(f"changed: linked the Amazon developer account "
                                              f"(vendor {VENDOR['id']})"), out)
        account = AlexaAccount.load()
        self.assertTrue(account.linked)
        self.assertIn(account.refresh_token, self.fake.refresh_tokens)
        self.assertEqual(account.linked_by, "manage.py alexa_link")

    def test_pasting_only_the_code_links_the_account(self):
        self.link(code_only)
        self.assertTrue(AlexaAccount.load().linked)

    def test_no_secret_is_ever_printed(self):
        out = self.link(whole)
        code = parse_qs(urlsplit(self.operator.pasted[0]).query)["code"][0]
        for secret in (CLIENT_SECRET, AlexaAccount.load().refresh_token, code):
            self.assertNotIn(secret, out)

    def test_a_callback_with_another_state_links_nothing(self):
        with self.assertRaisesMessage(CommandError, "state does not match"):
            self.link(forged_state)
        self.assert_nothing_stored()

    def test_a_code_amazon_refuses_is_its_invalid_grant_and_links_nothing(self):
        with self.assertRaisesMessage(CommandError, "not linked: Login with Amazon refused "
                                                    "the sign-in code (HTTP 400: invalid_grant"):
            self.link("ANmistypedcode")
        self.assert_nothing_stored()

    def test_a_code_used_twice_is_refused(self):
        self.link(whole)
        pasted = self.operator.pasted[0]
        with self.assertRaisesMessage(CommandError, "invalid_grant"):
            self.link(lambda location: pasted.replace(
                parse_qs(urlsplit(pasted).query)["state"][0],
                parse_qs(urlsplit(location).query)["state"][0]))

    def test_amazon_refusing_the_sign_in_is_shown(self):
        with self.assertRaisesMessage(CommandError, "Amazon refused the sign-in: access_denied"):
            self.link(f"{CALLBACK}?error=access_denied&error_description=The+user+said+no")
        self.assert_nothing_stored()

    def test_nothing_pasted_links_nothing(self):
        with self.assertRaisesMessage(CommandError, "end of input"):
            self.link()
        self.assert_nothing_stored()

    def test_the_first_link_needs_the_security_profiles_credentials(self):
        with self.assertRaisesMessage(CommandError, "--client-secret-from-env"):
            self.link(whole, args=("--client-id", CLIENT_ID))

    def test_a_failed_link_with_another_profile_keeps_the_working_one(self):
        self.link(whole)
        before = AlexaAccount.load()
        with self.assertRaisesMessage(CommandError, "invalid_client"):  # not registered
            self.link("ANothercode", args=("--client-id", "amzn1.application-oa2-client.other",
                                           "--client-secret-from-env", "LWA_SECRET"))
        after = AlexaAccount.load()
        self.assertEqual((after.client_id, after.refresh_token, after.vendor_id),
                         (before.client_id, before.refresh_token, before.vendor_id))

    def test_linking_again_reuses_the_stored_credentials(self):
        self.link(whole)
        first = AlexaAccount.load().refresh_token
        self.link(whole, args=())
        self.assertNotEqual(AlexaAccount.load().refresh_token, first)


class SeveralVendorsTests(AlexaLinkTests):
    vendors = [VENDOR, OTHER]

    def test_the_command_takes_the_vendor_option(self):
        self.link(whole, args=("--client-id", CLIENT_ID, "--client-secret-from-env",
                               "LWA_SECRET", "--vendor", OTHER["id"]))
        self.assertEqual(AlexaAccount.load().vendor_id, OTHER["id"])
        self.assertNotIn("several vendors", self.out)

    def test_the_command_asks_which_vendor_and_takes_a_number(self):
        self.link(whole, "2")
        self.assertIn(f"  1. {VENDOR['id']} (Fake Vendor)\n  2. {OTHER['id']} (Other Vendor)",
                      self.out)
        account = AlexaAccount.load()
        self.assertEqual(account.vendor_id, OTHER["id"])
        self.assertEqual([v["id"] for v in account.vendors], [VENDOR["id"], OTHER["id"]])

    def test_the_command_takes_an_answered_vendor_id(self):
        self.link(whole, VENDOR["id"])
        self.assertEqual(AlexaAccount.load().vendor_id, VENDOR["id"])

    def test_a_vendor_the_account_does_not_have_links_nothing(self):
        with self.assertRaisesMessage(CommandError, "has no vendor M9NOBODY (it has: "
                                                    f"{VENDOR['id']}, {OTHER['id']})"):
            self.link(whole, "M9NOBODY")
        self.assert_nothing_stored()

    def sign_in_on_the_page(self):
        self.login()
        start = self.client.post(reverse("console:alexa_account"),
                                 {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
        back = urlsplit(httpx.get(start["Location"]).headers["Location"])
        return self.client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()},
                               follow=True)

    def test_the_page_offers_the_vendors_and_stores_the_chosen_one(self):
        page = self.sign_in_on_the_page()
        self.assertContains(page, "choose the vendor to publish under")
        self.assertEqual(AlexaAccount.load().vendor_id, "")
        for vendor in (VENDOR, OTHER):
            self.assertContains(page, f'<option value="{vendor["id"]}">')
        page = self.client.post(reverse("console:alexa_account"),
                                {"vendor_id": OTHER["id"]}, follow=True)
        self.assertContains(page, f"Skills are published under vendor {OTHER['id']}.")
        self.assertEqual(AlexaAccount.load().vendor_id, OTHER["id"])

    def test_the_page_refuses_a_vendor_the_account_does_not_have(self):
        self.sign_in_on_the_page()
        page = self.client.post(reverse("console:alexa_account"), {"vendor_id": "M9NOBODY"})
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "Select a valid choice")
        self.assertEqual(AlexaAccount.load().vendor_id, "")
