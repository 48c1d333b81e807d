"""``manage.py alerts_check`` as the timer runs it, reading this machine's disk and a DuckDNS
answer, sending through apprise to a real webhook receiver on loopback."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from django.conf import settings

from appliance.alerts.models import Incident, Notification
from appliance.catalogue.models import HostSettings

from .base import AlertsTestCase
from .receiver import Receiver

TOKEN = "0123abcd-0000-4000-8000-00000000beef"


class AlertsCheckTestCase(AlertsTestCase):
    def setUp(self):
        super().setUp()
        self.hook = self.enterContext(Receiver())
        self.channel(self.hook.url)
        HostSettings.objects.filter(pk=1).update(domain="example.org")

    def disk_full(self, full: bool) -> None:
        # This machine's disk is fuller than 1 % and never fuller than 100 %.
        self.settings_row(disk_percent=1 if full else 100)

    def test_a_problem_opens_with_one_message_and_a_quiet_host_says_unchanged(self):
        out, err, failed = self.check()
        self.assertEqual((out, err, failed), ("unchanged: 0 open incident(s)\n", "", None))
        self.disk_full(True)
        out, _, failed = self.check()
        self.assertIsNone(failed)
        self.assertRegex(out, r"^opened: the disk is \d+ % full\nsent: 1 message\(s\) through "
                              r"ops\n$")
        self.assertRegex(self.hook.titles()[0], r"^\[example.org\] PROBLEM: the disk is \d+ % "
                                                r"full$")
        self.assertIn(str(settings.APPLIANCE_DATA_DIR), self.hook.messages[0]["message"])

    def test_a_problem_still_there_sends_nothing_more(self):
        self.disk_full(True)
        self.check()
        for _ in range(3):
            out, _, _ = self.check()
            self.assertEqual(out, "unchanged: 1 open incident(s)\n")
        self.assertEqual(len(self.hook.messages), 1)

    def test_a_problem_gone_for_the_clear_checks_clears_with_one_message(self):
        self.disk_full(True)
        self.check()
        self.disk_full(False)
        self.check()
        self.check()
        out, _, _ = self.check()
        self.assertRegex(out, r"^cleared: the disk is \d+ % full\nsent: 1 message")
        self.assertEqual(len(self.hook.messages), 2)
        self.assertIn("RESOLVED", self.hook.titles()[1])
        self.assertEqual(self.check()[0], "unchanged: 0 open incident(s)\n")

    def test_a_flapping_problem_sends_no_flood(self):
        for minute in range(12):
            self.disk_full(minute % 2 == 0)
            self.check()
        self.assertEqual(len(self.hook.messages), 1)

    def test_duckdns_failing_opens_an_incident(self):
        HostSettings.objects.filter(pk=1).update(duckdns_domains="mine", duckdns_token=TOKEN)
        result = Path(self.paths.duckdns_dir) / "last-result"
        result.parent.mkdir(parents=True)
        result.write_text("KO")
        out, _, _ = self.check()
        self.assertIn("opened: DuckDNS updates are failing", out)
        self.assertEqual(self.hook.titles(), ["[example.org] PROBLEM: DuckDNS updates are "
                                              "failing"])

    def test_a_failing_channel_is_told_in_words_and_retried_at_the_next_check(self):
        self.hook.status = 500
        self.disk_full(True)
        out, err, failed = self.check()
        self.assertIn("failed: ops did not deliver 1 message(s): Failed to send JSON POST "
                      "notification", out)
        self.assertEqual(failed, "1 channel(s) could not deliver (ops); 1 message(s) are kept "
                                 "and tried again at the next check")
        self.assertNotIn("Traceback", out + err)
        self.assertEqual(Incident.objects.get().state, Incident.OPEN)  # recorded all the same
        self.hook.status = 200
        out, _, failed = self.check()
        self.assertIsNone(failed)
        self.assertEqual(out, "sent: 1 message(s) through ops\n")
        self.assertEqual(len(self.hook.messages), 1)
        self.assertEqual(Notification.objects.get().attempts, 1)

    def test_a_check_while_another_runs_changes_nothing(self):
        self.disk_full(True)
        fd = os.open(settings.APPLIANCE_DATA_DIR / "alerts.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        out, _, _ = self.check()
        self.assertEqual(out, "unchanged: another alert check is running\n")
        self.assertEqual((Incident.objects.count(), self.hook.messages), (0, []))
