"""Incidents and their messages, through apprise to a real webhook receiver on loopback: one
message when an incident opens, none while it lasts, one when it clears, never a flood."""

from __future__ import annotations

import datetime as dt

from appliance.alerts import incidents
from appliance.alerts.checks import Finding
from appliance.alerts.models import Incident, Notification

from .base import AlertsTestCase
from .receiver import Receiver

START = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
DISK = Finding("disk", "the disk is 95 % full", "/var/lib/appliance: 500 MiB free.")
HEALTH = Finding("health:quiz", "quiz failed its health check", "no answer (timed out)")


class IncidentsTestCase(AlertsTestCase):
    def setUp(self):
        super().setUp()
        self.hook = self.enterContext(Receiver())
        self.channel(self.hook.url)
        self.minute = 0

    def run_check(self, *found: Finding, open_after: int = 1, clear_after: int = 3):
        now = START + dt.timedelta(minutes=self.minute)
        self.minute += 1
        changes = incidents.record({f.key: f for f in found}, now, open_after=open_after,
                                   clear_after=clear_after)
        return changes, incidents.deliver(now, "example.org")

    def test_an_incident_that_opens_sends_one_message(self):
        changes, outcomes = self.run_check(DISK)
        self.assertEqual([c.event for c in changes], ["opened"])
        self.assertEqual(self.hook.titles(), ["[example.org] PROBLEM: the disk is 95 % full"])
        self.assertEqual(self.hook.messages[0]["message"], "/var/lib/appliance: 500 MiB free.")
        self.assertEqual(self.hook.messages[0]["type"], "failure")
        self.assertTrue(outcomes[0].delivery.ok)

    def test_an_incident_still_open_sends_nothing_more(self):
        for _ in range(10):
            self.run_check(DISK)
        self.assertEqual(len(self.hook.messages), 1)
        self.assertEqual(Incident.objects.get().seen_in_a_row, 10)

    def test_an_incident_clears_with_one_message_after_the_clear_checks(self):
        self.run_check(DISK)
        self.run_check()
        self.run_check()
        self.assertEqual(len(self.hook.messages), 1)  # not over yet: two checks without it
        changes, _ = self.run_check()
        self.assertEqual([c.event for c in changes], ["cleared"])
        self.assertEqual(self.hook.titles()[1], "[example.org] RESOLVED: the disk is 95 % full "
                                                "(since 2026-12-02 12:00 UTC)")
        self.assertEqual(self.hook.messages[1]["type"], "success")
        for _ in range(5):
            self.run_check()
        self.assertEqual(len(self.hook.messages), 2)
        self.assertEqual(Incident.objects.get().state, Incident.CLEARED)

    def test_a_flapping_problem_stays_one_incident_and_sends_no_flood(self):
        for minute in range(30):
            self.run_check(*([DISK] if minute % 2 == 0 else []))
        self.assertEqual(len(self.hook.messages), 1)
        self.assertEqual(Incident.objects.count(), 1)
        for _ in range(3):
            self.run_check()
        self.assertEqual(len(self.hook.messages), 2)  # and one when it is really over

    def test_a_problem_seen_again_after_it_cleared_is_a_new_incident(self):
        self.run_check(DISK)
        for _ in range(3):
            self.run_check()
        self.run_check(DISK)
        self.assertEqual(len(self.hook.messages), 3)
        self.assertEqual(Incident.objects.filter(state=Incident.OPEN).count(), 1)

    def test_open_after_waits_for_a_problem_seen_in_a_row_and_a_blip_sends_nothing(self):
        self.run_check(HEALTH, open_after=2)
        self.run_check(open_after=2)  # gone: forgotten, no message either way
        self.assertEqual(self.hook.messages, [])
        self.assertEqual(Incident.objects.count(), 0)
        self.run_check(HEALTH, open_after=2)
        self.run_check(HEALTH, open_after=2)
        self.assertEqual(self.hook.titles(), ["[example.org] PROBLEM: quiz failed its health "
                                              "check"])

    def test_problems_that_start_together_go_out_in_one_message(self):
        self.run_check(DISK, HEALTH)
        self.assertEqual(self.hook.titles(), ["[example.org] 2 problems, 0 resolved"])
        self.assertIn("PROBLEM: quiz failed its health check\n  no answer (timed out)",
                      self.hook.messages[0]["message"])

    def test_a_failing_channel_is_reported_and_tried_again_at_the_next_check(self):
        self.hook.status = 503
        _, outcomes = self.run_check(DISK)
        self.assertFalse(outcomes[0].delivery.ok)
        self.assertIn("error=503", outcomes[0].delivery.reason)
        self.assertEqual(len(self.hook.refused), 1)
        note = Notification.objects.get()
        self.assertEqual((note.sent, note.attempts), (None, 1))
        self.hook.status = 200
        _, outcomes = self.run_check(DISK)
        self.assertTrue(outcomes[0].delivery.ok)
        self.assertEqual(self.hook.titles(), ["[example.org] PROBLEM: the disk is 95 % full"])
        self.run_check(DISK)
        self.assertEqual(len(self.hook.messages), 1)  # delivered once, not again

    def test_only_the_failing_channel_is_tried_again(self):
        with Receiver(path="/other") as broken:
            broken.status = 500
            self.channel(broken.url, name="broken")
            self.run_check(DISK)
            self.run_check(DISK)
            self.assertEqual(len(broken.refused), 2)
        self.assertEqual(len(self.hook.messages), 1)

    def test_a_disabled_channel_gets_nothing(self):
        with Receiver(path="/off") as off:
            self.channel(off.url, name="off", enabled=False)
            self.run_check(DISK)
            self.assertEqual(off.messages + off.refused, [])
        self.assertEqual(len(self.hook.messages), 1)

    def test_cleared_incidents_are_forgotten_after_ninety_days(self):
        self.run_check(DISK)
        for _ in range(3):
            self.run_check()
        self.minute += 89 * 24 * 60
        self.run_check()
        self.assertEqual(Incident.objects.count(), 1)
        self.minute += 24 * 60
        self.run_check(HEALTH)
        self.assertEqual(list(Incident.objects.values_list("key", flat=True)), ["health:quiz"])
        self.assertEqual(Notification.objects.filter(incident__key="disk").count(), 0)

    def test_a_message_undelivered_for_a_day_is_given_up(self):
        self.hook.status = 500
        self.run_check(DISK)
        self.minute += 24 * 60
        self.hook.status = 200
        _, outcomes = self.run_check(DISK)
        self.assertEqual(outcomes, [])
        self.assertTrue(Notification.objects.get().given_up)
        self.assertEqual(self.hook.messages, [])
