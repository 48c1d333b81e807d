"""Build again the releases this host lacks: ``manage.py releases_rebuild [--kept]``.

Provisioning runs it before every first apply (a restored host, or a build that was
interrupted); it changes nothing when every release is built.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from appliance.deploy.client import HelperError
from appliance.releases import rebuild
from appliance.releases.errors import DeployError


class Command(BaseCommand):
    help = ("Build again, from their kept code, the releases the catalogue runs that this host "
            "has not built (a host restored from a backup has the code, not the virtual "
            "environments); --kept: the other kept releases too, which a rollback may serve. "
            "Prints 'changed: rebuilt SLUG N, ...' or 'unchanged: every release is built'; the "
            "builds' logs go to standard error.")

    def add_arguments(self, parser):
        parser.add_argument("--kept", action="store_true",
                            help="also the kept releases that are not live (each build takes "
                                 "a while)")

    def handle(self, *args, **options):
        try:
            result = rebuild.rebuild_all(kept=options["kept"], echo=self.stderr.write)
        except (DeployError, HelperError) as exc:
            raise CommandError(str(exc)) from None
        if result.not_built:
            self.stderr.write("kept releases this host has not built (a rollback to them "
                              "needs releases_rebuild --kept): "
                              + ", ".join(map(str, result.not_built)))
        if result.rebuilt:
            self.stdout.write(f"changed: rebuilt {', '.join(map(str, result.rebuilt))}")
        else:
            self.stdout.write("unchanged: every release is built")
