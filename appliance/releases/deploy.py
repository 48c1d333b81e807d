"""A deploy: fetch the code, have the helper build the release, put it live, prune old ones.

    new_release (the row: its number and source) → deploy: fetch (fetch.py, the admin's folder)
    → unchanged when it is the live release's code → release-build (the helper, as the skill's
    account) → the switch-over (switch.py) → release-prune (the oldest beyond RELEASES_KEEP)

Every step writes to the release's log (deploylog.py); bad input ends the deploy with words in
``Release.message`` and nothing that serves traffic changed. One deploy per skill at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ..catalogue.models import Skill
from ..deploy.client import HelperError, layout, run_helper
from ..helper import fsutil, releasedirs
from . import fetch, keys, switch
from .deploylog import DeployLog
from .errors import DeployError
from .models import Release

BUILD_TIMEOUT = 20 * 60.0  # the helper's own steps stop within 15 min (pip's timeout)
# How long a deploy the page started may take to start (and take its lock) before the page
# says its process is gone.
STARTUP_GRACE = dt.timedelta(seconds=30)


@dataclass
class Outcome:
    release: Release
    changed: bool
    message: str


def folder(slug: str) -> Path:
    return Path(settings.APPLIANCE_DATA_DIR) / "releases" / slug


def log_file(release: Release) -> Path:
    return folder(release.skill.slug) / f"{release.number}.log"


def staged(release: Release) -> Path:
    return folder(release.skill.slug) / str(release.number)


def upload_file(release: Release) -> Path:
    return folder(release.skill.slug) / f"{release.number}.zip"


def new_release(skill: Skill, *, kind: str, user=None, **source) -> Release:
    """The next release's row (building), numbered after every earlier one of the skill."""
    for _ in range(5):
        number = (skill.releases.aggregate(Max("number"))["number__max"] or 0) + 1
        try:
            with transaction.atomic():
                return Release.objects.create(skill=skill, number=number, kind=kind,
                                              created_by=user, **source)
        except IntegrityError:
            continue  # another deploy took that number first
    raise DeployError(f"no release number could be given to {skill.slug}; try again")


def deploy_lock(slug: str):
    folder(slug).mkdir(parents=True, exist_ok=True)
    return fsutil.lock_now(str(folder(slug) / ".deploy.lock"),
                           DeployError(f"another deploy or rollback of {slug} is running"))


def in_progress(release: Release) -> bool:
    """Whether ``release``'s deploy has not ended: the one the page started is still starting
    (Django loads before it takes the lock), or a process holds the skill's lock while the
    release is unfinished (built, it is still being switched over)."""
    if release.finished_at is not None:
        return False
    if timezone.now() - release.created < STARTUP_GRACE:
        return True
    return running(release.skill.slug)


def running(slug: str) -> bool:
    """Whether a deploy of the skill holds its lock now (a release left "building" by a
    process that died is not running)."""
    try:
        with deploy_lock(slug):
            return False
    except DeployError:
        return True


def deploy(release: Release, *, user=None, echo: Callable[[str], None] | None = None) -> Outcome:
    """Run the deploy of ``release`` (made by new_release; a zip's upload waits at
    upload_file). DeployError when it did not go live; the row records it either way."""
    log = DeployLog(log_file(release), echo)
    try:
        with deploy_lock(release.skill.slug):
            outcome = _deploy(release, log, user)
        release.message = outcome.message
        return outcome
    except (DeployError, fetch.FetchError, HelperError) as exc:
        release.outcome, release.message = Release.FAILED, str(exc)
        log.line(f"== failed: {exc}")
        raise DeployError(str(exc)) from None
    except Exception as exc:
        release.outcome = Release.FAILED
        release.message = f"internal error: {type(exc).__name__}: {exc}"
        log.line(f"== failed: {release.message}")
        raise
    finally:
        release.log, release.finished_at = log.text(), timezone.now()
        release.save()
        log.close()
        fetch.remove(upload_file(release))
        if release.outcome != Release.BUILT:
            fetch.remove(staged(release))


def _deploy(release: Release, log: DeployLog, user) -> Outcome:
    skill = release.skill
    target = staged(release)
    fetch.remove(target)
    if release.kind == Release.GIT:
        release.commit = fetch.git_fetch(release.git_url, release.git_ref, target,
                                         key_pem=keys.private_key(skill), log=log.line)
    else:
        log.line(f"== unpacking {release.zip_name}")
        release.zip_sha256 = fetch.unzip(upload_file(release), target, log=log.line)
    requirements = fetch.check_tree(target)
    log.line(f"requirements: {', '.join(requirements) or 'none'}")
    release.save(update_fields=["commit", "zip_sha256"])

    live = live_release(skill)
    if live and same_code(live, release):
        release.outcome = Release.UNCHANGED
        return Outcome(release, False, f"{skill.slug} already serves this code as release "
                                       f"{live.number} ({live.source})")
    paths, _ = layout()
    log.line(f"== building release {release.number} (the helper)")
    with log.following(paths.on_disk(releasedirs.log_path(paths, skill.slug, release.number))):
        run_helper("release-build", skill.slug, str(release.number), timeout=BUILD_TIMEOUT)
    release.outcome, release.built_at = Release.BUILT, timezone.now()
    release.save(update_fields=["outcome", "built_at"])
    log.line(f"== release {release.number} is built; putting it live")
    switch.switch(skill, release, user=user, log=log.line)
    prune(skill, log.line)
    return Outcome(release, True, f"{skill.slug} serves release {release.number} "
                                  f"({release.source})")


def live_release(skill: Skill) -> Release | None:
    skill.refresh_from_db(fields=["source_kind", "release"])
    if skill.source_kind != Skill.SOURCE_RELEASE or not skill.release:
        return None
    return skill.releases.filter(number=skill.release).first()


def built_here(slug: str) -> set[int]:
    """The skill's releases the helper has completed on this host (release-state)."""
    return set(run_helper("release-state", slug)["built"])


def same_code(a: Release, b: Release) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == Release.GIT:
        return (a.git_url, a.commit) == (b.git_url, b.commit)
    return a.zip_sha256 == b.zip_sha256


def prune(skill: Skill, log: Callable[[str], None]) -> list[int]:
    """Keep the last RELEASES_KEEP releases (and the live one); remove the others with their
    code and venv (the helper) and the admin's copies. Numbers removed."""
    rows = list(skill.releases.exclude(outcome=Release.BUILDING).order_by("-number"))
    keep = rows[:max(1, settings.RELEASES_KEEP)]
    doomed = [row for row in rows[len(keep):] if not row.live]
    # An unchanged deploy's row says so once: older ones go whatever the count.
    doomed += [row for row in keep[1:] if row.outcome == Release.UNCHANGED]
    kept = [row for row in rows if row not in doomed]
    try:
        run_helper("release-prune", skill.slug,
                   *(str(row.number) for row in kept if row.outcome == Release.BUILT))
    except HelperError as exc:
        log(f"could not prune old releases: {exc}")
        return []
    for row in doomed:
        fetch.remove(staged(row))
        fetch.remove(log_file(row))
        row.delete()
    if doomed:
        log(f"pruned releases {', '.join(str(row.number) for row in doomed)}")
    return [row.number for row in doomed]


def rollback(skill: Skill, number: int, *, user=None,
             echo: Callable[[str], None] | None = None) -> Outcome:
    """Serve a kept release again: its code, venv, environment, unit and Caddy's route, through
    the same switch-over as a deploy. DeployError when it cannot."""
    release = skill.releases.filter(number=number).first()
    kept = ", ".join(str(n) for n in skill.releases.filter(outcome=Release.BUILT)
                     .values_list("number", flat=True)) or "none"
    if release is None or release.outcome != Release.BUILT:
        why = "was never built" if release else "is not kept"
        raise DeployError(f"release {number} of {skill.slug} {why}; the releases to roll back "
                          f"to: {kept}")
    live = live_release(skill)
    if live and live.number == number:
        return Outcome(release, False, f"{skill.slug} already serves release {number}")
    try:
        here = built_here(skill.slug)
    except HelperError as exc:
        raise DeployError(f"the helper could not say which releases this host has: {exc}") \
            from None
    if number not in here:
        # A restored host builds the live releases only (releases_rebuild).
        raise DeployError(f"release {number} of {skill.slug} is kept but not built on this "
                          f"host: manage.py releases_rebuild --kept builds it again")
    echo = echo or (lambda line: None)
    with deploy_lock(skill.slug):
        echo(f"== rolling {skill.slug} back to release {number} ({release.source})")
        switch.switch(skill, release, user=user, environment=release.environment, log=echo)
    return Outcome(release, True, f"{skill.slug} serves release {number} again "
                                  f"({release.source})")
