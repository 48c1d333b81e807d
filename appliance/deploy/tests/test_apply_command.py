"""``manage.py apply --check`` and ``--if-pending``: whether an apply is due, in words, without
writing anything; and an apply only when one is (the helper and health check are faked)."""

from __future__ import annotations

import json
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appliance.catalogue.models import HostSettings, Revision, Skill
from appliance.deploy import revisions
from appliance.test import BaseTestCase

from .fakes import fake_systemd_host

pytestmark = pytest.mark.unit


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("apply", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue().strip()


class ApplyCommandTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.root, self.helper = fake_systemd_host(self)
        Skill.objects.create(slug="always", name="always", source="memory_game", port=8101)

    def check(self) -> dict:
        out, _ = run("--check")
        self.assertEqual(len(out.splitlines()), 1, out)
        return json.loads(out)

    def apply(self) -> Revision:
        out, _ = run("--reason", "test")
        self.assertTrue(out.startswith("revision "), out)
        return Revision.objects.latest("number")

    def test_check_on_a_fresh_catalogue_says_nothing_was_applied_yet_and_writes_nothing(self):
        self.assertEqual(self.check(), {"pending": True, "reasons": ["nothing was applied yet"],
                                        "applied": None})
        self.assertFalse(Revision.objects.exists())
        self.assertEqual(self.helper, [])
        # Not even the console's CA: the apply makes it.
        self.assertEqual(list(self.root.iterdir()), [self.root / "layout.json"])

    def test_it_reports_nothing_pending_after_an_apply(self):
        revision = self.apply()
        self.assertEqual(revision.outcome, Revision.APPLIED, revision.messages)
        self.assertEqual(self.check(), {"pending": False, "reasons": [],
                                        "applied": revision.number})

    def test_a_changed_port_is_pending_and_names_the_files_it_changes(self):
        self.apply()
        Skill.objects.filter(slug="always").update(port=8111)
        pending = self.check()
        self.assertTrue(pending["pending"])
        [reason] = pending["reasons"]
        self.assertRegex(reason, r"^\d+ rendered files differ: ")
        self.assertIn("Caddyfile", reason)
        self.assertIn("alexa-skill-always.service", reason)

    def test_changed_templates_are_pending(self):
        self.apply()
        Skill.objects.filter(slug="always").update(templates="greeting: hello again\n")
        [reason] = self.check()["reasons"]
        self.assertIn("/skills/always/templates.yaml", reason)

    def test_changed_code_is_pending_and_names_the_skill(self):
        self.apply()
        with mock.patch.object(revisions, "source_digest", return_value="upgraded"):
            pending = self.check()
        self.assertEqual(pending["reasons"], ["a skill's code changed: always"])

    def test_a_catalogue_that_does_not_render_is_pending_with_the_reason_in_words(self):
        self.apply()
        HostSettings.objects.update(init_flavour="sysv")
        out, err = run("--check")
        pending = json.loads(out)
        self.assertTrue(pending["pending"])
        self.assertEqual(pending["reasons"], [
            "the catalogue does not render: the catalogue says sysv but this host runs systemd "
            "(layout.json); change the host settings"])
        self.assertNotIn("Traceback", out + err)

    def test_if_pending_does_nothing_when_nothing_is_pending(self):
        first = self.apply()
        self.helper.clear()
        out, _ = run("--if-pending")
        self.assertEqual(out, f"unchanged: nothing is pending, revision {first.number} is applied")
        self.assertEqual(Revision.objects.count(), 1)
        self.assertEqual(self.helper, [])

    def test_if_pending_applies_when_something_is(self):
        out, _ = run("--if-pending")
        self.assertTrue(out.startswith("revision 1 applied"), out)
        Skill.objects.filter(slug="always").update(threads=2)
        out, _ = run("--if-pending", "--reason", "threads")
        self.assertTrue(out.startswith("revision 2 applied"), out)
        second = Revision.objects.get(number=2)
        self.assertEqual((second.outcome, second.reason), (Revision.APPLIED, "threads"))
        self.assertIn("services restart alexa-skill-always", self.helper)

    def test_check_and_if_pending_do_not_go_together(self):
        with self.assertRaisesMessage(CommandError, "not allowed with argument"):
            run("--check", "--if-pending")
        self.assertFalse(Revision.objects.exists())
