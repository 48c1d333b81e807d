"""Add, change or remove an alert channel from the command line (and from Ansible).

The URL holds the service's tokens, so it never goes on the command line: it is read from the
environment variable --url-env names. Output: changed/unchanged, as the catalogue commands.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from appliance.alerts.forms import ChannelForm
from appliance.alerts.models import Channel
from appliance.catalogue.management.commands._base import form_errors, secret_from_env


class Command(BaseCommand):
    help = "Add or change an alert channel (its apprise URL from an environment variable)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--url-env", metavar="VAR",
                            help="the environment variable holding the apprise URL")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--enable", dest="enabled", action="store_true", default=None)
        state.add_argument("--disable", dest="enabled", action="store_false")
        parser.add_argument("--remove", action="store_true", help="delete the channel")

    def handle(self, *args, **options):
        name = options["name"]
        channel = Channel.objects.filter(name=name).first()
        if options["remove"]:
            if channel is None:
                self.stdout.write(f"unchanged: no alert channel {name}")
            else:
                channel.delete()
                self.stdout.write(f"changed: removed alert channel {name}")
            return
        url = secret_from_env(options["url_env"]) if options["url_env"] else ""
        if channel is None and not url:
            raise CommandError(f"a new channel needs its URL: --url-env VAR, with VAR holding "
                               f"the apprise URL of {name}")
        before = (channel.url, channel.enabled) if channel else None
        enabled = options["enabled"]
        data = {"name": name, "url": url,
                "enabled": (channel.enabled if channel else True) if enabled is None
                else enabled}
        form = ChannelForm(data, instance=channel)
        if not form.is_valid():
            raise CommandError(f"alert channel {name} not saved: {form_errors(form)}")
        if before == (form.cleaned_data["url"], form.cleaned_data["enabled"]):
            self.stdout.write(f"unchanged: alert channel {name}")
            return
        saved = form.save()
        self.stdout.write(f"changed: alert channel {name} ({saved.service}, "
                          f"{'enabled' if saved.enabled else 'disabled'})")
