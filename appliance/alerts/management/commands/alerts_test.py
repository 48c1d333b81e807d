"""Send a test message through each enabled alert channel (or the one named), as the admin's
"Send test" button does, and say whether each arrived."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from appliance.alerts import incidents
from appliance.alerts.models import Channel


class Command(BaseCommand):
    help = "Send a test alert through every enabled channel, or --channel NAME."

    def add_arguments(self, parser):
        parser.add_argument("--channel", metavar="NAME",
                            help="only this channel (enabled or not)")

    def handle(self, *args, **options):
        if options["channel"]:
            chosen = list(Channel.objects.filter(name=options["channel"]))
            if not chosen:
                raise CommandError(f"no alert channel named {options['channel']!r}")
        else:
            chosen = list(Channel.objects.filter(enabled=True))
            if not chosen:
                raise CommandError("no alert channel is enabled: add one in the admin "
                                   "(Alerts > Channels) or with manage.py alerts_channel")
        who = f"{getpass.getuser()} (command line)"
        failed = []
        for channel in chosen:
            delivery = incidents.send_test(channel, who)
            if delivery.ok:
                self.stdout.write(f"sent: {channel.name} ({channel.service})")
            else:
                failed.append(channel.name)
                self.stdout.write(f"failed: {channel.name} ({channel.service}): "
                                  f"{delivery.reason}")
        if failed:
            raise CommandError(f"the test message was not delivered through {', '.join(failed)}")
