"""What the alert checks look at: plain data, gathered once per check by ``gather.py``.

No Django and no I/O here, so every check in ``checks.py`` is a pure function of these facts
and its thresholds, tested without a host.
"""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class SkillFacts:
    slug: str
    restarts: int | None = None  # restarts in the restart window; None: not known
    health_error: str | None = None  # why its health check failed; None: passed, or not run
    error_rate: float | None = None  # share of answers that were errors (0..1); None: no traffic


@dataclasses.dataclass(frozen=True)
class CertificateFacts:
    fqdn: str
    not_after: dt.datetime | None = None  # when the served certificate expires
    not_before: dt.datetime | None = None  # ... and since when it is valid
    missing: str | None = None  # why Caddy serves none for this name, in words


@dataclasses.dataclass(frozen=True)
class DuckDNSFacts:
    ran: bool  # the updater has left an answer
    ok: bool  # ... and DuckDNS said OK
    result: str = ""
    when: dt.datetime | None = None  # when that answer was written


@dataclasses.dataclass(frozen=True)
class DiskFacts:
    path: str
    used: int
    free: int  # what an unprivileged user may still write

    @property
    def percent(self) -> float:
        """As df counts it: the blocks reserved for root are not the admin's to fill."""
        room = self.used + self.free
        return 100.0 * self.used / room if room else 0.0


@dataclasses.dataclass(frozen=True)
class Facts:
    now: dt.datetime
    skills: tuple[SkillFacts, ...] = ()
    certificates: tuple[CertificateFacts, ...] = ()
    duckdns: DuckDNSFacts | None = None  # None: DuckDNS is not used on this host
    disk: DiskFacts | None = None
    # What could not be gathered, in words (told by the command, never an incident itself).
    unknown: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """When a fact becomes a problem (the admin's alert settings)."""

    restarts: int = 3  # more restarts than this in the window
    restart_window: dt.timedelta = dt.timedelta(minutes=10)
    error_rate_percent: float = 5.0  # errors among the answers over the error window
    error_window: dt.timedelta = dt.timedelta(minutes=10)
    certificate_days: int = 14  # a certificate expiring sooner than this
    duckdns_stale: dt.timedelta = dt.timedelta(minutes=15)  # three missed 5-minute updates
    disk_percent: float = 90.0
