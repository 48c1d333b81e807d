"""Roll a skill back to one of its kept releases (the Deploy page's button)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from ..catalogue.models import Skill
from ..console.permissions import APPLY, VIEW_SKILL, staff_with
from . import deploy
from .deploy_page import DEPLOY


@require_POST
@staff_with(VIEW_SKILL, post=(DEPLOY, APPLY))
def rollback(request, slug, number):
    skill = get_object_or_404(Skill, slug=slug)
    try:
        outcome = deploy.rollback(skill, number, user=request.user)
    except deploy.DeployError as exc:
        messages.error(request, f"Not rolled back: {exc}")
    else:
        (messages.success if outcome.changed else messages.info)(request, outcome.message)
    return redirect("releases:deploy", slug=slug)
