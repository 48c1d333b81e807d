"""``{% unapplied_banner %}``: what is saved but not live, on the pages where it can change."""

from __future__ import annotations

from django import template

from ...deploy.unapplied import unapplied
from ..revert import REVERT_PERMISSIONS

register = template.Library()


@register.inclusion_tag("console/unapplied.html", takes_context=True)
def unapplied_banner(context):
    request = context["request"]
    return {"state": unapplied(), "request": request,
            "csrf_token": context.get("csrf_token"),
            "can_revert": request.user.has_perms(REVERT_PERMISSIONS)}
