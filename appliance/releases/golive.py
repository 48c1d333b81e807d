"""Put a built release live: the skill's catalogue entry names it, and the catalogue is applied."""

from __future__ import annotations

from collections.abc import Callable

from ..catalogue.models import Revision, Skill
from ..deploy.apply import apply_catalogue
from .errors import DeployError
from .models import Release


def go_live(skill: Skill, release: Release, *, user=None,
            log: Callable[[str], None] = print) -> str:
    before = Skill.objects.filter(pk=skill.pk).values("source_kind", "release").get()
    Skill.objects.filter(pk=skill.pk).update(source_kind=Skill.SOURCE_RELEASE,
                                             release=release.number)
    revision = apply_catalogue(user=user, reason=f"deploy release {release.number} of "
                                                 f"{skill.slug}")
    for line in revision.messages.splitlines():
        log(f"  {line}")
    if revision.outcome != Revision.APPLIED:
        Skill.objects.filter(pk=skill.pk).update(**before)
        raise DeployError(f"release {release.number} was built but did not go live "
                          f"(revision {revision.number}): {revision.messages.splitlines()[0]}")
    return f"{skill.slug} serves release {release.number} ({release.source})"
