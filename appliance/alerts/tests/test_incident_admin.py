"""The incidents' admin pages: read-only, each incident's state and what became of its messages
per channel."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from appliance.alerts.models import Incident, Notification

from .base import AlertsTestCase

WHEN = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


class IncidentAdminTestCase(AlertsTestCase):
    def setUp(self):
        super().setUp()
        self.login()
        self.incident = Incident.objects.create(
            key="disk", summary="the disk is 95 % full", detail="/var/lib/appliance: 1 MiB free.",
            state=Incident.OPEN, first_seen=WHEN, last_seen=WHEN, opened=WHEN)
        ops = self.channel("json://127.0.0.1:1/hook", name="ops")
        phone = self.channel("json://127.0.0.1:1/phone", name="phone")
        Notification.objects.create(incident=self.incident, channel=ops, event="opened",
                                    created=WHEN, sent=WHEN)
        Notification.objects.create(incident=self.incident, channel=phone, event="opened",
                                    created=WHEN, attempts=2,
                                    last_error="Failed to send JSON POST notification")

    def test_the_list_shows_each_incident_and_its_state(self):
        r = self.client.get(reverse("admin:alerts_incident_changelist"))
        self.assertContains(r, "the disk is 95 % full")
        self.assertContains(r, '<span class="state state-failed">open</span>')

    def test_an_incident_tells_what_became_of_its_message_per_channel(self):
        r = self.client.get(reverse("admin:alerts_incident_change", args=[self.incident.pk]))
        self.assertContains(r, "<li>opened → ops: delivered 2026-12-02 12:00:00</li>", html=True)
        self.assertContains(r, "<li>opened → phone: not delivered yet, 2 attempts (Failed to "
                               "send JSON POST notification)</li>", html=True)

    def test_the_menu_leads_to_the_incidents_for_who_may_see_them(self):
        link = f'href="{reverse("admin:alerts_incident_changelist")}">Alerts</a>'
        self.assertContains(self.client.get(reverse("admin:index")), link)
        self.client.force_login(self.staff("catalogue.view_skill"))
        self.assertNotContains(self.client.get(reverse("admin:index")), link)
        self.client.force_login(self.staff("alerts.view_incident", username="dave"))
        r = self.client.get(reverse("admin:alerts_incident_changelist"))
        self.assertContains(r, link)
        self.assertContains(r, "the disk is 95 % full")

    def test_incidents_are_made_by_the_checks_only(self):
        self.assertEqual(self.client.get(reverse("admin:alerts_incident_add")).status_code, 403)
        r = self.client.post(reverse("admin:alerts_incident_change", args=[self.incident.pk]),
                             {"summary": "edited"})
        self.assertEqual(r.status_code, 403)
        self.incident.refresh_from_db()
        self.assertEqual(self.incident.summary, "the disk is 95 % full")
