"""Revert: put the catalogue back to what is live, without an apply (none is needed)."""

from __future__ import annotations

from django.db import transaction

from ..catalogue.models import Revision
from . import revisions
from .apply import apply_lock
from .changes import record, who
from .client import layout


def revert_catalogue(user=None) -> Revision:
    """Restore the rows of the last applied revision; returns that revision. Raises
    ValueError when nothing was applied yet, ApplyBusy while an apply runs."""
    paths, _ = layout()
    # Under the apply's lock: an apply that is running may be about to change what is live.
    with apply_lock(paths.data_dir, who(user)):
        applied = Revision.objects.filter(outcome=Revision.APPLIED).first()
        if applied is None:
            raise ValueError("nothing was applied yet, so there is no live catalogue to go "
                             "back to")
        with transaction.atomic():
            revisions.restore_catalogue(applied.catalogue)
            record(f"reverted the catalogue to revision {applied.number}", user)
    return applied
