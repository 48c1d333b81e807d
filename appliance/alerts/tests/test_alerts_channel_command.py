"""``manage.py alerts_channel``: a channel from the command line (and Ansible), its URL read
from the environment and checked with apprise, changed/unchanged, nothing half-saved."""

from __future__ import annotations

import io
import os
from unittest import mock

from django.core.management import CommandError, call_command

from appliance.alerts.models import Channel

from .base import AlertsTestCase

NTFY = "ntfy://ntfy.sh/appliance-alerts-token"


class AlertsChannelCommandTestCase(AlertsTestCase):
    def run_command(self, *args, env=None) -> str:
        out = io.StringIO()
        with mock.patch.dict(os.environ, env or {}):
            call_command("alerts_channel", *args, stdout=out)
        return out.getvalue()

    def test_a_channel_is_added_then_unchanged_then_changed(self):
        env = {"OPS_URL": NTFY}
        self.assertEqual(self.run_command("ops", "--url-env", "OPS_URL", env=env),
                         "changed: alert channel ops (ntfy, enabled)\n")
        self.assertEqual(self.run_command("ops", "--url-env", "OPS_URL", env=env),
                         "unchanged: alert channel ops\n")
        self.assertEqual(self.run_command("ops", "--disable"),
                         "changed: alert channel ops (ntfy, disabled)\n")
        self.assertEqual(self.run_command("ops"), "unchanged: alert channel ops\n")
        channel = Channel.objects.get()
        self.assertEqual((channel.url, channel.service, channel.enabled), (NTFY, "ntfy", False))

    def test_a_bad_url_is_a_command_error_and_nothing_is_saved(self):
        with self.assertRaisesMessage(CommandError, "alert channel ops not saved: url: apprise "
                                                    "cannot send to this URL"):
            self.run_command("ops", "--url-env", "OPS_URL", env={"OPS_URL": "nosuch://x/y"})
        self.assertFalse(Channel.objects.exists())

    def test_a_new_channel_needs_its_url_from_a_set_variable(self):
        with self.assertRaisesMessage(CommandError, "a new channel needs its URL"):
            self.run_command("ops")
        with self.assertRaisesMessage(CommandError, "OPS_URL is not set"):
            self.run_command("ops", "--url-env", "OPS_URL")
        self.assertFalse(Channel.objects.exists())

    def test_remove_deletes_it_once(self):
        Channel.objects.create(name="ops", url=NTFY, service="ntfy")
        self.assertEqual(self.run_command("ops", "--remove"),
                         "changed: removed alert channel ops\n")
        self.assertEqual(self.run_command("ops", "--remove"),
                         "unchanged: no alert channel ops\n")
