"""What other parts of the admin (alerts) read from the samples: small, one query each.

``since`` is an aware datetime. Within the last day the minute rows answer (to the minute);
further back the hour rows do (to the hour).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum

from .models import HOUR, KEEP, MINUTE, Sample, UnitStatus
from .sampling import floor


def _rows(slug: str, since: dt.datetime):
    now = dt.datetime.now(dt.UTC)
    period = MINUTE if since >= now - KEEP[MINUTE] else HOUR
    return Sample.objects.filter(skill__slug=slug, period=period,
                                 start__gte=floor(since, period))


def restarts_since(slug: str, since: dt.datetime) -> int:
    """How many times systemd restarted the skill's service since ``since``."""
    return _rows(slug, since).aggregate(total=Sum("restarts"))["total"] or 0


def error_rate(slug: str, since: dt.datetime) -> float | None:
    """The share of the skill's requests since ``since`` that failed (outcome "error"; a
    request the runtime refused is no error of the skill's); None without requests."""
    sums = _rows(slug, since).aggregate(requests=Sum("requests"), errors=Sum("errors"))
    return sums["errors"] / sums["requests"] if sums["requests"] else None


def latest(slug: str) -> dict | None:
    """systemd's last word on the skill's service: sampled (when), load_state, active_state,
    sub_state, active_since, memory, memory_peak (bytes), cpu_ns, restarts (NRestarts); None
    before its first sample. A value systemd did not have is None."""
    return (UnitStatus.objects.filter(skill__slug=slug)
            .values("sampled", "load_state", "active_state", "sub_state", "active_since",
                    "memory", "memory_peak", "cpu_ns", "restarts").first())
