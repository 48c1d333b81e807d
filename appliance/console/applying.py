"""Apply and roll back from a page: the deploy step's outcome told to the operator in words."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.contrib import messages
from django.urls import reverse
from django.utils.html import format_html

from ..catalogue.models import Revision
from ..deploy.apply import ApplyBusy, CatalogueChanged, apply_catalogue, rollback_to
from ..deploy.client import HelperError

log = logging.getLogger("appliance.console")

BUSY = "Another apply is running; nothing was changed. Try again when it has finished."
TIMINGS = "timings:"  # how deploy.apply's _finish starts the figures' line


def _summary(text: str, limit: int = 400) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def split_timings(text: str) -> tuple[str, str]:
    """(the revision's messages, its "timings: …" figures): the apply writes both into one
    text; the operator's messages leave the figures out, the revision page shows them apart."""
    notes, figures = [], ""
    for line in (text or "").splitlines():
        if line.startswith(TIMINGS):
            figures = line.removeprefix(TIMINGS).strip()
        else:
            notes.append(line)
    return "\n".join(notes).strip(), figures


def report(request, revision: Revision) -> None:
    link = reverse("admin:catalogue_revision_change", args=[revision.pk])
    if revision.outcome == Revision.FAILED:
        notes, _ = split_timings(revision.messages)
        messages.error(request, format_html(
            'Revision {} failed; the previous configuration keeps serving. {} '
            '<a href="{}">Details</a>', revision.number, _summary(notes), link))
    else:
        messages.success(request, format_html(
            'Revision {} is {}. <a href="{}">Details</a>', revision.number,
            revision.get_outcome_display(), link))


def _run(request, action, what: str) -> Revision | None:
    try:
        revision = action()
    except CatalogueChanged:
        raise  # the review page shows the new diff instead
    except ApplyBusy:
        messages.warning(request, BUSY)
        return None
    except HelperError as exc:
        messages.error(request, f"{what} failed: {exc}")
        return None
    except ValueError as exc:  # refused before anything changed, e.g. a never-applied revision
        messages.error(request, f"{what} was refused: {exc}")
        return None
    except Exception as exc:
        # The operator gets words, the log the traceback; the last good files keep serving.
        log.exception("%s failed", what)
        messages.error(request, f"{what} stopped with an unexpected error "
                                f"({type(exc).__name__}: {exc}). The previous configuration "
                                "keeps serving.")
        return None
    report(request, revision)
    return revision


def review_url(back: str, reason: str) -> str:
    """Where every apply button leads: the pending diff, then the confirmation (console.review).
    ``back`` is where to go once it is applied or cancelled; ``reason`` is kept with the
    revision."""
    return f"{reverse('console:review')}?{urlencode({'next': back, 'reason': reason})}"


def apply_reviewed(request, reason: str, digest: str) -> Revision | None:
    """Apply what the review page showed (its plan's ``digest``), or raise CatalogueChanged."""
    return _run(request, lambda: apply_catalogue(user=request.user, reason=reason,
                                                 expected=digest), "The apply")


def roll_back(request, revision: Revision, digest: str) -> Revision | None:
    """Roll back as the confirmation page showed it (its plan's ``digest``), or raise
    CatalogueChanged."""
    return _run(request, lambda: rollback_to(revision, request.user, expected=digest),
                "The rollback")
