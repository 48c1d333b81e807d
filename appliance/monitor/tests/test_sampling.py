"""``monitor_sample``: systemd's accounting and the request log, added into minute and hour
rows; each half stored even when the other fails; old rows dropped."""

from __future__ import annotations

import datetime as dt
import fcntl
import os

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from appliance.catalogue.models import Skill
from appliance.monitor import sampling, systemd
from appliance.monitor.models import HOUR, MINUTE, JournalPosition, Sample, UnitStatus
from appliance.test import BaseTestCase

from . import show_samples
from .fakes import Helper, Journal

T0 = dt.datetime(2024, 12, 2, 3, 20, 0, 400_000, tzinfo=dt.UTC)
MONOTONIC = 5000.0 + 3 * 3600  # memory-game became active at T0 - 3 h
MIB = 1 << 20


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


class SamplingTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _far_ends(self, tmp_path, monkeypatch):
        self.journal = Journal()
        self.helper = Helper(tmp_path, monkeypatch, self.journal)
        monkeypatch.setattr(sampling, "run_helper", self.helper)
        self.show = show_samples.ALL
        self.systemd_down = False
        monkeypatch.setattr(systemd, "read", self.read)

    def read(self, units):
        if self.systemd_down:
            raise systemd.SystemdError("systemctl is not installed: this host does not run "
                                       "systemd")
        # The monotonic clock moves with the samples' wall clock.
        moved = (self.now - T0).total_seconds()
        return systemd.parse(self.show, units, self.now, MONOTONIC + moved)

    def setUp(self):
        super().setUp()
        self.game = Skill.objects.create(slug="memory-game", name="Memory Game",
                                         source="memory_game", port=8101)
        self.lazy = Skill.objects.create(slug="lazy", name="Lazy", source="memory_game",
                                         port=8102, on_demand=True)

    def sample(self, when: dt.datetime) -> sampling.Result:
        self.now = when
        return sampling.sample(when)

    def running(self, memory: int, cpu_ns: int, restarts: int = 2,
                started_monotonic: int = 5_000_000_000) -> None:
        self.show = (show_samples.RUNNING
                     .replace("MemoryCurrent=44040192", f"MemoryCurrent={memory}")
                     .replace("CPUUsageNSec=1520000000", f"CPUUsageNSec={cpu_ns}")
                     .replace("NRestarts=2", f"NRestarts={restarts}")
                     .replace("Monotonic=5000000000", f"Monotonic={started_monotonic}"))

    def rows(self, skill, period):
        return list(Sample.objects.filter(skill=skill, period=period).order_by("start"))

    # --- systemd's half ------------------------------------------------------------------------

    def test_a_sample_stores_each_services_status_and_its_minute_and_ten_minute_rows(self):
        result = self.sample(T0)
        self.assertTrue(result.units_read)
        status = UnitStatus.objects.get(skill=self.game)
        self.assertEqual((status.load_state, status.active_state, status.sub_state),
                         ("loaded", "active", "running"))
        self.assertEqual((status.memory, status.memory_peak, status.cpu_ns, status.restarts),
                         (44040192, 44040192, 1520000000, 2))
        self.assertEqual(status.active_since, T0 - dt.timedelta(hours=3))
        lazy = UnitStatus.objects.get(skill=self.lazy)
        self.assertEqual((lazy.active_state, lazy.memory, lazy.cpu_ns), ("inactive", None, None))
        minute, = self.rows(self.game, MINUTE)
        hour, = self.rows(self.game, HOUR)
        self.assertEqual((minute.start, minute.memory), (T0.replace(microsecond=0), 44040192))
        self.assertEqual((hour.start, hour.memory), (T0.replace(minute=0, second=0, microsecond=0),
                                                     44040192))
        # Nothing used is counted before there is a sample to count from.
        self.assertEqual((minute.cpu_ns, minute.restarts), (0, 0))

    def test_cpu_time_and_restarts_are_what_grew_since_the_last_sample(self):
        self.running(40 * MIB, 1_000_000_000, restarts=2)
        self.sample(T0)
        self.running(60 * MIB, 1_500_000_000, restarts=3)
        self.sample(T0 + minutes(1))
        self.running(50 * MIB, 1_700_000_000, restarts=3)
        self.sample(T0 + minutes(2))
        self.assertEqual([(r.cpu_ns, r.restarts, r.memory) for r in self.rows(self.game, MINUTE)],
                         [(0, 0, 40 * MIB), (500_000_000, 1, 60 * MIB),
                          (200_000_000, 0, 50 * MIB)])
        hour, = self.rows(self.game, HOUR)  # the three minutes fall in one hour
        self.assertEqual((hour.cpu_ns, hour.restarts, hour.memory), (700_000_000, 1, 60 * MIB))
        self.assertEqual(UnitStatus.objects.get(skill=self.game).memory_peak, 60 * MIB)

    def test_a_new_run_of_the_service_counts_from_its_start(self):
        self.running(40 * MIB, 9_000_000_000, restarts=4)
        self.sample(T0)
        # Started again 30 s ago, by hand: NRestarts starts from 0, the CPU counter too.
        restarted_at = int((MONOTONIC + 60 - 30) * 1e6)
        self.running(30 * MIB, 400_000_000, restarts=0, started_monotonic=restarted_at)
        self.sample(T0 + minutes(1))
        latest = self.rows(self.game, MINUTE)[-1]
        self.assertEqual((latest.cpu_ns, latest.restarts), (400_000_000, 0))
        status = UnitStatus.objects.get(skill=self.game)
        self.assertEqual(status.memory_peak, 30 * MIB)  # the old run's peak is not this one's
        self.assertEqual(status.active_since, T0 + minutes(0.5))

    def test_systemds_own_peak_wins_where_it_has_one(self):
        self.show = show_samples.WITH_PEAK
        self.sample(T0)
        self.assertEqual(UnitStatus.objects.get(skill=self.game).memory_peak, 73400320)

    def test_a_unit_systemd_does_not_know_is_stored_as_not_found_without_figures(self):
        self.game.slug = "gone"
        self.game.save()
        self.sample(T0)
        status = UnitStatus.objects.get(skill=self.game)
        self.assertEqual((status.load_state, status.memory, status.memory_peak, status.cpu_ns),
                         ("not-found", None, None, None))

    def test_skills_on_lambda_are_not_sampled(self):
        Skill.objects.filter(pk=self.lazy.pk).update(runs_on=Skill.RUNS_ON_LAMBDA)
        self.assertEqual(self.sample(T0).skills, 1)
        self.assertFalse(UnitStatus.objects.filter(skill=self.lazy).exists())
        self.assertNotIn("--unit=alexa-skill-lazy", self.journal.calls[0])

    # --- the request log's half --------------------------------------------------------------

    def test_requests_land_in_the_minute_and_the_ten_minutes_they_were_answered_in(self):
        self.journal.log(T0 - minutes(0.5), "memory-game", "ok", 3.0)
        self.journal.log(T0 - minutes(0.4), "memory-game", "error", 800)
        self.journal.log(T0 - minutes(0.3), "memory-game", "refused", 0.4)
        self.journal.say(T0 - minutes(0.2), "memory-game", "INFO skills.serve: serving")
        self.journal.log(T0 - minutes(0.1), "lazy", "ok", 30)
        self.assertEqual(self.sample(T0).requests, 4)
        # The requests' minute, 03:19; systemd's figures are in the sample's, 03:20.
        minute, now = self.rows(self.game, MINUTE)
        self.assertEqual(minute.start, dt.datetime(2024, 12, 2, 3, 19, tzinfo=dt.UTC))
        self.assertEqual((now.requests, now.memory), (0, 44040192))
        self.assertEqual((minute.requests, minute.errors, minute.refused), (3, 1, 1))
        self.assertEqual(minute.latencies(), [1, 0, 1] + [0] * 5 + [0, 1] + [0] * 4)
        hour = [r for r in self.rows(self.game, HOUR) if r.requests]
        self.assertEqual([(r.start.hour, r.start.minute, r.requests) for r in hour], [(3, 0, 3)])
        self.assertEqual(self.rows(self.lazy, MINUTE)[0].latencies()[5], 1)  # 30 ms: ≤ 50

    def test_each_line_is_counted_once_from_one_sample_to_the_next(self):
        self.journal.log(T0 - minutes(0.5), "memory-game")
        self.sample(T0)
        cursor = JournalPosition.load().cursor
        self.assertEqual(cursor, Journal.cursor(0))
        self.journal.log(T0 + minutes(0.5), "memory-game")
        self.sample(T0 + minutes(1))
        self.assertEqual(self.helper.calls[-1][:3], ("request-lines", "--after", cursor))
        self.sample(T0 + minutes(2))  # nothing new
        self.assertEqual(sum(r.requests for r in self.rows(self.game, MINUTE)), 2)
        self.assertEqual(sum(r.requests for r in self.rows(self.game, HOUR)), 2)

    def test_the_first_sample_reads_the_last_minute_only(self):
        self.journal.log(T0 - minutes(5), "memory-game")
        self.journal.log(T0 - minutes(0.5), "memory-game")
        self.assertEqual(self.sample(T0).requests, 1)
        self.assertEqual(self.helper.calls[0][:3],
                         ("request-lines", "--since", str(int(T0.timestamp()) - 60)))

    def test_a_position_the_journal_no_longer_knows_starts_again_from_the_last_minute(self):
        position = JournalPosition.load()
        position.cursor = "s=dead;i=99"
        position.save()
        self.journal.log(T0 - minutes(0.5), "memory-game")
        self.assertEqual(self.sample(T0).requests, 1)
        self.assertEqual([call[1] for call in self.helper.calls], ["--after", "--since"])
        self.assertEqual(JournalPosition.load().cursor, Journal.cursor(0))

    def test_a_line_that_is_not_the_helpers_is_skipped_not_a_traceback(self):
        self.helper_answer = {"ok": True, "cursor": "s=1;i=2", "units": {
            "alexa-skill-memory-game": [[T0.timestamp(), "ok", 3.0], ["soon", "ok", 1],
                                        [1e300, "ok", 1], [T0.timestamp()], "x", None],
            "alexa-skill-lazy": "not a list"}}
        stored = sampling.record_requests([self.game, self.lazy], self.helper_answer)
        self.assertEqual(stored, 1)
        self.assertEqual(JournalPosition.load().cursor, "s=1;i=2")

    # --- one half failing --------------------------------------------------------------------

    def test_a_helper_that_is_down_keeps_systemds_figures_and_the_command_fails_in_words(self):
        self.helper.broken = True
        self.now = dt.datetime.now(dt.UTC)  # the command samples now
        with self.assertRaisesRegex(CommandError, "the request log: cannot reach the helper"):
            call_command("monitor_sample", stdout=(out := _Out()))
        self.assertIn("sampled 2 skills: services read, not read", out.text)
        self.assertEqual(UnitStatus.objects.get(skill=self.game).memory, 44040192)
        self.assertEqual(JournalPosition.load().cursor, "")  # the same lines next time

    def test_one_sample_at_a_time(self):
        os.makedirs(settings.APPLIANCE_DATA_DIR, exist_ok=True)
        with open(f"{settings.APPLIANCE_DATA_DIR}/monitor.lock", "a+") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            with self.assertRaisesRegex(CommandError, "another sample is running"):
                call_command("monitor_sample", stdout=_Out())
        self.assertEqual(self.helper.calls, [])
        self.assertFalse(UnitStatus.objects.exists())

    def test_no_systemd_keeps_the_request_figures(self):
        self.systemd_down = True
        self.journal.log(T0 - minutes(0.5), "memory-game")
        result = self.sample(T0)
        self.assertEqual((result.units_read, result.requests), (False, 1))
        self.assertEqual(result.problems, ["systemd's accounting: systemctl is not installed: "
                                           "this host does not run systemd"])
        self.assertFalse(UnitStatus.objects.exists())

    # --- keeping ------------------------------------------------------------------------------

    def test_minute_rows_go_after_a_day_and_hour_rows_after_a_week(self):
        for age in (minutes(10), dt.timedelta(hours=23), dt.timedelta(hours=25),
                    dt.timedelta(days=6), dt.timedelta(days=8)):
            start = sampling.floor(T0 - age, HOUR)
            Sample.objects.create(skill=self.game, period=MINUTE, start=start)
            Sample.objects.create(skill=self.game, period=HOUR, start=start)
        self.assertEqual(sampling.prune(T0), 4)
        kept = {(r.period, round((T0 - r.start).total_seconds() / 3600))
                for r in Sample.objects.all()}
        self.assertEqual(kept, {(MINUTE, 0), (MINUTE, 23), (HOUR, 0), (HOUR, 23),
                                (HOUR, 25), (HOUR, 144)})

    def test_a_removed_skill_takes_its_history_with_it(self):
        self.journal.log(T0 - minutes(0.5), "memory-game")
        self.sample(T0)
        self.game.delete()
        self.assertFalse(Sample.objects.filter(skill_id=self.game.pk).exists())
        self.assertFalse(UnitStatus.objects.filter(skill_id=self.game.pk).exists())


class _Out:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass
