"""One sample: systemd's accounting of every skill's service and the request lines logged since
the last sample, added into the minute and hour rows they fall in; then old rows go.

Each half may fail on its own (systemd absent, the helper down): what the other half read is
still stored, and each half's rows, status and journal position are written in one transaction,
so a failure leaves nothing half-written and the next run reads the same lines again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction

from ..catalogue.models import Skill
from ..deploy.client import HelperError, run_helper
from ..helper.policy import MAX_UNITS_ASKED
from . import latency, systemd
from .models import HOUR, KEEP, MINUTE, JournalPosition, Sample, UnitStatus

PERIODS = (MINUTE, HOUR)
HELPER_TIMEOUT = 30.0
# The same service run, when its start time (computed from two clocks) moved less than this.
SAME_START = dt.timedelta(seconds=2)
ERROR, REFUSED = "error", "refused"
_STATUS_FIELDS = ("load_state", "active_state", "sub_state", "active_since", "memory", "cpu_ns",
                  "restarts")


@dataclass
class Counts:
    requests: int = 0
    errors: int = 0
    refused: int = 0
    latencies: list[int] = field(default_factory=lambda: [0] * latency.BUCKETS)
    memory: int | None = None
    cpu_ns: int = 0
    restarts: int = 0

    def add_request(self, outcome: str, latency_ms: float) -> None:
        self.requests += 1
        self.errors += outcome == ERROR
        self.refused += outcome == REFUSED
        self.latencies[latency.bucket(latency_ms)] += 1


@dataclass
class Result:
    skills: int = 0
    units_read: bool = False
    requests: int | None = None
    pruned: int = 0
    problems: list[str] = field(default_factory=list)


def floor(when: dt.datetime, period: int) -> dt.datetime:
    seconds = int(when.timestamp()) // period * period
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def sample(now: dt.datetime | None = None) -> Result:
    """Read and store one sample of every skill served from this host."""
    now = now or dt.datetime.now(dt.UTC)
    skills = list(Skill.objects.filter(runs_on=Skill.RUNS_ON_HOST).only("pk", "slug"))
    result = Result(skills=len(skills))
    try:
        readings = systemd.read([f"{skill.unit_name}.service" for skill in skills])
    except systemd.SystemdError as exc:
        result.problems.append(f"systemd's accounting: {exc}")
    else:
        record_units(now, skills, {unit.removesuffix(".service"): reading
                                   for unit, reading in readings.items()})
        result.units_read = True
    try:
        answer = read_requests(now, skills)
    except HelperError as exc:
        result.problems.append(f"the request log: {exc}")
    else:
        result.requests = record_requests(skills, answer)
    result.pruned = prune(now)
    return result


def read_requests(now: dt.datetime, skills: list[Skill]) -> dict:
    """The helper's request lines since the stored journal position (the last minute the first
    time, or when the journal no longer knows the position)."""
    units = [skill.unit_name for skill in skills]
    # More names than one call takes: none, and the helper answers for every installed skill.
    names = units if len(units) <= MAX_UNITS_ASKED else []
    cursor = JournalPosition.load().cursor
    since = ["--since", str(int(now.timestamp()) - MINUTE)]
    if cursor:
        try:
            return run_helper("request-lines", "--after", cursor, *names, timeout=HELPER_TIMEOUT)
        except HelperError as exc:
            if exc.timed_out:
                raise
    return run_helper("request-lines", *since, *names, timeout=HELPER_TIMEOUT)


def record_requests(skills: list[Skill], answer: dict) -> int:
    """Add the helper's request lines into their rows and move the journal position on, in one
    transaction; the number of requests stored."""
    units = answer.get("units") if isinstance(answer.get("units"), dict) else {}
    adds: dict[tuple, Counts] = defaultdict(Counts)
    stored = 0
    for skill in skills:
        rows = units.get(skill.unit_name)
        for row in rows if isinstance(rows, list) else []:
            try:
                seconds, outcome, latency_ms = float(row[0]), str(row[1]), float(row[2])
                when = dt.datetime.fromtimestamp(seconds, dt.UTC)
            except (TypeError, ValueError, IndexError, OverflowError, OSError):
                continue  # not a line the helper writes: skipped, not a traceback
            for period in PERIODS:
                adds[(skill.pk, period, floor(when, period))].add_request(outcome, latency_ms)
            stored += 1
    with transaction.atomic():
        _add_into_rows(adds)
        position = JournalPosition.load()
        position.cursor = str(answer.get("cursor") or position.cursor)[:400]
        position.read = dt.datetime.now(dt.UTC)
        position.save()
    return stored


def _same_run(before: UnitStatus | None, now: systemd.Reading) -> bool:
    return (before is not None and before.active_since is not None
            and now.active_since is not None
            and abs(before.active_since - now.active_since) < SAME_START)


def _cpu_used(before: UnitStatus | None, now: systemd.Reading) -> int:
    """CPU time used since the last sample: the counter's growth in the same run, all of a run
    that started since, nothing when there is no earlier sample to count from."""
    if now.cpu_ns is None or before is None:
        return 0
    if _same_run(before, now):
        return max(0, now.cpu_ns - (before.cpu_ns or 0))
    if now.active_since is not None and now.active_since >= before.sampled - SAME_START:
        return now.cpu_ns
    return 0


def _restarts(before: UnitStatus | None, now: systemd.Reading) -> int:
    if now.restarts is None or before is None or before.restarts is None:
        return 0
    # NRestarts starts again at 0 when someone starts the service by hand.
    return now.restarts - before.restarts if now.restarts >= before.restarts else now.restarts


def _peak(before: UnitStatus | None, now: systemd.Reading) -> int | None:
    if now.memory_peak is not None:
        return now.memory_peak
    if now.memory is None:
        return None
    earlier = before.memory_peak if _same_run(before, now) and before.memory_peak else 0
    return max(earlier, now.memory)


def record_units(now: dt.datetime, skills: list[Skill],
                 readings: dict[str, systemd.Reading]) -> None:
    """Each skill's status from its Reading, and its memory, CPU time and restarts added into
    the rows of ``now``."""
    before = UnitStatus.objects.in_bulk([skill.pk for skill in skills])
    adds: dict[tuple, Counts] = defaultdict(Counts)
    statuses = []
    for skill in skills:
        reading = readings.get(skill.unit_name) or systemd.Reading()
        previous = before.get(skill.pk)
        statuses.append(UnitStatus(
            skill_id=skill.pk, sampled=now, memory_peak=_peak(previous, reading),
            **{name: getattr(reading, name) for name in _STATUS_FIELDS}))
        for period in PERIODS:
            counts = adds[(skill.pk, period, floor(now, period))]
            counts.memory = reading.memory
            counts.cpu_ns, counts.restarts = _cpu_used(previous, reading), _restarts(previous,
                                                                                      reading)
    with transaction.atomic():
        UnitStatus.objects.bulk_create(
            statuses, update_conflicts=True, unique_fields=["skill"],
            update_fields=["sampled", "memory_peak", *_STATUS_FIELDS])
        _add_into_rows(adds)


# The columns a sample adds into its rows; memory keeps the higher of the two.
_SUMMED = ("requests", "errors", "refused", *latency.FIELDS, "cpu_ns", "restarts")


def _upsert_sql() -> str:
    """One INSERT ... ON CONFLICT DO UPDATE that adds into a row, or makes it (SQLite and
    PostgreSQL alike): one statement for all of a sample's rows, however many."""
    quote = connection.ops.quote_name
    table = quote(Sample._meta.db_table)
    columns = ["skill_id", "period", "start", *_SUMMED, "memory"]
    sums = ", ".join(f"{quote(c)} = {table}.{quote(c)} + excluded.{quote(c)}" for c in _SUMMED)
    memory = quote("memory")
    higher = (f"{memory} = CASE WHEN excluded.{memory} IS NULL THEN {table}.{memory} "
              f"WHEN {table}.{memory} IS NULL OR excluded.{memory} > {table}.{memory} "
              f"THEN excluded.{memory} ELSE {table}.{memory} END")
    # Names come from the model and values are bound: nothing from outside is spliced in.
    return (f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT ({quote('skill_id')}, {quote('period')}, {quote('start')}) "
            f"DO UPDATE SET {sums}, {higher}")


def _add_into_rows(adds: dict[tuple, Counts]) -> None:
    """Add ``adds`` ({(skill id, period, start): Counts}) into their rows, made when missing."""
    if not adds:
        return
    start = Sample._meta.get_field("start")
    rows = [(skill_id, period, start.get_db_prep_value(when, connection), counts.requests,
             counts.errors, counts.refused, *counts.latencies, counts.cpu_ns, counts.restarts,
             counts.memory)
            for (skill_id, period, when), counts in adds.items()]
    with connection.cursor() as cursor:
        cursor.executemany(_upsert_sql(), rows)


def prune(now: dt.datetime) -> int:
    """Drop the rows older than their period keeps them; how many went."""
    return sum(Sample.objects.filter(period=period, start__lt=now - keep).delete()[0]
               for period, keep in KEEP.items())
