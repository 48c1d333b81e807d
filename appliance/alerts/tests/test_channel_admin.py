"""The channel's admin pages: its URL checked with apprise before anything is saved, write-only
(never sent back to a browser), masked in the list."""

from __future__ import annotations

from django.urls import reverse

from appliance.alerts.models import Channel

from .base import AlertsTestCase

SECRET_URL = "tgram://123456789:AAHsecretBotToken_xyz/987654321"


class ChannelAdminTestCase(AlertsTestCase):
    def setUp(self):
        super().setUp()
        self.login()

    def add(self, **data):
        return self.client.post(reverse("admin:alerts_channel_add"),
                                {"name": "phone", "enabled": "on", **data})

    def test_a_url_apprise_can_send_to_is_saved_with_its_service(self):
        r = self.add(url=SECRET_URL)
        self.assertEqual(r.status_code, 302)
        channel = Channel.objects.get()
        self.assertEqual((channel.url, channel.service), (SECRET_URL, "Telegram"))

    def test_a_url_apprise_does_not_know_is_a_form_error_and_nothing_is_saved(self):
        for url, words in (("nosuch://host/path", "apprise cannot send to this URL"),
                           ("https://example.org/hook", "apprise cannot send to this URL"),
                           ("just words", "One apprise URL, without spaces"),
                           ("ntfy://a json://b", "One apprise URL, without spaces"),
                           ("", "The channel needs its apprise URL.")):
            r = self.add(url=url)
            self.assertEqual(r.status_code, 200, url)
            self.assertContains(r, words)
            if url:
                self.assertNotContains(r, url)  # the error does not repeat the URL
        self.assertFalse(Channel.objects.exists())

    def test_the_change_page_never_shows_the_saved_url_and_empty_keeps_it(self):
        channel = Channel.objects.create(name="phone", url=SECRET_URL, service="Telegram")
        page = reverse("admin:alerts_channel_change", args=[channel.pk])
        r = self.client.get(page)
        self.assertNotContains(r, "AAHsecretBotToken")
        self.assertNotContains(r, "987654321")
        self.assertContains(r, "tgram://•••••• (hidden: it holds the service&#x27;s tokens)")
        r = self.client.post(page, {"name": "phone", "url": ""})  # and unticks enabled
        self.assertEqual(r.status_code, 302)
        channel.refresh_from_db()
        self.assertEqual((channel.url, channel.enabled), (SECRET_URL, False))

    def test_a_new_url_replaces_the_saved_one_and_its_service(self):
        channel = Channel.objects.create(name="phone", url=SECRET_URL, service="Telegram")
        r = self.client.post(reverse("admin:alerts_channel_change", args=[channel.pk]),
                             {"name": "phone", "url": "ntfy://ntfy.sh/my-alerts",
                              "enabled": "on"})
        self.assertEqual(r.status_code, 302)
        channel.refresh_from_db()
        self.assertEqual((channel.url, channel.service), ("ntfy://ntfy.sh/my-alerts", "ntfy"))

    def test_the_list_shows_the_service_and_a_masked_url(self):
        Channel.objects.create(name="phone", url=SECRET_URL, service="Telegram")
        r = self.client.get(reverse("admin:alerts_channel_changelist"))
        self.assertContains(r, "Telegram")
        self.assertContains(r, "tgram://••••••")
        self.assertNotContains(r, "AAHsecretBotToken")

    def test_the_alert_settings_lead_to_their_one_row_and_validate(self):
        r = self.client.get(reverse("admin:alerts_alertsettings_changelist"))
        self.assertEqual(r.status_code, 302)
        r = self.client.post(r["Location"], {
            "restarts": 3, "error_rate_percent": 5, "certificate_days": 14,
            "duckdns_stale_minutes": 15, "disk_percent": 101, "open_after": 1,
            "clear_after": 3})
        self.assertContains(r, "Ensure this value is less than or equal to 100.")

    def test_a_staff_user_without_the_channel_permissions_sees_no_channel(self):
        Channel.objects.create(name="phone", url=SECRET_URL, service="Telegram")
        self.client.force_login(self.staff("catalogue.view_skill"))
        r = self.client.get(reverse("admin:alerts_channel_changelist"))
        self.assertEqual(r.status_code, 403)
