"""The dashboard's figures of each skill: its service's cost and its requests over the last hour
and day, with charts that have a text alternative; a missing value is "—", never a traceback;
the number of queries does not grow with the number of skills."""

from __future__ import annotations

import datetime as dt
import re
from unittest import mock

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.console import hoststatus, skillchecks
from appliance.monitor import figures, latency, sampling
from appliance.monitor.models import HOUR, MINUTE, Sample, UnitStatus
from appliance.monitor.sampling import floor
from appliance.test import BaseTestCase

MIB = 1 << 20


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DashboardFiguresTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.enterContext(mock.patch.object(skillchecks, "host_credentials", return_value=None))
        self.enterContext(mock.patch.object(hoststatus, "certificates", lambda fqdns, port: {}))
        self.enterContext(mock.patch("appliance.console.services.host_states",
                                     return_value=None))
        cache.clear()
        self.game = Skill.objects.create(slug="memory-game", name="Memory Game",
                                         source="memory_game", port=8101)
        self.login()

    def page(self) -> str:
        response = self.client.get(reverse("console:dashboard"))
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def row(self, page: str, slug: str) -> str:
        start = page.index(f'data-slug="{slug}"')
        return page[start:page.index('<td class="links">', start)]  # the monitor's two cells

    def status(self, skill, **values) -> UnitStatus:
        started = now() - dt.timedelta(hours=3, minutes=5)
        defaults = {"sampled": now(), "load_state": "loaded", "active_state": "active",
                    "sub_state": "running", "active_since": started,
                    "memory": 44 * MIB, "memory_peak": 70 * MIB, "cpu_ns": 95_500_000_000,
                    "restarts": 2}
        return UnitStatus.objects.create(skill=skill, **{**defaults, **values})

    def requests(self, skill, period, start, requests, errors=0, bucket=3, **values):
        return Sample.objects.create(skill=skill, period=period, start=start, requests=requests,
                                     errors=errors, **{latency.FIELDS[bucket]: requests}, **values)

    def test_a_running_service_shows_its_memory_cpu_restarts_state_and_uptime(self):
        self.status(self.game)
        self.requests(self.game, HOUR, floor(now(), HOUR), 0, restarts=1)
        row = self.row(self.page(), "memory-game")
        self.assertIn("Memory 44.0 MiB · peak 70.0 MiB", row)
        self.assertIn("CPU time 1 min 35 s", row)
        self.assertIn("Restarts 2 · last day 1", row)
        self.assertIn("active (running) · up 3 h 5 min", row)

    def test_requests_errors_and_latency_over_the_last_hour_and_day(self):
        minute = floor(now(), MINUTE)
        hour = floor(now(), HOUR)
        # The last hour: 10 requests at ≤ 10 ms (bucket 3), 10 at ≤ 250 ms (bucket 7), 2 errors.
        self.requests(self.game, MINUTE, minute - dt.timedelta(minutes=5), 10, bucket=3)
        self.requests(self.game, MINUTE, minute - dt.timedelta(minutes=4), 10, errors=2,
                      bucket=7)
        self.requests(self.game, MINUTE, minute - dt.timedelta(minutes=90), 500)  # too old
        # The day: the hour's 20 and 80 more, hours ago.
        self.requests(self.game, HOUR, hour, 10, bucket=3)
        self.requests(self.game, HOUR, hour - dt.timedelta(hours=1), 10, errors=2, bucket=7)
        self.requests(self.game, HOUR, hour - dt.timedelta(hours=5), 80, bucket=3)
        self.requests(self.game, HOUR, hour - dt.timedelta(hours=30), 999)  # too old
        shown = figures.for_skills()[self.game.pk]
        # Interpolated in the bucket: p95 of the hour is the 19th of 20, the 9th of 10 in
        # 100-250 ms; the day's p50 the 50th of 90 in 5-10 ms, its p95 the 5th of 10 above.
        self.assertEqual((shown.hour.requests, shown.hour.errors, shown.hour.p50, shown.hour.p95),
                         ("20", "2 (10%)", "10 ms", "235 ms"))
        self.assertEqual((shown.day.requests, shown.day.errors, shown.day.p50, shown.day.p95),
                         ("100", "2 (2%)", "7.8 ms", "175 ms"))
        row = self.row(self.page(), "memory-game")
        self.assertRegex(row, r'<th scope="row">last hour</th><td>20</td><td>2 \(10%\)</td>'
                              r'<td>10 ms</td><td>235 ms</td>')

    def test_the_charts_are_inline_svg_with_a_text_alternative(self):
        hour = floor(now(), HOUR)
        for hours, requests, memory in ((0, 12, 50 * MIB), (2, 3, 40 * MIB), (5, 30, 45 * MIB)):
            self.requests(self.game, HOUR, hour - dt.timedelta(hours=hours), requests,
                          errors=1, memory=memory)
        row = self.row(self.page(), "memory-game")
        charts = re.findall(r'<svg class="sparkline" role="img" aria-label="([^"]*)"', row)
        self.assertEqual(charts, [
            "Memory over the last day: 40.0 MiB to 50.0 MiB",
            "Requests per hour over the last day: 3 to 30, 45 in all, 3 errors"])
        self.assertEqual(row.count("<title>"), 2)
        self.assertNotIn("<script", row)
        # Hours without a sample are a gap in the line, not a zero.
        path = re.search(r'<path class="requests" stroke="currentColor" d="([^"]*)"', row)[1]
        self.assertEqual(path.count("M"), 3)

    def test_a_unit_not_loaded_and_not_set_values_are_dashes(self):
        self.status(self.game, load_state="not-found", active_state="inactive", sub_state="dead",
                    active_since=None, memory=None, memory_peak=None, cpu_ns=None, restarts=0)
        lazy = Skill.objects.create(slug="lazy", name="Lazy", source="memory_game", port=8102)
        self.status(lazy, active_state="inactive", sub_state="dead", active_since=None,
                    memory=None, memory_peak=None, cpu_ns=None, restarts=None)
        page = self.page()
        game, lazy_row = self.row(page, "memory-game"), self.row(page, "lazy")
        self.assertIn("Memory — · peak —", game)
        self.assertIn("not installed · up —", game)
        self.assertIn("CPU time —", lazy_row)
        self.assertIn("Restarts — · last day —", lazy_row)
        self.assertIn("inactive (dead) · up —", lazy_row)

    def test_a_skill_never_sampled_says_so(self):
        self.assertIn("(not sampled yet)", self.row(self.page(), "memory-game"))

    def test_a_status_the_sampler_stopped_updating_is_not_shown_as_now(self):
        self.status(self.game, sampled=now() - dt.timedelta(minutes=30))
        row = self.row(self.page(), "memory-game")
        self.assertIn("Memory — · peak —", row)
        self.assertNotIn("44.0 MiB", row)

    def test_the_queries_do_not_grow_with_the_skills(self):
        def count() -> int:
            cache.clear()
            with CaptureQueriesContext(connection) as queries:
                self.page()
            return len(queries)

        self.status(self.game)
        self.requests(self.game, MINUTE, floor(now(), MINUTE), 3)
        self.requests(self.game, HOUR, floor(now(), HOUR), 3)
        with_one = count()
        for number in range(20):
            skill = Skill.objects.create(slug=f"s{number}", name=f"S{number}",
                                         source="memory_game", port=8200 + number)
            self.status(skill)
            self.requests(skill, MINUTE, floor(now(), MINUTE), 3)
            self.requests(skill, HOUR, floor(now(), HOUR), 3)
        self.assertEqual(count(), with_one)

    def test_the_figures_are_kept_until_the_sampler_writes_again(self):
        self.status(self.game, memory=44 * MIB)
        self.assertIn("Memory 44.0 MiB", self.row(self.page(), "memory-game"))
        UnitStatus.objects.filter(skill=self.game).update(memory=50 * MIB)  # not the sampler
        with CaptureQueriesContext(connection) as queries:
            self.assertIn("Memory 44.0 MiB", self.row(self.page(), "memory-game"))
        self.assertFalse([q for q in queries if "SUM(" in q["sql"]])  # no sums recomputed
        # The sampler's next write: its requests move the journal position on.
        sampling.record_requests([self.game], {"cursor": "s=1;i=2", "units": {}})
        self.assertIn("Memory 50.0 MiB", self.row(self.page(), "memory-game"))
