"""``manage.py apply``: render, install and check the catalogue, as the admin's Apply button."""

import json

from django.core.management.base import BaseCommand, CommandError

from ....render.layout import LayoutError
from ...apply import ApplyBusy, apply_catalogue
from ...pending import pending_changes
from ._report import report


class Command(BaseCommand):
    help = "Apply the catalogue: render, validate, install, reload, health-check (or roll back)."

    def add_arguments(self, parser):
        parser.add_argument("--reason", default="", help="why (kept with the revision)")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--check", action="store_true",
                          help="only say, as one JSON line, whether an apply is pending and why")
        when.add_argument("--if-pending", action="store_true",
                          help="apply only when the catalogue or a skill's code changed")

    def handle(self, *args, **options):
        if options["check"] or options["if_pending"]:
            pending = pending_changes()
            if options["check"]:
                self.stdout.write(json.dumps(pending))
                return
            if not pending["pending"]:
                self.stdout.write(f"unchanged: nothing is pending, revision "
                                  f"{pending['applied']} is applied")
                return
        try:
            revision = apply_catalogue(reason=options["reason"])
        except (ApplyBusy, LayoutError) as exc:
            raise CommandError(str(exc)) from None
        return report(self, revision)
