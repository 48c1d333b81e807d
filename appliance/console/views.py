"""The dashboard and the health check (the apply button leads to console.review)."""

from __future__ import annotations

from django.contrib import admin
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ..catalogue.models import HostSettings, Revision, Skill
from ..monitor import cells as monitor
from . import hoststatus, services, skillchecks
from .permissions import VIEW_SKILL, staff_with


def health(request):
    return JsonResponse({"status": "ok"})


# Reversing six URLs per row was a quarter of the dashboard's time with 100 skills: reverse
# each once with placeholders and fill them in per row.
SLUG, PK = "__slug__", "999999999"


def _row_links() -> dict[str, str]:
    return {
        "change": reverse("admin:catalogue_skill_change", args=[PK]),
        "templates": reverse("console:templates", args=[SLUG]),
        "model": reverse("console:model", args=[SLUG]),
        "logs": reverse("console:logs", args=[SLUG]),
        "console": reverse("console:test_console", args=[SLUG]),
    }


@staff_with(VIEW_SKILL)
def dashboard(request):
    host = HostSettings.load()
    skills = list(Skill.objects.all())
    port = hoststatus.https_port()
    states = services.host_states()  # one status-all answer for the whole page (cached)
    fqdns = {skill.slug: skill.fqdn(host) for skill in skills}
    # Only enabled skills have a site in the Caddyfile; the admin's certificate is shown too.
    admin_fqdn = host.fqdn(host.admin_hostname)
    certificates = hoststatus.certificates(
        [fqdns[s.slug] for s in skills if s.enabled] + [admin_fqdn], port)
    links = _row_links()
    costs = monitor.for_dashboard()  # a few queries for every skill's figures, or none
    rows = [{"skill": skill, "state": services.state_of(skill.unit_name, states),
             "url": skill.url(host), "certificate": certificates.get(fqdns[skill.slug]),
             "problems": skillchecks.problems(skill),
             "figures": costs.get(skill.pk, monitor.NOT_SAMPLED),
             "links": {name: pattern.replace(SLUG, skill.slug).replace(PK, str(skill.pk))
                       for name, pattern in links.items()}}
            for skill in skills]
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "host": host,
        "admin_url": f"https://{admin_fqdn}/",
        "admin_certificate": certificates.get(admin_fqdn),
        "caddy": services.state_of(services.CADDY, states),
        "duckdns": hoststatus.duckdns_status(),
        "rows": rows,
        "last_revision": Revision.objects.first(),
    }
    return render(request, "console/dashboard.html", context)


def safe_next(request, back: str) -> str:
    """``back`` when it is a page of this site; else the dashboard's address."""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return reverse("console:dashboard")
    return back


def redirect_back(request):
    """Back to the page the form was on (its ``next``), when that is this site; else home."""
    return redirect(safe_next(request, request.POST.get("next", "")))
