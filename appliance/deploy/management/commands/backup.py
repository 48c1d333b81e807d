"""``manage.py backup``: one encrypted archive of the appliance, written by the root helper.

What goes in (the catalogue, secrets, uploaded code, the console CA, Caddy's certificates and
account), where it goes (a local folder or S3) and to whom it is encrypted are root's settings
(``backup`` in layout.json, from provisioning's ``appliance_backup_*``): this command only asks.
"""

from django.core.management.base import BaseCommand, CommandError

from ...client import HelperError, run_helper

TIMEOUT = 900.0  # an upload to S3 over a slow link


def size_words(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


class Command(BaseCommand):
    help = "Back up the appliance: one encrypted archive, written by the root helper."

    def handle(self, *args, **options):
        try:
            result = run_helper("backup", timeout=TIMEOUT)
        except HelperError as exc:
            raise CommandError(f"no backup was made: {exc}") from None
        self.stdout.write(f"changed: {result['name']} ({size_words(result['size'])})")
        self.stdout.write(f"  in {result['where']}: {result['files']} files, "
                          f"{size_words(result['bytes'])} before compression and encryption")
        for name in result.get("pruned", []):
            self.stdout.write(f"  removed the older {name}")
        for reason in result.get("skipped", []):
            self.stderr.write(f"  left out {reason}")
