"""Review and apply: every apply button leads here first, so nothing is applied unseen.

The page shows the pending diff of the rendered files (deploy.plan) under the unapplied
banner's words, and a confirmation carrying the plan's digest. The apply renders again under
its lock and installs only if that gives the same digest; otherwise nothing is applied and the
new diff is shown in its place.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from ..deploy.apply import CatalogueChanged
from ..deploy.plan import pending_plan
from . import applying
from .permissions import APPLY, staff_with
from .views import redirect_back, safe_next

CHANGED = ("The catalogue changed since you reviewed it (or another apply ran), so nothing was "
           "applied. This is the diff as it is now: review it again.")
UNREVIEWED = "Nothing was applied: review the changes first."
DEFAULT_REASON = "applied from the admin"


def _page(request, back: str, reason: str, status: int = 200):
    plan = pending_plan()
    context = {**admin.site.each_context(request), "title": "Review and apply", "plan": plan,
               "summary": plan.summary, "next": back, "reason": reason}
    return render(request, "console/apply_review.html", context, status=status)


@staff_with(APPLY)
@require_GET
def review(request):
    return _page(request, safe_next(request, request.GET.get("next", "")),
                 request.GET.get("reason", "")[:200])


@staff_with(APPLY)
@require_POST
def apply(request):
    back = safe_next(request, request.POST.get("next", ""))
    reason = request.POST.get("reason", "").strip()[:200]
    digest = request.POST.get("digest", "")
    if not digest:  # a form from before the review step: show what it would do
        messages.warning(request, UNREVIEWED)
        return _page(request, back, reason)
    try:
        applying.apply_reviewed(request, reason or DEFAULT_REASON, digest)
    except CatalogueChanged:
        messages.warning(request, CHANGED)
        return _page(request, back, reason, status=409)
    return redirect_back(request)
