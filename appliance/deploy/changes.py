"""The catalogue's change log since a moment: the admin's LogEntry rows and our own records."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from ..catalogue.models import HostSettings, Skill
from .models import CatalogueChange


def who(user=None) -> str:
    return user.get_username() if user is not None else f"{getpass.getuser()} (command line)"


def record(what: str, user=None) -> None:
    """Note a change made outside the admin's forms; ``user`` None: the command line."""
    CatalogueChange.objects.create(who=who(user)[:150], what=what[:300])


@dataclass(frozen=True)
class Change:
    when: datetime
    who: str
    what: str


def changes_since(moment: datetime | None, limit: int = 20) -> list[Change]:
    """The newest ``limit`` changes after ``moment`` (all of them for None), newest first."""
    types = ContentType.objects.get_for_models(Skill, HostSettings).values()
    entries = LogEntry.objects.filter(content_type__in=types).select_related("user")
    records = CatalogueChange.objects.all()
    if moment is not None:
        entries = entries.filter(action_time__gt=moment)
        records = records.filter(when__gt=moment)
    found = [Change(e.action_time, e.user.get_username(), str(e))
             for e in entries.order_by("-action_time")[:limit]]
    found += [Change(r.when, r.who, r.what) for r in records.order_by("-when")[:limit]]
    return sorted(found, key=lambda change: change.when, reverse=True)[:limit]
