"""``manage.py alerts_test``: a test message through each enabled channel (or the one named) to
real webhook receivers on loopback, each outcome told, a failure a CommandError in words."""

from __future__ import annotations

import io
import os
from unittest import mock

from django.core.management import CommandError, call_command

from .base import AlertsTestCase
from .receiver import Receiver


class AlertsTestCommandTestCase(AlertsTestCase):
    def setUp(self):
        super().setUp()
        self.hook = self.enterContext(Receiver())

    def run_command(self, *args) -> str:
        out = io.StringIO()
        call_command("alerts_test", *args, stdout=out)
        return out.getvalue()

    def test_every_enabled_channel_gets_one_test_message(self):
        self.channel(self.hook.url, name="ops")
        with Receiver(path="/off") as off, Receiver(tls=True, path="/tls") as secure:
            self.channel(off.url, name="off", enabled=False)
            self.channel(secure.url, name="secure")
            with mock.patch.dict(os.environ, {"REQUESTS_CA_BUNDLE": secure.ca_bundle}):
                out = self.run_command()
            self.assertEqual(out, "sent: ops (JSON)\nsent: secure (JSON)\n")
            self.assertEqual((len(secure.messages), off.messages), (1, []))
        self.assertEqual(self.hook.titles(), ["[localhost] Test alert from the appliance"])
        self.assertIn("(command line)", self.hook.messages[0]["message"])

    def test_a_named_channel_is_tested_even_when_disabled(self):
        self.channel(self.hook.url, name="later", enabled=False)
        self.assertEqual(self.run_command("--channel", "later"), "sent: later (JSON)\n")
        self.assertEqual(len(self.hook.messages), 1)

    def test_a_failed_delivery_is_told_and_the_command_fails(self):
        self.hook.status = 502
        self.channel(self.hook.url, name="ops")
        out = io.StringIO()
        with self.assertRaisesMessage(CommandError, "the test message was not delivered "
                                                    "through ops"):
            call_command("alerts_test", stdout=out)
        self.assertIn("failed: ops (JSON): Failed to send JSON POST notification", out.getvalue())

    def test_no_channel_or_an_unknown_one_is_a_clear_error(self):
        with self.assertRaisesMessage(CommandError, "no alert channel is enabled"):
            self.run_command()
        with self.assertRaisesMessage(CommandError, "no alert channel named 'nope'"):
            self.run_command("--channel", "nope")
