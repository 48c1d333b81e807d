"""What every skill costs, sampled each minute (``manage.py monitor_sample``).

``Sample`` rows are a time series per skill at two resolutions, both written by every run:
minute rows (kept a day: the last hour's figures) and hour rows (kept a week: the day's
figures and charts, 24 rows a skill to read, not 1,440). Each run adds into the row of the
minute and of the hour it falls
in, so the coarse rows need no second pass, and pruning is a delete by age.
``UnitStatus`` is systemd's latest word on each skill's service; ``JournalPosition`` where the
last run stopped reading the request log.
"""

from __future__ import annotations

import datetime as dt

from django.db import models

from ..catalogue.models import Singleton, Skill
from . import latency

MINUTE, HOUR = 60, 3600
# How long rows of each period are kept.
KEEP = {MINUTE: dt.timedelta(days=1), HOUR: dt.timedelta(days=7)}


class Sample(models.Model):
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="+")
    period = models.PositiveSmallIntegerField(
        choices=[(MINUTE, "a minute"), (HOUR, "an hour")])
    start = models.DateTimeField()
    # From the request log: requests answered in the period, and of them...
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)  # ... the skill failed (outcome "error")
    refused = models.PositiveIntegerField(default=0)  # ... the runtime refused (bad signature)
    # Latency histogram (latency.BOUNDS_MS): requests per bucket.
    latency_00 = models.PositiveIntegerField(default=0)
    latency_01 = models.PositiveIntegerField(default=0)
    latency_02 = models.PositiveIntegerField(default=0)
    latency_03 = models.PositiveIntegerField(default=0)
    latency_04 = models.PositiveIntegerField(default=0)
    latency_05 = models.PositiveIntegerField(default=0)
    latency_06 = models.PositiveIntegerField(default=0)
    latency_07 = models.PositiveIntegerField(default=0)
    latency_08 = models.PositiveIntegerField(default=0)
    latency_09 = models.PositiveIntegerField(default=0)
    latency_10 = models.PositiveIntegerField(default=0)
    latency_11 = models.PositiveIntegerField(default=0)
    latency_12 = models.PositiveIntegerField(default=0)
    latency_13 = models.PositiveIntegerField(default=0)
    # From systemd: the highest memory seen, CPU time used and restarts in the period.
    memory = models.PositiveBigIntegerField(null=True)
    cpu_ns = models.PositiveBigIntegerField(default=0)
    restarts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["skill", "period", "start"],
                                               name="monitor_sample_one_per_period")]
        # The dashboard's and the pruning's range scans over every skill.
        indexes = [models.Index(fields=["period", "start"], name="monitor_sample_by_time")]

    def __str__(self) -> str:
        return f"{self.skill_id} {self.period}s from {self.start:%Y-%m-%d %H:%M}"

    def latencies(self) -> list[int]:
        return [getattr(self, name) for name in latency.FIELDS]


class UnitStatus(models.Model):
    """A skill service's accounting at the last sample; None where systemd had no value."""

    skill = models.OneToOneField(Skill, on_delete=models.CASCADE, primary_key=True,
                                 related_name="+")
    sampled = models.DateTimeField()
    load_state = models.CharField(max_length=32, blank=True)
    active_state = models.CharField(max_length=32, blank=True)
    sub_state = models.CharField(max_length=32, blank=True)
    active_since = models.DateTimeField(null=True)
    memory = models.PositiveBigIntegerField(null=True)
    # systemd's own peak (MemoryPeak, systemd 254 and later), else the highest sampled value,
    # both since the service started.
    memory_peak = models.PositiveBigIntegerField(null=True)
    cpu_ns = models.PositiveBigIntegerField(null=True)  # since the service started
    restarts = models.PositiveIntegerField(null=True)  # NRestarts: automatic restarts

    def __str__(self) -> str:
        return f"{self.skill_id}: {self.active_state or 'unknown'}"


class JournalPosition(Singleton):
    """Where the last sample stopped reading the skills' request lines (a journal cursor)."""

    cursor = models.CharField(max_length=400, blank=True)
    read = models.DateTimeField(null=True)
