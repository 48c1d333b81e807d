"""The channel page's "Send test" button: a POST that sends one message through apprise to a
real webhook receiver and says whether it arrived; refused without the permission."""

from __future__ import annotations

import os
from unittest import mock

from django.urls import reverse

from .base import AlertsTestCase
from .receiver import Receiver


class SendTestViewTestCase(AlertsTestCase):
    def setUp(self):
        super().setUp()
        self.hook = self.enterContext(Receiver())
        self.ops = self.channel(self.hook.url)
        self.url = reverse("admin:alerts_channel_test", args=[self.ops.pk])

    def test_the_button_delivers_a_test_message_and_says_so(self):
        self.login()
        r = self.client.post(self.url, follow=True)
        self.assertRedirects(r, reverse("admin:alerts_channel_change", args=[self.ops.pk]))
        self.assertContains(r, "The test message was delivered through ops (JSON).")
        self.assertEqual(len(self.hook.messages), 1)
        self.assertEqual(self.hook.messages[0]["title"], "[localhost] Test alert from the "
                                                         "appliance")
        self.assertIn("Sent by alice", self.hook.messages[0]["message"])

    def test_the_button_works_over_https_with_a_trusted_certificate(self):
        with Receiver(tls=True, path="/secure") as secure:
            channel = self.channel(secure.url, name="secure")
            self.login()
            with mock.patch.dict(os.environ, {"REQUESTS_CA_BUNDLE": secure.ca_bundle}):
                r = self.client.post(reverse("admin:alerts_channel_test", args=[channel.pk]),
                                     follow=True)
            self.assertContains(r, "delivered through secure")
            self.assertEqual(len(secure.messages), 1)

    def test_a_channel_that_refuses_is_reported_in_words_on_the_page(self):
        self.hook.status = 500
        self.login()
        r = self.client.post(self.url, follow=True)
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "The test message was not delivered through ops: Failed to send "
                               "JSON POST notification")
        self.assertContains(r, "error=500")

    def test_an_untrusted_certificate_is_a_failed_delivery_not_an_error_page(self):
        with Receiver(tls=True, path="/secure") as secure:
            channel = self.channel(secure.url, name="secure")
            self.login()
            r = self.client.post(reverse("admin:alerts_channel_test", args=[channel.pk]),
                                 follow=True)
        self.assertContains(r, "not delivered through secure")
        self.assertContains(r, "CERTIFICATE_VERIFY_FAILED")

    def test_the_channel_page_shows_the_button_to_who_may_press_it(self):
        self.login()
        page = reverse("admin:alerts_channel_change", args=[self.ops.pk])
        self.assertContains(self.client.get(page), f'action="{self.url}"')
        self.client.force_login(self.staff("alerts.view_channel"))
        self.assertNotContains(self.client.get(page), f'action="{self.url}"')

    def test_it_needs_the_test_permission_and_sends_nothing_without_it(self):
        self.client.force_login(self.staff("alerts.view_channel", "alerts.change_channel"))
        self.assertEqual(self.client.post(self.url).status_code, 403)
        self.client.force_login(self.staff("alerts.test_channel", username="dave"))
        self.assertEqual(self.client.post(self.url).status_code, 403)  # cannot see it either
        self.client.force_login(self.staff("alerts.view_channel", "alerts.test_channel",
                                           username="erin"))
        self.assertEqual(self.client.post(self.url).status_code, 302)
        self.assertEqual(len(self.hook.messages), 1)

    def test_a_get_sends_nothing(self):
        self.login()
        self.assertEqual(self.client.get(self.url).status_code, 405)
        self.assertEqual(self.hook.messages, [])

    def test_a_user_who_is_not_staff_is_sent_to_the_login_page(self):
        self.client.force_login(self.bob)
        r = self.client.post(self.url)
        self.assertEqual(r.status_code, 302)
        self.assertIn(reverse("admin:login"), r["Location"])
        self.assertEqual(self.hook.messages, [])

    def test_an_unknown_channel_is_a_404(self):
        self.login()
        r = self.client.post(reverse("admin:alerts_channel_test", args=[999]))
        self.assertEqual(r.status_code, 404)
