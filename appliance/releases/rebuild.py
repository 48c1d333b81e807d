"""Build again the releases the catalogue names but this host has not built.

A host restored from a backup has each release's code (put back where a deploy stages it,
``<data_dir>/releases/<slug>/<n>/``) but not its virtual environment, and the helper installs
no catalogue naming a release it has not completed; a build that was interrupted leaves a
release without its marker too. Before the first apply, ``manage.py releases_rebuild`` asks the
helper which releases are complete (``release-state``) and has it build each missing one from
that code (``release-build``), as a deploy would: the live releases always, the other kept
ones (what a rollback could need) when asked, since each build takes a while.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone

from ..catalogue.models import Skill
from ..deploy.client import HelperError, layout, run_helper
from ..helper import releasedirs
from . import deploy
from .deploylog import DeployLog
from .errors import DeployError
from .models import Release


@dataclass(frozen=True)
class Wanted:
    slug: str
    number: int
    live: bool
    row: Release | None  # None: the catalogue names a release whose row is gone

    def __str__(self) -> str:
        return f"{self.slug} {self.number}"


@dataclass
class Result:
    rebuilt: list[Wanted]
    not_built: list[Wanted]  # kept releases left for --kept


def wanted() -> list[Wanted]:
    """The releases the catalogue runs, and the other kept ones a rollback may serve."""
    found = {}
    for skill in Skill.objects.filter(source_kind=Skill.SOURCE_RELEASE, release__gt=0):
        row = skill.releases.filter(number=skill.release).first()
        found[skill.slug, skill.release] = Wanted(skill.slug, skill.release, True, row)
    for row in Release.objects.filter(outcome=Release.BUILT).select_related("skill"):
        key = (row.skill.slug, row.number)
        found.setdefault(key, Wanted(*key, False, row))
    return sorted(found.values(), key=lambda w: (w.slug, w.number))


def rebuild_all(*, kept: bool = False, echo: Callable[[str], None] | None = None) -> Result:
    """Build every missing release (the live ones; with ``kept`` the others too). DeployError
    names those whose code is not staged (before any build), or whose build failed (after
    building the others)."""
    releases = wanted()
    # One question per skill: which of its releases are complete here.
    built = {slug: deploy.built_here(slug) for slug in sorted({w.slug for w in releases})}
    absent = [w for w in releases if w.number not in built[w.slug]]
    todo = [w for w in absent if w.live or kept]
    without_code = [w for w in todo if not code_folder(w).is_dir()]
    if without_code:
        raise DeployError(
            "the code of " + ", ".join(f"release {w.number} of {w.slug} ({code_folder(w)})"
                                       for w in without_code)
            + " is missing, so it cannot be built again: deploy the skill again (or restore a "
            "backup that holds it); nothing was built")
    rebuilt, failed = [], []
    for item in todo:
        try:
            rebuild(item, echo)
        except (DeployError, HelperError) as exc:
            failed.append(f"release {item.number} of {item.slug}: {exc}")
        else:
            rebuilt.append(item)
    if failed:
        done = f" (rebuilt: {', '.join(map(str, rebuilt))})" if rebuilt else ""
        raise DeployError(f"not rebuilt: {'; '.join(failed)}{done}")
    return Result(rebuilt, [w for w in absent if w not in todo])


def code_folder(item: Wanted) -> Path:
    return deploy.folder(item.slug) / str(item.number)


def rebuild(item: Wanted, echo: Callable[[str], None] | None = None) -> None:
    """Have the helper build one release from its staged code; its row records when, and its
    log gets the build's lines."""
    path = deploy.folder(item.slug) / f"{item.number}.log"
    start = path.stat().st_size if path.exists() else 0
    paths, _ = layout()
    helper_log = paths.on_disk(releasedirs.log_path(paths, item.slug, item.number))
    with deploy.deploy_lock(item.slug):
        log = DeployLog(path, echo)
        began = time.time()
        try:
            log.line(f"== rebuilding release {item.number} of {item.slug} from its code "
                     "(this host did not have its build)")
            try:
                run_helper("release-build", item.slug, str(item.number),
                           timeout=deploy.BUILD_TIMEOUT)
            finally:
                _copy_build_log(helper_log, began, log)
        except HelperError as exc:
            log.line(f"== the rebuild failed: {exc}")
            raise
        finally:
            log.close()
            added = path.read_bytes()[start:].decode("utf-8", "replace")
            if item.row is not None:
                item.row.log += added
                item.row.save(update_fields=["log"])
    if item.row is not None:
        when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        item.row.built_at = timezone.now()
        item.row.message = f"{item.row.message} Rebuilt on this host {when}.".strip()
        item.row.save(update_fields=["built_at", "message"])


def _copy_build_log(helper_log: str, began: float, log: DeployLog) -> None:
    """The helper's build log, once the build has ended (one written by an earlier build of
    the same number is not this one's)."""
    try:
        with open(helper_log, "rb") as handle:
            if os.fstat(handle.fileno()).st_mtime < began - 1:
                return
            log.write(handle.read())
    except OSError:
        return
