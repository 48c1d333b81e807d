"""What the catalogue says that is not live: the banner on every page where it can change.

Compares the catalogue's rows with those the last applied revision was rendered from (a few
queries, no rendering unless something differs), says who changed what since, and which entry
would stop the next apply. A skill's new code is ``apply --check``'s business: finding it
means reading every file of every skill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ..catalogue.conflicts import catalogue_problems
from ..catalogue.models import HostSettings, Revision, Skill
from .apply import render_catalogue
from .changes import Change, changes_since
from .client import layout
from .revisions import serialize_catalogue

# Fields no rendered file holds: changing them needs no apply.
NOT_LIVE = {
    "catalogue.skill": {"created", "updated", "interaction_model"},
    "catalogue.hostsettings": {"duckdns_last_update", "duckdns_last_result", "port_range_start",
                               "port_range_end", "reserved_ports", "test_console_default"},
}
MODELS = {"catalogue.skill": Skill, "catalogue.hostsettings": HostSettings}


@dataclass(frozen=True)
class Difference:
    label: str  # "skill memory-game", "host settings"
    how: str  # "added", "removed", "changed: host name, port"
    skill: Skill | None = None  # the row to link to, while it exists
    host: bool = False


@dataclass(frozen=True)
class Blocker:
    message: str
    skill: Skill | None = None  # None and not host: the catalogue as a whole
    host: bool = False


@dataclass
class Unapplied:
    applied: Revision | None
    failed: Revision | None = None  # the newest revision, when it failed
    differences: list[Difference] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    failed_skills: list[Skill] = field(default_factory=list)  # named in its reason

    @property
    def shown(self) -> bool:
        # A failed apply is news only while what it tried still differs from what is live:
        # once the catalogue is reverted there is nothing left to apply or to discard.
        return bool(self.differences)

    @property
    def since(self) -> datetime | None:
        return min((change.when for change in self.changes), default=None)


def _key(row: dict) -> tuple[str, str]:
    model = row.get("model", "")
    return model, row.get("fields", {}).get("slug", "") if model == "catalogue.skill" else ""


def _label(model: str, name: str) -> str:
    try:
        return str(MODELS[model]._meta.get_field(name).verbose_name)
    except Exception:  # a field the revision had and the model no longer has
        return name


def differences(applied_rows: list, current_rows: list, skills: dict[str, Skill]) -> list:
    """Rows added, removed or changed in a live field, the host settings first."""
    old = {_key(row): row for row in applied_rows if row.get("model") in MODELS}
    new = {_key(row): row for row in current_rows}
    found = []
    for key in sorted(old.keys() | new.keys(), key=lambda k: (k[0] != "catalogue.hostsettings",
                                                              k[1])):
        model, slug = key
        label = f"skill {slug}" if slug else "host settings"
        link = {"skill": skills.get(slug), "host": not slug}
        if key not in old:
            found.append(Difference(label, "added", **link))
        elif key not in new:
            found.append(Difference(label, "removed", host=not slug))
        else:
            before, after = old[key]["fields"], new[key]["fields"]
            names = sorted(name for name in before.keys() | after.keys()
                           if name not in NOT_LIVE[model] and before.get(name) != after.get(name))
            if names:
                what = ", ".join(_label(model, name) for name in names)
                found.append(Difference(label, f"changed: {what}", **link))
    return found


def skills_named(text: str, skills: list[Skill], host: HostSettings) -> list[Skill]:
    """The skills a message names, by slug or by host name (the renderers' words)."""
    return [skill for skill in skills
            if re.search(rf"(?<![\w.-]){re.escape(skill.slug)}(?![\w-])", text)
            or skill.fqdn(host) in text]


def _render_blocker(skills: list[Skill], host: HostSettings) -> list[Blocker]:
    """A renderer's refusal the forms' rules did not foresee, with the skills it names."""
    try:
        paths, extras = layout()
        render_catalogue(paths, extras, {})
    except Exception as exc:
        message = f"The catalogue does not render: {exc}"
        named = skills_named(str(exc), skills, host)
        return [Blocker(message, skill) for skill in named] or [Blocker(message)]
    return []


def unapplied() -> Unapplied:
    applied = Revision.objects.filter(outcome=Revision.APPLIED).defer("files").first()
    latest = Revision.objects.defer("files", "catalogue").first()
    state = Unapplied(applied=applied,
                      failed=latest if latest and latest.outcome == Revision.FAILED else None)
    host = HostSettings.load()
    skills = list(Skill.objects.all())
    rows = applied.catalogue.get("rows", []) if applied else []
    state.differences = differences(rows, serialize_catalogue(),
                                    {skill.slug: skill for skill in skills})
    if not state.shown:
        return state
    state.changes = changes_since(applied.created if applied else None)
    state.blockers = [Blocker(f"{problem.field}: {problem.message}", problem.skill,
                              problem.skill is None) for problem in catalogue_problems()]
    if not state.blockers:
        state.blockers = _render_blocker(skills, host)
    if state.failed:
        reason = (state.failed.messages or "").splitlines()[:1]
        state.failed_skills = skills_named(reason[0], skills, host) if reason else []
    return state
