"""A release's log from byte N on, as JSON: the Deploy page polls it while the release builds."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from ..console.permissions import VIEW_SKILL, staff_with
from . import deploy
from .deploylog import read_from
from .models import Release


@staff_with(VIEW_SKILL)
def release_log(request, slug, number):
    release = get_object_or_404(Release, skill__slug=slug, number=number)
    offset = request.GET.get("offset", "0")
    if not offset.isdigit():
        return JsonResponse({"error": "offset must be a number of bytes"}, status=400)
    path = deploy.log_file(release)
    if path.exists():
        text, offset = read_from(path, int(offset))
    else:  # pruned with its files: the row's copy
        data = release.log.encode("utf-8")[int(offset):]
        text, offset = data.decode("utf-8", "replace"), int(offset) + len(data)
    done = not deploy.in_progress(release)
    if release.finished_at is None and done:
        summary = "The deploy stopped before it ended (its process is gone); deploy again."
    else:
        summary = release.message or release.get_outcome_display()
    return JsonResponse({"text": text, "offset": offset, "done": done,
                         "outcome": release.outcome, "summary": summary if done else ""})
