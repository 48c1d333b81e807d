import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from appliance.helper import fsutil
from appliance.monitor.sampling import sample


class Command(BaseCommand):
    help = ("Sample what every skill costs: systemd's accounting of its service and its requests "
            "since the last sample (a timer runs it every minute).")

    def handle(self, *args, **options):
        # One sample at a time (the timer's and one by hand): two would read the same request
        # lines from the same journal position and count them twice.
        data_dir = str(settings.APPLIANCE_DATA_DIR)
        os.makedirs(data_dir, exist_ok=True)
        with fsutil.lock_now(f"{data_dir}/monitor.lock",
                             CommandError("another sample is running; nothing done")):
            result = sample()
        requests = "not read" if result.requests is None else f"{result.requests} requests"
        units = "read" if result.units_read else "not read"
        self.stdout.write(f"sampled {result.skills} skills: services {units}, {requests}, "
                          f"{result.pruned} old rows dropped")
        if result.problems:
            # What could be read is stored; the exit status tells the timer's unit it failed.
            raise CommandError("; ".join(result.problems))
