"""Logs of a skill or of Caddy: a page, and the JSON it polls to refresh without a reload; and
the dashboard's "last request" of every skill."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from ..catalogue.models import Skill
from ..deploy.client import HelperError
from . import services
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


def _read(request, unit: str) -> dict:
    level = request.GET.get("level", "")
    level = level if level in dict(LEVEL_CHOICES) else ""
    text = request.GET.get("q", "")[:200]
    try:
        rows = services.read_logs(unit, _lines(request))
    except HelperError as exc:
        return {"ok": False, "error": f"Could not read the logs of {unit}: {exc}",
                "lines": [], "requests": []}
    rows = services.filter_logs(rows, level, text)
    return {"ok": True, "error": "", "lines": rows,
            "requests": [dict(row["request"], time=row["time"]) for row in rows
                         if row["request"]]}


@staff_member_required
def logs_page(request, name):
    unit, skill = _unit(request, name)
    data = _read(request, unit)
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
    unit, _ = _unit(request, name)
    data = _read(request, unit)
    if request.GET.get("last"):
        # The dashboard's "last request" column: only the newest request line.
        data = {**data, "lines": [], "requests": data["requests"][:1]}
    return JsonResponse({**data, "unit": unit})


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
    return JsonResponse({skill.slug: newest[skill.unit_name] for skill in skills})
