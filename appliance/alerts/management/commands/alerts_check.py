"""One alert check: gather the facts, open and clear incidents, send what is undelivered.

The appliance-alerts timer runs it every minute as the admin's user. Its output says what
changed ("opened: ...", "cleared: ...", "sent: ...") or "unchanged: ..."; a channel that could
not deliver is told in words and makes the command fail (so the timer's unit shows it), its
messages kept for the next check.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from appliance.alerts import checks, incidents
from appliance.alerts.gather import gather
from appliance.alerts.models import AlertSettings, Incident, Notification
from appliance.catalogue.models import HostSettings
from appliance.helper import fsutil


class Busy(Exception):
    pass


def check_lock(data_dir: str):
    """One check at a time (the timer's and one by hand): two would send the same message."""
    os.makedirs(data_dir, exist_ok=True)
    return fsutil.lock_now(f"{data_dir}/alerts.lock", Busy())


class Command(BaseCommand):
    help = "Check the host once for problems and send the alerts (run every minute by a timer)."

    def handle(self, *args, **options):
        try:
            with check_lock(str(settings.APPLIANCE_DATA_DIR)):
                self.check()
        except Busy:
            self.stdout.write("unchanged: another alert check is running")

    def check(self):
        now = timezone.now()
        alerting = AlertSettings.load()
        facts = gather(now, alerting.thresholds())
        for what in facts.unknown:
            self.stderr.write(f"not checked: {what}")
        found = checks.findings(facts, alerting.thresholds())
        changes = incidents.record(found, now, open_after=alerting.open_after,
                                   clear_after=alerting.clear_after)
        for change in changes:
            self.stdout.write(f"{change.event}: {change.incident.summary}")
        outcomes = incidents.deliver(now, HostSettings.load().domain)
        failed = []
        for outcome in outcomes:
            if outcome.delivery.ok:
                self.stdout.write(f"sent: {outcome.sent} message(s) through {outcome.channel}")
            else:
                failed.append(outcome.channel)
                self.stdout.write(f"failed: {outcome.channel} did not deliver {outcome.sent} "
                                  f"message(s): {outcome.delivery.reason}")
        if not changes and not outcomes:
            live = Incident.objects.filter(state=Incident.OPEN).count()
            self.stdout.write(f"unchanged: {live} open incident(s)")
        if failed:
            waiting = Notification.objects.filter(sent__isnull=True, given_up=False).count()
            raise CommandError(f"{len(failed)} channel(s) could not deliver ({', '.join(failed)})"
                               f"; {waiting} message(s) are kept and tried again at the next "
                               "check")
