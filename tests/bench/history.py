"""Monitor history for the benches: sample rows as the sampler keeps them, made up reproducibly."""

from __future__ import annotations

import datetime as dt
import random

from appliance.catalogue.models import Skill
from appliance.monitor import latency
from appliance.monitor.models import Sample, UnitStatus
from appliance.monitor.sampling import floor


def fill_history(skills: list[Skill], now: dt.datetime, rows_per_period: dict[int, int],
                 up_for: dt.timedelta) -> int:
    """``rows_per_period`` rows of each period (seconds) per skill, ending now, and each skill's
    latest status (running for ``up_for``). The number of sample rows made."""
    rng = random.Random(16)
    rows = []
    for skill in skills:
        for period, count in rows_per_period.items():
            last = floor(now, period)
            for step in range(count):
                buckets = [rng.randrange(0, 4 * period // 60) for _ in latency.FIELDS]
                requests = sum(buckets)
                rows.append(Sample(
                    skill=skill, period=period, start=last - dt.timedelta(seconds=period * step),
                    requests=requests, errors=rng.randrange(0, 1 + requests // 10),
                    refused=rng.randrange(0, 2), memory=rng.randrange(30 << 20, 120 << 20),
                    cpu_ns=rng.randrange(10**7, 10**10), restarts=int(rng.random() < 0.01),
                    **dict(zip(latency.FIELDS, buckets, strict=True))))
    Sample.objects.bulk_create(rows, batch_size=2000)
    UnitStatus.objects.bulk_create(
        UnitStatus(skill=skill, sampled=now, load_state="loaded", active_state="active",
                   sub_state="running", active_since=now - up_for,
                   memory=60 << 20, memory_peak=90 << 20, cpu_ns=10**11, restarts=1)
        for skill in skills)
    return len(rows)
