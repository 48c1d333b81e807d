"""The facts the checks look at, read from the host as the dashboard reads them.

Each source is read on its own: one that cannot be read leaves its facts out and says so in
``Facts.unknown``; it never stops the others from being checked.
"""

from __future__ import annotations

import datetime as dt
import shutil
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from ..catalogue.models import HostSettings, Revision, Skill
from ..console import hoststatus
from ..deploy import health, revisions
from ..monitor import queries
from .facts import CertificateFacts, DiskFacts, DuckDNSFacts, Facts, SkillFacts, Thresholds

PROBE_TIMEOUT = 3.0


def served_skills() -> list[Skill] | None:
    """The skills the last applied revision serves on this host; None before the first apply.

    Not the catalogue as edited: a skill added but not applied yet has no site nor service to
    fail, and a disabled one is meant not to answer. A skill on Lambda has no service here.
    """
    applied = Revision.objects.filter(outcome=Revision.APPLIED).first()
    if applied is None:
        return None
    return list(Skill.objects.filter(slug__in=revisions.enabled_slugs(applied.catalogue),
                                     runs_on=Skill.RUNS_ON_HOST))


def gather(now: dt.datetime, limits: Thresholds) -> Facts:
    host = HostSettings.load()
    skills = served_skills()
    unknown: list[str] = []
    port = hoststatus.https_port()
    return Facts(
        now=now,
        skills=_skills(skills or [], host, port, now, limits),
        certificates=_certificates(skills, host, port) if skills is not None else (),
        duckdns=_duckdns(host),
        disk=_disk(unknown),
        unknown=tuple(unknown),
    )


def _skills(skills: list[Skill], host: HostSettings, port: int, now: dt.datetime,
            limits: Thresholds) -> tuple[SkillFacts, ...]:
    failed = _health(skills, host, port)
    restarts, errors = _traffic([skill.slug for skill in skills], now, limits)
    return tuple(SkillFacts(slug=skill.slug, restarts=restarts.get(skill.slug),
                            health_error=failed.get(skill.slug),
                            error_rate=errors.get(skill.slug))
                 for skill in skills)


def _health(skills: list[Skill], host: HostSettings, port: int) -> dict[str, str]:
    """{slug: why} for the skills that fail the apply's health check, through Caddy. An
    on-demand skill is not probed: a probe a minute would start it and keep it from ever
    exiting idle (a crash of it shows as restarts)."""
    probed = [skill for skill in skills if not skill.on_demand]
    if not probed:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(probed))) as pool:
        answers = pool.map(lambda skill: health.probe(skill.slug, skill.fqdn(host), port,
                                                      timeout=PROBE_TIMEOUT), probed)
        return {skill.slug: why for skill, why in zip(probed, answers, strict=True) if why}


def _traffic(slugs: list[str], now: dt.datetime,
             limits: Thresholds) -> tuple[dict[str, int], dict[str, float]]:
    """({slug: restarts in the restart window}, {slug: error rate over the error window}), from
    the monitor's samples (its timer reads systemd's NRestarts and the request log)."""
    restarts = {slug: queries.restarts_since(slug, now - limits.restart_window)
                for slug in slugs}
    rates = {slug: queries.error_rate(slug, now - limits.error_window) for slug in slugs}
    return restarts, {slug: rate for slug, rate in rates.items() if rate is not None}


def _certificates(skills: list[Skill], host: HostSettings,
                  port: int) -> tuple[CertificateFacts, ...]:
    """The certificate Caddy serves for each enabled skill's name and the admin's. Caddy not
    answering at all is not a certificate's problem (the health check tells that)."""
    fqdns = [skill.fqdn(host) for skill in skills] + [host.fqdn(host.admin_hostname)]
    found = []
    for fqdn, answer in sorted(hoststatus.certificates(fqdns, port).items()):
        if answer.get("state") in ("valid", "expired"):
            found.append(CertificateFacts(fqdn, not_after=answer.get("not_after"),
                                          not_before=answer.get("not_before")))
        elif answer.get("error") == hoststatus.NO_SITE:
            found.append(CertificateFacts(fqdn, missing=f"Caddy serves none for {fqdn}"))
    return tuple(found)


def _duckdns(host: HostSettings) -> DuckDNSFacts | None:
    if not host.duckdns_domains:
        return None
    status = hoststatus.duckdns_status()
    return DuckDNSFacts(ran=status["ran"], ok=status["ok"], result=status["result"],
                        when=status["when"])


def _disk(unknown: list[str]) -> DiskFacts | None:
    path = str(settings.APPLIANCE_DATA_DIR)
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        unknown.append(f"disk: cannot read {path} ({exc.strerror or exc})")
        return None
    return DiskFacts(path=path, used=usage.used, free=usage.free)
