"""The query API the alerts read: restarts and error rate since a time, the latest status."""

from __future__ import annotations

import datetime as dt

from appliance.catalogue.models import Skill
from appliance.monitor import queries
from appliance.monitor.models import HOUR, MINUTE, Sample, UnitStatus
from appliance.monitor.sampling import floor
from appliance.test import BaseTestCase


class QueriesTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.now = dt.datetime.now(dt.UTC)
        self.game = Skill.objects.create(slug="memory-game", name="Memory Game",
                                         source="memory_game", port=8101)
        self.other = Skill.objects.create(slug="other", name="Other", source="memory_game",
                                          port=8102)

    def row(self, skill, period, ago: dt.timedelta, **values):
        Sample.objects.create(skill=skill, period=period, start=floor(self.now - ago, period),
                              **values)

    def test_restarts_since_counts_the_minutes_since_then_of_that_skill_only(self):
        self.row(self.game, MINUTE, dt.timedelta(minutes=2), restarts=2)
        self.row(self.game, MINUTE, dt.timedelta(minutes=8), restarts=3)
        self.row(self.game, MINUTE, dt.timedelta(minutes=30), restarts=5)  # before
        self.row(self.other, MINUTE, dt.timedelta(minutes=2), restarts=9)  # another skill's
        self.row(self.game, HOUR, dt.timedelta(minutes=2), restarts=10)  # the coarse copy
        since = self.now - dt.timedelta(minutes=10)
        self.assertEqual(queries.restarts_since("memory-game", since), 5)
        self.assertEqual(queries.restarts_since("nobody", since), 0)

    def test_beyond_a_day_the_hour_rows_answer(self):
        self.row(self.game, HOUR, dt.timedelta(days=3), restarts=4)
        self.row(self.game, HOUR, dt.timedelta(hours=1), restarts=1)
        self.assertEqual(queries.restarts_since("memory-game",
                                                self.now - dt.timedelta(days=4)), 5)

    def test_the_error_rate_is_errors_over_requests_refusals_aside(self):
        self.row(self.game, MINUTE, dt.timedelta(minutes=1), requests=40, errors=2, refused=30)
        self.row(self.game, MINUTE, dt.timedelta(minutes=3), requests=10, errors=3)
        since = self.now - dt.timedelta(minutes=10)
        self.assertAlmostEqual(queries.error_rate("memory-game", since), 0.1)
        self.assertIsNone(queries.error_rate("other", since))  # no requests: no rate

    def test_latest_is_systemds_last_word_or_none_before_the_first_sample(self):
        self.assertIsNone(queries.latest("memory-game"))
        UnitStatus.objects.create(skill=self.game, sampled=self.now, load_state="loaded",
                                  active_state="failed", sub_state="failed", restarts=7,
                                  memory=None)
        latest = queries.latest("memory-game")
        self.assertEqual((latest["active_state"], latest["restarts"], latest["memory"]),
                         ("failed", 7, None))
        self.assertEqual(set(latest), {"sampled", "load_state", "active_state", "sub_state",
                                       "active_since", "memory", "memory_peak", "cpu_ns",
                                       "restarts"})
