"""``manage.py apply``: render, install and check the catalogue, as the admin's Apply button.

``--diff`` prints the diff of the rendered files first and then applies exactly that (as the
review page's confirmation does); ``--dry-run`` prints it and applies nothing.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from ....render.layout import LayoutError
from ...apply import ApplyBusy, CatalogueChanged, apply_catalogue
from ...pending import pending_changes
from ...plan import pending_plan
from ._report import report


class Command(BaseCommand):
    help = "Apply the catalogue: render, validate, install, reload, health-check (or roll back)."

    def add_arguments(self, parser):
        parser.add_argument("--reason", default="", help="why (kept with the revision)")
        parser.add_argument("--diff", action="store_true",
                            help="print the diff of the rendered files against the live "
                                 "revision (secret files named, never shown), then apply it")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--check", action="store_true",
                          help="only say, as one JSON line, whether an apply is pending and why")
        when.add_argument("--if-pending", action="store_true",
                          help="apply only when the catalogue or a skill's code changed")
        when.add_argument("--dry-run", action="store_true",
                          help="print the diff and apply nothing (makes the test console's CA "
                               "when due, as an apply would)")

    def handle(self, *args, **options):
        if options["check"] and options["diff"]:
            raise CommandError("--check prints one JSON line; use --diff with an apply or "
                               "--dry-run")
        if options["check"] or options["if_pending"]:
            pending = pending_changes()
            if options["check"]:
                self.stdout.write(json.dumps(pending))
                return
            if not pending["pending"]:
                self.stdout.write(f"unchanged: nothing is pending, revision "
                                  f"{pending['applied']} is applied")
                return
        expected = None
        if options["diff"] or options["dry_run"]:
            expected = self._print_plan()
            if options["dry_run"]:
                return
        try:
            revision = apply_catalogue(reason=options["reason"], expected=expected)
        except (ApplyBusy, LayoutError) as exc:
            raise CommandError(str(exc)) from None
        except CatalogueChanged as exc:
            raise CommandError(f"nothing was applied: {exc} after the diff was printed; run "
                               "it again to see the new diff") from None
        return report(self, revision)

    def _print_plan(self) -> str:
        """Prints what an apply would change; its digest, for the apply to check."""
        plan = pending_plan()
        if plan.error:
            raise CommandError(f"the catalogue does not render: {plan.error}")
        self.stdout.write(plan.text(), ending="")
        return plan.digest
