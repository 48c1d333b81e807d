"""Make (or replace) a skill's deploy key: the Deploy page then shows its public half."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from ..catalogue.models import Skill
from ..console.permissions import VIEW_SKILL, staff_with
from . import keys
from .deploy_page import DEPLOY


@require_POST
@staff_with(VIEW_SKILL, post=(DEPLOY,))
def deploy_key(request, slug):
    skill = get_object_or_404(Skill, slug=slug)
    _, made = keys.deploy_key(skill, new="replace" in request.POST)
    if made:
        messages.success(request, "A new deploy key was made: add its public key to the "
                                  "repository's deploy keys (read-only).")
    return redirect("releases:deploy", slug=slug)
