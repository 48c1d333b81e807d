"""``manage.py catalogue_revert``: the live revision's rows back, nothing applied."""

from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError

from appliance.catalogue.models import Revision, Skill
from appliance.console.tests.unapplied_fixtures import UnappliedTestCase
from appliance.deploy.models import CatalogueChange


def run(*args):
    out = StringIO()
    call_command("catalogue_revert", *args, stdout=out)
    return out.getvalue()


class CatalogueRevertCommandTestCase(UnappliedTestCase):
    def test_it_reverts_and_says_what_it_discarded(self):
        call_command("skill_add", "quiz", "--hostname", "trivia", stdout=StringIO())
        Skill.objects.create(slug="new", name="New", source="memory_game", port=8102)
        output = run()
        self.assertTrue(output.startswith("changed: the catalogue is back to revision 1"))
        self.assertIn("discarded: skill new added", output)
        self.assertIn("discarded: skill quiz changed: hostname", output)
        self.assertEqual(sorted(Skill.objects.values_list("slug", "hostname")),
                         [("game", ""), ("quiz", "")])
        self.assertEqual(Revision.objects.count(), 1)  # nothing was applied
        self.assertIn("(command line)", CatalogueChange.objects.first().who)

    def test_it_reports_unchanged_when_nothing_is_unapplied(self):
        self.assertEqual(run().strip(), "unchanged: the catalogue is revision 1's")

    def test_it_fails_when_nothing_was_applied(self):
        self.live.delete()
        with self.assertRaisesMessage(CommandError, "nothing was applied yet"):
            run()
        self.assertEqual(Skill.objects.count(), 2)
