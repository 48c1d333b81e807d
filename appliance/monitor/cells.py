"""A skill's two cells on the dashboard, as HTML: what its service costs, and its requests.

Built here rather than in a template include: with 100 skills the include's lookups were a
sixth of the dashboard's time budget. Every value is escaped; most are our own words for
numbers, the service's state is systemd's. The figures change only when the sampler writes,
once a minute: the cells are kept in the cache until it has written again (two small queries
tell), a minute at most, so most pages sum nothing.
"""

from __future__ import annotations

from django.core.cache import cache
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .figures import SkillFigures, Traffic, for_skills, last_written

CACHE_TTL = 60  # seconds: uptimes and the hour's window move on even without a new sample

NOT_SAMPLED = mark_safe(
    '<td class="skill-costs">— <span class="note">(not sampled yet)</span></td>'
    '<td class="skill-traffic">—</td>')


def _traffic(label: str, traffic: Traffic) -> str:
    values = "".join(f"<td>{escape(value)}</td>" for value in (
        traffic.requests, traffic.errors, traffic.p50, traffic.p95))
    return f'<tr><th scope="row">{label}</th>{values}</tr>'


def cells(figures: SkillFigures | None) -> SafeString:
    if figures is None:
        return NOT_SAMPLED
    f = figures
    costs = (
        f'<td class="skill-costs">'
        f"<div>Memory {escape(f.memory)} · peak {escape(f.memory_peak)}</div>"
        f"<div>CPU time {escape(f.cpu)}</div>"
        f"<div>Restarts {escape(f.restarts)} · last day {escape(f.restarts_day)}</div>"
        f'<div class="skill-uptime">{escape(f.state)} · up {escape(f.uptime)}</div>'
        f"{f.memory_chart}</td>")
    traffic = (
        '<td class="skill-traffic"><table class="traffic"><thead><tr><td></td>'
        '<th scope="col">requests</th><th scope="col">errors</th><th scope="col">p50</th>'
        '<th scope="col">p95</th></tr></thead><tbody>'
        f"{_traffic('last hour', f.hour)}{_traffic('last day', f.day)}</tbody></table>"
        f"{f.requests_chart}</td>")
    return mark_safe(costs + traffic)  # noqa: S308 — escaped above; the charts are SafeStrings


def for_dashboard() -> dict[int, SafeString]:
    """{skill id: its two cells} for every sampled skill (``NOT_SAMPLED`` for the others)."""
    return cache.get_or_set(
        f"appliance:monitor:cells:{last_written()}",
        lambda: {skill_id: cells(figures) for skill_id, figures in for_skills().items()},
        CACHE_TTL)
