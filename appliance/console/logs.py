"""Logs of a skill or of Caddy: a page, and the JSON it polls to refresh without a reload; and
the dashboard's "last request" of every skill."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from ..catalogue.models import Skill
from ..deploy.client import HelperError
from . import caddylog, services, timefmt
from .permissions import VIEW_HOST, VIEW_SKILL, require, staff_with

DEFAULT_LINES = 200
MAX_LINES = 2000
LEVEL_CHOICES = [("", "all levels"), ("debug", "debug and above"), ("info", "info and above"),
                 ("warning", "warnings and errors"), ("error", "errors only")]


def _unit(request, name: str) -> tuple[str, Skill | None]:
    # Caddy's log is the host's: who may see the host's settings may read it.
    require(request, VIEW_HOST if name == "caddy" else VIEW_SKILL)
    if name == "caddy":
        return services.CADDY, None
    skill = Skill.objects.filter(slug=name).first()
    if skill is None:
        raise Http404("No such skill.")
    return skill.unit_name, skill


def _lines(request) -> int:
    try:
        return max(1, min(MAX_LINES, int(request.GET.get("lines", DEFAULT_LINES))))
    except ValueError:
        return DEFAULT_LINES


def _read(request, unit: str, skill: Skill | None = None) -> dict:
    level = request.GET.get("level", "")
    level = level if level in dict(LEVEL_CHOICES) else ""
    text = request.GET.get("q", "")[:200]
    try:
        rows = services.read_logs(unit, _lines(request))
    except HelperError as exc:
        return {"ok": False, "error": f"Could not read the logs of {unit}: {exc}",
                "lines": [], "requests": [], "access": [], "access_error": ""}
    rows = [_shown(row) for row in services.filter_logs(rows, level, text)]
    data = {"ok": True, "error": "", "lines": rows,
            "requests": [dict(row["request"], time=row["time"], when=row["when"])
                         for row in rows if row["request"]],
            "access": _access(rows), "access_error": ""}
    if skill is not None:
        data.update(_skill_access(request, skill, level, text))
    return data


def _shown(row: dict) -> dict:
    return {**row, "when": timefmt.when(row["time"])}


def _access(rows: list[dict], host: str | None = None) -> list[dict]:
    return [dict(row["access"], time=row["time"], when=row["when"]) for row in rows
            if row.get("access") and (host is None or
                                      caddylog.host_only(row["access"]["host"]) == host)]


def _skill_access(request, skill: Skill, level: str, text: str) -> dict:
    """The skill's requests as Caddy saw them: Caddy's access log, for the skill's host only.
    A failure here leaves the skill's own lines shown."""
    try:
        rows = services.read_logs(services.CADDY, _lines(request))
    except HelperError as exc:
        return {"access": [], "access_error": f"Could not read Caddy's access log: {exc}"}
    rows = [_shown(row) for row in services.filter_logs(rows, level, text)]
    return {"access": _access(rows, skill.fqdn().lower())}


@staff_member_required
def logs_page(request, name):
    unit, skill = _unit(request, name)
    data = _read(request, unit, skill)
    context = {
        **admin.site.each_context(request),
        "title": f"Logs: {skill or 'Caddy'}",
        "name": name, "unit": unit, "skill": skill, "data": data,
        "level": request.GET.get("level", ""), "q": request.GET.get("q", ""),
        "levels": LEVEL_CHOICES, "lines": _lines(request),
        "data_url": reverse("console:logs_data", args=[name]),
        "skills": Skill.objects.all(),
    }
    return render(request, "console/logs.html", context)


@staff_member_required
def logs_data(request, name):
    unit, skill = _unit(request, name)
    if request.GET.get("last"):
        # The dashboard's "last request" column: only the newest request line.
        data = _read(request, unit)
        data = {**data, "lines": [], "requests": data["requests"][:1], "access": []}
    else:
        data = _read(request, unit, skill)
    return JsonResponse({**data, "unit": unit, "updated": timefmt.when(timezone.now())})


@staff_with(VIEW_SKILL)
def last_requests(request):
    """{slug: its newest request (time, type, intent, outcome, latency_ms) or null} for every
    skill, from one helper call however many skills there are; 502 and an error in words when
    the logs cannot be read (a slug may be "error": the status tells the two apart)."""
    skills = list(Skill.objects.only("slug"))
    try:
        newest = services.last_requests([skill.unit_name for skill in skills])
    except HelperError as exc:
        return JsonResponse({"error": f"Could not read the logs: {exc}"}, status=502)
    rows = {skill.slug: newest[skill.unit_name] for skill in skills}
    return JsonResponse({slug: row and {**row, "when": timefmt.when(row["time"])}
                         for slug, row in rows.items()})
