"""The dashboard's figures of every skill, from a fixed number of queries however many skills
there are: the services' statuses, the last hour's sums, the last day's sums, the day's chart
points (the sums and maxima are taken by the database, per skill).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Max, Sum
from django.utils.safestring import SafeString

from . import latency, words
from .models import HOUR, MINUTE, JournalPosition, Sample, UnitStatus
from .sampling import floor
from .sparkline import sparkline

LAST_HOUR, LAST_DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
POINTS = 24  # chart points over the day: one an hour
# A status older than this is not "now": the sampler stopped.
STALE = dt.timedelta(minutes=5)


@dataclass
class Traffic:
    """Requests over a window, in words."""

    requests: str = words.NONE
    errors: str = words.NONE
    p50: str = words.NONE
    p95: str = words.NONE


@dataclass
class SkillFigures:
    state: str = words.NONE
    uptime: str = words.NONE
    memory: str = words.NONE
    memory_peak: str = words.NONE
    cpu: str = words.NONE
    restarts: str = words.NONE
    restarts_day: str = words.NONE
    sampled: dt.datetime | None = None
    hour: Traffic = field(default_factory=Traffic)
    day: Traffic = field(default_factory=Traffic)
    requests_chart: SafeString | str = ""
    memory_chart: SafeString | str = ""


def _sums(period: int, since: dt.datetime, **extra) -> dict[int, dict]:
    """{skill id: the sums of its rows of ``period`` since ``since``}, one query."""
    rows = (Sample.objects.filter(period=period, start__gte=since).order_by()
            .values("skill_id")
            .annotate(requests_sum=Sum("requests"), errors_sum=Sum("errors"),
                      **{f"{name}_sum": Sum(name) for name in latency.FIELDS}, **extra))
    return {row["skill_id"]: row for row in rows}


def _traffic(row: dict | None) -> Traffic:
    if row is None:
        return Traffic()
    counts = [row[f"{name}_sum"] or 0 for name in latency.FIELDS]
    requests, errors = row["requests_sum"] or 0, row["errors_sum"] or 0
    share = f" ({errors / requests:.0%})" if requests and errors else ""
    return Traffic(requests=words.count(requests), errors=f"{words.count(errors)}{share}",
                   p50=words.latency(latency.percentile(counts, 0.50)),
                   p95=words.latency(latency.percentile(counts, 0.95)))


def _series(since: dt.datetime) -> dict[int, dict[str, list]]:
    """{skill id: hourly requests, errors and highest memory over the day}, one query."""
    series: dict[int, dict[str, list]] = {}
    origin = since.timestamp()
    rows = (Sample.objects.filter(period=HOUR, start__gte=since).order_by()
            .values_list("skill_id", "start", "requests", "errors", "memory"))
    for skill_id, start, requests, errors, memory in rows:
        lines = series.get(skill_id)
        if lines is None:
            lines = series[skill_id] = {"requests": [None] * POINTS, "errors": [None] * POINTS,
                                        "memory": [None] * POINTS}
        point = min(POINTS - 1, int((start.timestamp() - origin) // HOUR))
        lines["requests"][point] = (lines["requests"][point] or 0) + requests
        lines["errors"][point] = (lines["errors"][point] or 0) + errors
        if memory is not None:
            lines["memory"][point] = max(lines["memory"][point] or 0, memory)
    return series


def _charts(lines: dict[str, list] | None) -> tuple[SafeString | str, SafeString | str]:
    if lines is None:
        return "", ""
    requests = [v for v in lines["requests"] if v is not None]
    errors = sum(v for v in lines["errors"] if v is not None)
    memory = [v for v in lines["memory"] if v is not None]
    request_label = (f"Requests per hour over the last day: {words.count(min(requests))} to "
                     f"{words.count(max(requests))}, {words.count(sum(requests))} in all, "
                     f"{words.count(errors)} errors" if requests
                     else "No requests counted over the last day")
    memory_label = (f"Memory over the last day: {words.size(min(memory))} to "
                    f"{words.size(max(memory))}" if memory
                    else "No memory figures over the last day")
    return (sparkline([("requests", lines["requests"]), ("errors", lines["errors"])],
                      request_label),
            sparkline([("memory", lines["memory"])], memory_label))


def _state(status: UnitStatus, now: dt.datetime) -> tuple[str, str]:
    if not status.load_state or status.load_state == "not-found":
        return "not installed", words.NONE
    state = status.active_state or "unknown"
    if status.sub_state and status.sub_state != state:
        state = f"{state} ({status.sub_state})"
    if status.active_since is None:
        return state, words.NONE
    return state, words.duration((now - status.active_since).total_seconds())


def last_written() -> str:
    """When the sampler last wrote anything: a new value means new figures."""
    sampled = UnitStatus.objects.aggregate(last=Max("sampled"))["last"]
    read = JournalPosition.objects.filter(pk=1).values_list("read", flat=True).first()
    return f"{sampled and sampled.timestamp()}:{read and read.timestamp()}"


def for_skills(now: dt.datetime | None = None) -> dict[int, SkillFigures]:
    """{skill id: SkillFigures} for every skill with anything sampled."""
    now = now or dt.datetime.now(dt.UTC)
    day_start = floor(now - LAST_DAY, HOUR) + dt.timedelta(seconds=HOUR)
    hour = _sums(MINUTE, floor(now - LAST_HOUR, MINUTE) + dt.timedelta(seconds=MINUTE))
    day = _sums(HOUR, day_start, restarts_sum=Sum("restarts"), memory_max=Max("memory"))
    series = _series(day_start)
    statuses = {status.skill_id: status for status in UnitStatus.objects.all()}
    figures = {}
    for skill_id in statuses.keys() | day.keys() | hour.keys():
        status, today = statuses.get(skill_id), day.get(skill_id)
        shown = SkillFigures(hour=_traffic(hour.get(skill_id)), day=_traffic(today))
        shown.requests_chart, shown.memory_chart = _charts(series.get(skill_id))
        if today is not None:
            shown.restarts_day = words.count(today["restarts_sum"])
        if status is not None and now - status.sampled <= STALE:
            shown.sampled = status.sampled
            shown.state, shown.uptime = _state(status, now)
            shown.memory, shown.memory_peak = (words.size(status.memory),
                                               words.size(status.memory_peak))
            shown.cpu, shown.restarts = words.cpu(status.cpu_ns), words.count(status.restarts)
        figures[skill_id] = shown
    return figures
