"""The alert checks: pure functions from gathered facts to findings.

A finding's key names the problem and what it is about ("restarts:memory-game"), the same at
every check while the problem lasts: incidents are kept by key (``incidents.py``), so a problem
that persists is one incident, however many checks see it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from .facts import CertificateFacts, Facts, Thresholds


@dataclasses.dataclass(frozen=True)
class Finding:
    key: str
    summary: str  # one line: the message's title
    detail: str = ""


def _minutes(delta) -> str:
    minutes = round(delta.total_seconds() / 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def restarts(facts: Facts, limits: Thresholds) -> list[Finding]:
    return [Finding(f"restarts:{skill.slug}",
                    f"{skill.slug} restarted {skill.restarts} times in "
                    f"{_minutes(limits.restart_window)}",
                    f"More than {limits.restarts} restarts: it keeps crashing. Its log is on "
                    "the skill's Logs page.")
            for skill in facts.skills
            if skill.restarts is not None and skill.restarts > limits.restarts]


def health(facts: Facts, limits: Thresholds) -> list[Finding]:
    return [Finding(f"health:{skill.slug}", f"{skill.slug} failed its health check",
                    skill.health_error)
            for skill in facts.skills if skill.health_error]


def error_rate(facts: Facts, limits: Thresholds) -> list[Finding]:
    return [Finding(f"errors:{skill.slug}",
                    f"{skill.slug} answered {skill.error_rate:.0%} of requests with an error",
                    f"Over the last {_minutes(limits.error_window)}; the alert threshold is "
                    f"{limits.error_rate_percent:g} %.")
            for skill in facts.skills
            if skill.error_rate is not None
            and skill.error_rate * 100 > limits.error_rate_percent]


def warn_before(cert: CertificateFacts, limits: Thresholds) -> dt.timedelta:
    """How long before expiry a certificate is a problem: ``certificate_days``, but at most a
    sixth of its lifetime. Caddy renews a third of the lifetime ahead (30 days of Let's
    Encrypt's 90), so a certificate past half of that has failed to renew; a short-lived one
    (Caddy's internal CA issues 12-hour certificates) is not a problem for being short."""
    warn = dt.timedelta(days=limits.certificate_days)
    if cert.not_before is not None and cert.not_after is not None:
        warn = min(warn, (cert.not_after - cert.not_before) / 6)
    return warn


def _left(delta: dt.timedelta) -> str:
    if delta >= dt.timedelta(days=2):
        return f"{delta.days} days"
    hours = int(delta.total_seconds() // 3600)
    return f"{hours} hour{'' if hours == 1 else 's'}" if hours else "less than an hour"


def certificates(facts: Facts, limits: Thresholds) -> list[Finding]:
    found = []
    for cert in facts.certificates:
        key = f"certificate:{cert.fqdn}"
        if cert.missing:
            found.append(Finding(key, f"no certificate is served for {cert.fqdn}",
                                 f"{cert.missing}. Caddy could not obtain or renew it: see "
                                 "journalctl -u caddy."))
        elif cert.not_after is not None:
            left = cert.not_after - facts.now
            when = f"{cert.not_after:%Y-%m-%d %H:%M} UTC"
            if left <= dt.timedelta(0):
                found.append(Finding(key, f"the certificate of {cert.fqdn} has expired",
                                     f"It expired on {when}: its renewal failed "
                                     "(journalctl -u caddy)."))
            elif left < warn_before(cert, limits):
                found.append(Finding(key, f"the certificate of {cert.fqdn} expires in "
                                          f"{_left(left)}",
                                     f"On {when}. Caddy renews well ahead, so its renewal is "
                                     "failing (journalctl -u caddy)."))
    return found


def duckdns(facts: Facts, limits: Thresholds) -> list[Finding]:
    status = facts.duckdns
    if status is None or not status.ran:
        return []  # not used, or not applied yet: nothing has run to fail
    if not status.ok:
        return [Finding("duckdns", "DuckDNS updates are failing",
                        f"DuckDNS answered {status.result!r} (a wrong token or domain, most "
                        "often).")]
    if status.when is not None and facts.now - status.when > limits.duckdns_stale:
        return [Finding("duckdns", "DuckDNS updates are failing",
                        f"The last successful update was {_minutes(facts.now - status.when)} "
                        "ago: the updater cannot reach DuckDNS, or its timer has stopped.")]
    return []


def disk(facts: Facts, limits: Thresholds) -> list[Finding]:
    usage = facts.disk
    if usage is None or usage.percent <= limits.disk_percent:
        return []
    return [Finding("disk", f"the disk is {usage.percent:.0f} % full",
                    f"{usage.path}: {usage.free // (1024 * 1024)} MiB free.")]


CHECKS: tuple[Callable[[Facts, Thresholds], list[Finding]], ...] = (
    restarts, health, error_rate, certificates, duckdns, disk)


def findings(facts: Facts, limits: Thresholds) -> dict[str, Finding]:
    """Every check's findings, by key."""
    return {found.key: found for check in CHECKS for found in check(facts, limits)}
