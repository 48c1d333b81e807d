"""A week of history for 20 skills stays under 20 MB of SQLite: filled by the sampler's own
code (every minute's requests in hourly batches, as the helper hands over a backlog, and
systemd's half each hour), pruned as the timer's runs prune, every row then given systemd's
figures too (the worst case: every column full), written out with VACUUM INTO and measured."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.test import TransactionTestCase

from appliance.catalogue.models import Skill
from appliance.monitor import sampling, systemd
from appliance.monitor.models import HOUR, MINUTE, Sample

SKILLS = 20
LIMIT = 20 * 1000 * 1000
START = dt.datetime(2024, 12, 1, tzinfo=dt.UTC)


class HistorySizeTestCase(TransactionTestCase):
    # VACUUM INTO cannot run inside the transaction a TestCase wraps each test in.
    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path):
        self.tmp_path = tmp_path

    def test_a_week_for_20_skills_is_under_20_mb(self):
        skills = [Skill.objects.create(slug=f"skill-{n:02d}", name=f"Skill {n}",
                                       source="memory_game", port=8100 + n)
                  for n in range(SKILLS)]
        rng = random.Random(16)
        cpu = dict.fromkeys(range(SKILLS), 0)

        def readings(when: dt.datetime) -> dict[str, systemd.Reading]:
            found = {}
            for n, skill in enumerate(skills):
                cpu[n] += rng.randrange(10**6, 10**9)
                found[skill.unit_name] = systemd.Reading(
                    load_state="loaded", active_state="active", sub_state="running",
                    memory=rng.randrange(30 << 20, 300 << 20), cpu_ns=cpu[n],
                    restarts=rng.randrange(0, 3), active_since=START)
            return found

        def requests(start: dt.datetime, minutes: int) -> dict:
            # A few requests a minute for every skill, slow and fast, some failing.
            units = {skill.unit_name: [[(start + dt.timedelta(minutes=m, seconds=s)).timestamp(),
                                        rng.choice(["ok", "ok", "ok", "error", "refused"]),
                                        rng.lognormvariate(3, 1.5)]
                                       for m in range(minutes) for s in (5, 25, 45)]
                     for skill in skills}
            return {"ok": True, "cursor": f"s=1;i={int(start.timestamp()):x}", "units": units}

        end = START + dt.timedelta(days=7)
        when = START
        while when < end:  # hourly here keeps the test quick
            sampling.record_units(when, skills, readings(when))
            sampling.record_requests(skills, requests(when, 60))
            sampling.prune(when)
            when += dt.timedelta(hours=1)
        sampling.prune(end)
        Sample.objects.filter(memory=None).update(memory=299 << 20, cpu_ns=999_999_999,
                                                  restarts=2)

        minute_rows = Sample.objects.filter(period=MINUTE).count()
        hour_rows = Sample.objects.filter(period=HOUR).count()
        self.assertEqual(minute_rows, SKILLS * 24 * 60)
        self.assertEqual(hour_rows, SKILLS * 7 * 24)
        path = self.tmp_path / "week.sqlite3"
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(path)])
        size = path.stat().st_size
        print(f"\na week for {SKILLS} skills: {minute_rows} minute rows, {hour_rows} "
              f"hour rows, {size / 1e6:.1f} MB")
        self.assertLess(size, LIMIT)
