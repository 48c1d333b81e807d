"""``manage.py apply --diff`` and ``--dry-run``: the diff of the rendered files against the live
revision, printed before anything is applied; the apply installs exactly what was printed or
nothing; a secret's value is never printed (the helper and health check are faked)."""

from __future__ import annotations

from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appliance.catalogue.models import HostSettings, Revision, Skill
from appliance.deploy import plan as plan_module
from appliance.test import BaseTestCase

from .fakes import fake_systemd_host

pytestmark = pytest.mark.unit

OLD_KEY, NEW_KEY = "first-key-0d1e", "second-key-77ab"


def run(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command("apply", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


class ApplyDiffCommandTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.root, self.helper = fake_systemd_host(self)
        self.game = Skill.objects.create(slug="game", name="Game", source="memory_game",
                                         port=8101, secrets={"API_KEY": OLD_KEY})

    def live(self) -> Revision:
        run("--reason", "first")
        self.helper.clear()
        return Revision.objects.get(outcome=Revision.APPLIED)

    def test_dry_run_prints_the_diff_and_applies_nothing(self):
        self.live()
        Skill.objects.filter(pk=self.game.pk).update(port=8202)
        out = run("--dry-run")
        self.assertIn(f"--- a{self.root}/etc/caddy/Caddyfile", out)
        self.assertIn("-\treverse_proxy 127.0.0.1:8101\n+\treverse_proxy 127.0.0.1:8202", out)
        self.assertTrue(out.endswith("2 files differ from revision 1: +2 -2 lines\n"), out)
        self.assertEqual(Revision.objects.count(), 1)
        self.assertEqual(self.helper, [])

    def test_dry_run_with_nothing_pending_says_so(self):
        self.live()
        self.assertEqual(run("--dry-run"), "no rendered file differs from revision 1\n")

    def test_diff_prints_then_applies_exactly_what_it_printed(self):
        self.live()
        Skill.objects.filter(pk=self.game.pk).update(port=8202, threads=2)
        out = run("--diff", "--reason", "new port")
        revision = Revision.objects.get(number=2)
        self.assertEqual(revision.outcome, Revision.APPLIED)
        self.assertIn("install", self.helper)
        printed, _, report = out.partition("2 files differ from revision 1")
        self.assertEqual(printed, revision.diff)  # what the revision keeps is what was shown
        self.assertIn("revision 2 applied", report)

    def test_a_changed_secret_is_never_printed_nor_kept(self):
        self.live()
        Skill.objects.filter(pk=self.game.pk).update(secrets={"API_KEY": NEW_KEY})
        out = run("--diff")
        self.assertIn("(secret file changed)", out)
        self.assertIn("1 secret (content not shown)", out)
        revision = Revision.objects.get(number=2)
        for text in (out, revision.diff):
            for value in (OLD_KEY, NEW_KEY, "API_KEY", "hmac-sha256:"):
                self.assertNotIn(value, text)

    def test_a_change_after_the_diff_was_printed_applies_nothing(self):
        self.live()
        printed = plan_module.pending_plan

        def then_someone_saves():
            plan = printed()
            Skill.objects.filter(pk=self.game.pk).update(port=8303)
            return plan

        with mock.patch("appliance.deploy.management.commands.apply.pending_plan",
                        then_someone_saves), self.assertRaises(CommandError) as refused:
            run("--diff")
        self.assertIn("nothing was applied", str(refused.exception))
        self.assertIn("changed since it was reviewed", str(refused.exception))
        self.assertEqual(Revision.objects.count(), 1)
        self.assertEqual(self.helper, [])

    def test_a_catalogue_that_does_not_render_is_an_error_and_applies_nothing(self):
        HostSettings.objects.update(init_flavour="sysv")  # the layout says systemd
        with self.assertRaises(CommandError) as refused:
            run("--dry-run")
        self.assertIn("this host runs systemd", str(refused.exception))
        self.assertFalse(Revision.objects.exists())

    def test_check_and_diff_do_not_go_together(self):
        with self.assertRaises(CommandError):
            run("--check", "--diff")
        with self.assertRaises(CommandError):
            run("--check", "--dry-run")  # argparse's own refusal
