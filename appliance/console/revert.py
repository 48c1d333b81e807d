"""The banner's "Revert" button: the catalogue back to the last applied revision."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.views.decorators.http import require_POST

from ..deploy.apply import ApplyBusy
from ..deploy.revert import revert_catalogue
from ..render.layout import LayoutError
from .applying import BUSY
from .views import redirect_back

# A revert may add, change and delete skills, and change the host settings.
REVERT_PERMISSIONS = ("catalogue.add_skill", "catalogue.change_skill", "catalogue.delete_skill",
                      "catalogue.change_hostsettings")


@staff_member_required
@require_POST
def revert(request):
    if not request.user.has_perms(REVERT_PERMISSIONS):
        raise PermissionDenied
    try:
        revision = revert_catalogue(request.user)
    except ApplyBusy:
        messages.warning(request, BUSY)
    except (LayoutError, ValueError) as exc:
        messages.error(request, f"The revert was refused: {exc}")
    else:
        messages.success(request, f"The catalogue is back to revision {revision.number}, which "
                                  "is what is live; the unapplied changes are gone.")
    return redirect_back(request)
