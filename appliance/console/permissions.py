"""Which of Django's permissions each console page and action needs.

Being staff only lets a user in; every page then checks the model permission of what it shows
or changes, and a refusal is a 403 before anything is read from the form or changed.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied

VIEW_SKILL = "catalogue.view_skill"
CHANGE_SKILL = "catalogue.change_skill"
CONTROL = "catalogue.control_skill"
VIEW_HOST = "catalogue.view_hostsettings"
TEST_CONSOLE = "catalogue.use_test_console"
PUBLISH = "catalogue.publish_skill"
MOVE_LAMBDA = "catalogue.move_skill_lambda"
APPLY = "catalogue.apply_revision"
ROLLBACK = "catalogue.rollback_revision"

SAFE_METHODS = ("GET", "HEAD")


def has(user, perm: str) -> bool:
    """``user.has_perm``, where changing a model also lets one see it, as in Django's admin."""
    if user.has_perm(perm):
        return True
    app_label, codename = perm.split(".")
    return codename.startswith("view_") and \
        user.has_perm(f"{app_label}.change_{codename.removeprefix('view_')}")


def require(request, *perms: str) -> None:
    if not all(has(request.user, perm) for perm in perms):
        raise PermissionDenied


def staff_with(*perms: str, post: tuple[str, ...] = ()):
    """Staff only (others are sent to the login page), then ``perms`` for every request and
    also ``post`` for anything but a GET or HEAD."""

    def decorator(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            require(request, *perms)
            if request.method not in SAFE_METHODS:
                require(request, *post)
            return view(request, *args, **kwargs)

        return staff_member_required(checked)

    return decorator


def editor_post(request) -> None:
    """An editor's POST: a preview needs only to see the skill, saving needs to change it, and
    "Save and apply" to apply as well (refused whole: a save without its apply is not asked)."""
    if "preview" in request.POST:
        return
    require(request, CHANGE_SKILL, *((APPLY,) if "apply" in request.POST else ()))
