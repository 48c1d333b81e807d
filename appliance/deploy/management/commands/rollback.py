"""``manage.py rollback NUMBER``: restore an earlier revision's catalogue and apply it."""

from django.core.management.base import BaseCommand, CommandError

from ....catalogue.models import Revision
from ...apply import ApplyBusy, rollback_to
from ._report import report


class Command(BaseCommand):
    help = "Roll back to an earlier applied revision: its catalogue, then an apply."

    def add_arguments(self, parser):
        parser.add_argument("number", type=int, help="the revision to go back to")

    def handle(self, *args, **options):
        try:
            target = Revision.objects.get(number=options["number"])
        except Revision.DoesNotExist:
            raise CommandError(f"there is no revision {options['number']}") from None
        try:
            revision = rollback_to(target)
        except (ApplyBusy, ValueError) as exc:
            raise CommandError(str(exc)) from None
        return report(self, revision)
