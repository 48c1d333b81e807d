"""Whether the catalogue needs an apply: ``manage.py apply --check`` and ``--if-pending``.

Compares what the catalogue renders now, and the skills' code, with the last applied revision.
It only reads (the database, the layout, the console's CA, the skills' code), so the
provisioning roles can ask on every run and apply only when something changed.
"""

from __future__ import annotations

from ..catalogue.models import Revision
from . import revisions
from .apply import ca_parts, render_catalogue
from .client import layout


def existing_console_ca() -> dict | None:
    """The console CA's parts as they are on disk; None when the next apply makes a new one
    (missing, unreadable, or due for renewal), which this never does itself."""
    try:
        from ..console.ca import ConsoleCA
    except ImportError:
        return {}
    ca = ConsoleCA.load_current()
    return ca_parts(ca) if ca is not None else None


def pending_changes() -> dict:
    """``{"pending": bool, "reasons": [in words], "applied": last applied number or None}``."""
    last = Revision.objects.filter(outcome=Revision.APPLIED).order_by("-number").first()
    reasons = []
    try:
        ca = existing_console_ca()
        paths, extras = layout()
        cat, files = render_catalogue(paths, extras, ca or {})
        sources = revisions.source_digests(cat)
    except Exception as exc:  # the apply fails the same way and keeps why in its revision
        reasons.append(f"the catalogue does not render: {exc}")
    else:
        if last is None:
            reasons.append("nothing was applied yet")
        else:
            if ca is None:  # a new CA changes the files that hold it
                reasons.append("the test console's CA is to be made or renewed")
            else:
                changed = sorted(revisions.changed_paths(last.files, files))
                if changed:
                    reasons.append(f"{len(changed)} rendered files differ: "
                                   f"{', '.join(changed[:5])}")
            old = last.catalogue.get("sources", {})
            code = sorted(slug for slug in old.keys() | sources.keys()
                          if old.get(slug) != sources.get(slug))
            if code:
                reasons.append(f"a skill's code changed: {', '.join(code)}")
    return {"pending": bool(reasons), "reasons": reasons,
            "applied": last.number if last else None}
