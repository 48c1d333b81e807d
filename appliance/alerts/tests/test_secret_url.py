"""A channel's URL holds its tokens: it is never on a page, in the log (apprise's own DEBUG lines
name it), in a command's output or in a revision, whether deliveries work or fail."""

from __future__ import annotations

import io
import json
import logging
import tempfile
from pathlib import Path
from unittest import mock

from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from appliance.alerts.models import Channel, Incident
from appliance.catalogue.models import Revision, Skill
from appliance.deploy import apply as apply_module
from appliance.deploy.apply import apply_catalogue
from appliance.deploy.models import CatalogueChange
from appliance.deploy.tests.fakes import FakeHelper, systemd_layout

from .base import AlertsTestCase
from .receiver import Receiver

PASSWORD, TOKEN = "pa55-Word-9", "s3cret-hook-token"


class Everything(logging.Handler):
    def __init__(self):
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


class SecretURLTestCase(AlertsTestCase):
    def setUp(self):
        super().setUp()
        self.hook = self.enterContext(Receiver(path=f"/hooks/{TOKEN}"))
        self.url = f"json://alerts:{PASSWORD}@127.0.0.1:{self.hook.port}/hooks/{TOKEN}"
        # Every logger at DEBUG into one list, as a verbose admin would log.
        self.log = Everything()
        root = logging.getLogger()
        level = root.level
        root.addHandler(self.log)
        root.setLevel(logging.DEBUG)
        self.addCleanup(root.setLevel, level)
        self.addCleanup(root.removeHandler, self.log)
        self.texts: list[str] = []
        self.login()

    def keep(self, text) -> None:
        self.texts.append(text if isinstance(text, str) else text.content.decode())

    def assert_never_seen(self):
        seen = "\n".join(self.texts + self.log.lines)
        for secret in (PASSWORD, TOKEN, self.url):
            self.assertNotIn(secret, seen)

    def command(self, *args) -> None:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(*args, stdout=out, stderr=err)
        except CommandError as exc:  # its words are output too
            self.keep(str(exc))
        self.keep(out.getvalue() + err.getvalue())

    def test_the_url_is_on_no_page_and_in_no_log_as_it_is_saved_tested_and_used(self):
        r = self.client.post(reverse("admin:alerts_channel_add"),
                             {"name": "ops", "url": self.url, "enabled": "on"}, follow=True)
        self.keep(r)
        channel = Channel.objects.get()
        self.assertEqual(channel.url, self.url)
        for page in (reverse("admin:alerts_channel_changelist"),
                     reverse("admin:alerts_channel_change", args=[channel.pk]),
                     reverse("admin:alerts_channel_history", args=[channel.pk])):
            self.keep(self.client.get(page))
        self.keep(self.client.post(reverse("admin:alerts_channel_test", args=[channel.pk]),
                                   follow=True))
        self.hook.status = 500
        self.keep(self.client.post(reverse("admin:alerts_channel_test", args=[channel.pk]),
                                   follow=True))
        self.settings_row(disk_percent=1)
        self.command("alerts_check")  # fails to deliver
        self.hook.status = 200
        self.command("alerts_check")  # delivers
        self.command("alerts_test")
        incident = Incident.objects.get()
        self.keep(self.client.get(reverse("admin:alerts_incident_change", args=[incident.pk])))
        self.keep(self.client.get(reverse("admin:alerts_channel_changelist")))
        self.assertEqual(len(self.hook.messages), 3)  # it was used: test, alert, test
        self.assertTrue(self.log.lines)  # and the log was listening
        self.assertTrue(any("JSON" in line for line in self.texts))
        self.assert_never_seen()

    def test_a_channel_that_cannot_be_reached_is_reported_without_its_url(self):
        closed = f"json://alerts:{PASSWORD}@127.0.0.1:1/hooks/{TOKEN}"
        self.url = closed
        channel = self.channel(closed)
        r = self.client.post(reverse("admin:alerts_channel_test", args=[channel.pk]),
                             follow=True)
        self.assertContains(r, "Connection refused")
        self.keep(r)
        self.settings_row(disk_percent=1)
        self.command("alerts_check")
        self.assertIn("failed: ops did not deliver", self.texts[-1])
        self.assert_never_seen()

    def test_the_command_line_reads_the_url_from_the_environment_and_never_prints_it(self):
        with mock.patch.dict("os.environ", {"OPS_URL": self.url}):
            self.command("alerts_channel", "ops", "--url-env", "OPS_URL")
            self.command("alerts_channel", "ops", "--url-env", "OPS_URL")
        self.assertEqual(self.texts, ["changed: alert channel ops (JSON, enabled)\n",
                                      "unchanged: alert channel ops\n"])
        self.assert_never_seen()

    def test_no_revision_or_change_record_holds_the_url(self):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        helper = FakeHelper()
        with override_settings(**systemd_layout(Path(directory.name))), \
                mock.patch.object(apply_module, "run_helper", helper), \
                mock.patch.object(apply_module.health, "wait_healthy", helper.wait_healthy):
            self.client.post(reverse("admin:alerts_channel_add"),
                             {"name": "ops", "url": self.url, "enabled": "on"})
            Skill.objects.create(slug="quiz", name="Quiz", source="memory_game", port=8101)
            revision = apply_catalogue(reason="with an alert channel")
        self.assertEqual(revision.outcome, Revision.APPLIED, revision.messages)
        self.assertTrue(Channel.objects.exists())
        self.keep(json.dumps(list(Revision.objects.values("files", "catalogue", "diff",
                                                          "messages"))))
        self.keep(json.dumps(list(CatalogueChange.objects.values("what"))))
        self.keep(json.dumps(list(LogEntry.objects.values("object_repr", "change_message"))))
        self.assertIn("quiz", self.texts[0])
        self.assert_never_seen()
