"""What the next apply would do, shown before it is done: the review page and ``apply --diff``.

The catalogue is rendered as the apply renders it (the console's CA included, made now when it
is missing or due, as the apply itself would) and compared with the live revision's files. The
helper renders the same files from the same catalogue, byte for byte, so this is what would be
installed. Its digest goes with the confirmation: the apply renders again under its lock and
goes on only if it gets the same digest (``apply_catalogue(expected=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from ..catalogue.models import Revision
from . import diffs, revisions
from .apply import console_ca_parts, render_catalogue
from .client import layout


@dataclass
class Plan:
    live: Revision | None  # what the diff is taken against; None: nothing was applied yet
    diffs: list[diffs.FileDiff] = field(default_factory=list)
    code: list[str] = field(default_factory=list)  # skills whose code changed since live
    error: str = ""  # why the catalogue does not render: there is nothing to apply
    digest: str = ""

    @property
    def summary(self) -> diffs.Summary:
        return diffs.summary(self.diffs)

    @property
    def pending(self) -> bool:
        return not self.error and (self.live is None or bool(self.diffs or self.code))

    def text(self) -> str:
        """The plan as ``apply --diff`` prints it: the diff, then a line of figures."""
        if self.error:
            return f"The catalogue does not render: {self.error}\n"
        total = self.summary
        against = f"revision {self.live.number}" if self.live else "an empty host (nothing " \
            "was applied yet)"
        lines = [diffs.unified(self.diffs).rstrip("\n")] if self.diffs else []
        if self.code:
            lines.append(f"a skill's code changed: {', '.join(self.code)}")
        if not self.diffs:
            lines.append(f"no rendered file differs from {against}")
        else:
            hidden = f", {total.secret} secret (content not shown)" if total.secret else ""
            lines.append(f"{total.files} file{'s' if total.files != 1 else ''} differ from "
                         f"{against}: +{total.added} -{total.removed} lines{hidden}")
        return "\n".join(lines) + "\n"


def pending_plan() -> Plan:
    """The diff between the live revision's files and what the catalogue renders now."""
    live = Revision.objects.filter(outcome=Revision.APPLIED).order_by("-number").first()
    try:
        paths, extras = layout()
        cat, files = render_catalogue(paths, extras, console_ca_parts())
    except Exception as exc:  # the apply would fail the same way: say why, offer no apply
        return Plan(live, error=str(exc))
    sources = revisions.source_digests(cat)
    old = live.catalogue.get("sources", {}) if live else {}
    code = sorted(slug for slug in old.keys() | sources.keys()
                  if old.get(slug) != sources.get(slug)) if live else []
    return Plan(live, diffs.diff_files(live.files if live else {}, files), code,
                digest=revisions.plan_digest(live.number if live else None, files, sources))


def rollback_plan(revision: Revision) -> Plan:
    """What a rollback to ``revision`` would apply: its catalogue restored as ``rollback_to``
    restores it (current secrets, current placements), rendered, and the restore undone."""
    if revision.outcome not in (Revision.APPLIED, Revision.SUPERSEDED):
        return Plan(None, error=f"revision {revision.number} was never applied")
    with transaction.atomic():
        try:
            revisions.restore_catalogue(revision.catalogue, reset_sequences=False)
        except ValueError as exc:  # no catalogue to restore: the rollback says the same
            plan = Plan(Revision.objects.filter(outcome=Revision.APPLIED).first(),
                        error=str(exc))
        else:
            plan = pending_plan()
        transaction.set_rollback(True)
    return plan


def revision_diffs(revision: Revision) -> list[diffs.FileDiff] | None:
    """The diff a revision applied (against the revision live before it), as it kept it;
    None when its text does not read back (then show the text as it is)."""
    try:
        return diffs.parse(revision.diff or "")
    except ValueError:
        return None
