"""``manage.py catalogue_revert``: discard the catalogue's unapplied changes."""

from django.core.management.base import BaseCommand, CommandError

from ....render.layout import LayoutError
from ...apply import ApplyBusy
from ...revert import revert_catalogue
from ...unapplied import unapplied


class Command(BaseCommand):
    help = ("Put the catalogue back to the last applied revision (skills and host settings), "
            "discarding what was saved since. Nothing is applied: that is what is live.")

    def handle(self, *args, **options):
        state = unapplied()
        if state.applied is not None and not state.differences:
            self.stdout.write(f"unchanged: the catalogue is revision {state.applied.number}'s")
            return
        try:
            revision = revert_catalogue()
        except (ApplyBusy, LayoutError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"changed: the catalogue is back to revision {revision.number}")
        for difference in state.differences:
            self.stdout.write(f"  discarded: {difference.label} {difference.how}")
