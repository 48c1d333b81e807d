"""``manage.py apply``: render, install and check the catalogue, as the admin's Apply button."""

from django.core.management.base import BaseCommand, CommandError

from ....render.layout import LayoutError
from ...apply import ApplyBusy, apply_catalogue
from ._report import report


class Command(BaseCommand):
    help = "Apply the catalogue: render, validate, install, reload, health-check (or roll back)."

    def add_arguments(self, parser):
        parser.add_argument("--reason", default="", help="why (kept with the revision)")

    def handle(self, *args, **options):
        try:
            revision = apply_catalogue(reason=options["reason"])
        except (ApplyBusy, LayoutError) as exc:
            raise CommandError(str(exc)) from None
        return report(self, revision)
