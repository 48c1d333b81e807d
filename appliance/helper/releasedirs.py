"""Where a skill's releases live on the host, and which of them are complete or in use.

    <releases_dir>/<slug>/<n>/        root's: code/, venv/, release.json (written last)
    <releases_dir>/<slug>/            root's, entered only by the skill's group
    <releases_dir>/logs/<slug>/<n>.log  the build's log, readable by the admin's group
    <data_dir>/releases/<slug>/<n>/   what the admin fetched (its own folder; build.py copies it)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat

from ..render.snapshot import Paths
from ..render.systemd import release_folder
from . import fsutil, policy
from .install import Failure
from .policy import Refused

RELEASE = re.compile(r"[1-9][0-9]{0,8}")
MARKER = "release.json"


def release_number(value: str) -> int:
    if not isinstance(value, str) or not RELEASE.fullmatch(value):
        raise Refused(f"not a release number: {value!r}")
    return int(value)


def skill_slug(value: str) -> str:
    if not isinstance(value, str) or not policy.is_slug(value):
        raise Refused(f"not a skill name: {value!r}")
    return value


def release_dir(paths: Paths, slug: str, number: int) -> str:
    return release_folder(paths, slug, number)


def staged_dir(paths: Paths, slug: str, number: int) -> str:
    """Where the admin puts the code it fetched for release ``number`` (the admin's folder)."""
    return f"{paths.data_dir}/releases/{slug}/{number}"


def log_path(paths: Paths, slug: str, number: int) -> str:
    return f"{paths.releases_dir}/logs/{slug}/{number}.log"


def built(paths: Paths, slug: str, number: int) -> bool:
    """Whether the release is complete: its marker is a file of root's."""
    try:
        info = os.lstat(f"{paths.on_disk(release_dir(paths, slug, number))}/{MARKER}")
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_uid == 0


def in_use(paths: Paths, slug: str) -> set[int]:
    """The releases the installed unit or init script of the skill runs, or its candidate."""
    used = set()
    pattern = re.compile(re.escape(f"{paths.releases_dir}/{slug}/") + r"([0-9]+)/")
    for path in (f"{paths.systemd_dir}/alexa-skill-{slug}.service",
                 f"{paths.initd_dir}/alexa-skill-{slug}", candidate_state(paths, slug)):
        found = fsutil.current(paths.on_disk(path))
        if found is not None:
            used |= {int(n) for n in pattern.findall(found[0].decode("utf-8", "replace"))}
    return used


def state(slug: str, paths: Paths) -> dict:
    """What this host has of the skill's releases, read only: the complete ones, those a build
    left without their marker (failed, interrupted, or code restored without its build), and
    those in use. Nothing is made or locked: the admin asks before it rebuilds."""
    folder = paths.on_disk(f"{paths.releases_dir}/{slug}")
    try:
        names = os.listdir(folder) if stat.S_ISDIR(os.lstat(folder).st_mode) else []
    except FileNotFoundError:
        names = []
    numbers = sorted(int(name) for name in names if RELEASE.fullmatch(name))
    complete = [number for number in numbers if built(paths, slug, number)]
    incomplete = [number for number in numbers if number not in complete]
    words = ", ".join(map(str, complete)) or "none"
    return {"ok": True, "slug": slug, "built": complete, "incomplete": incomplete,
            "in_use": sorted(in_use(paths, slug)),
            "message": f"{slug}'s releases built on this host: {words}"}


def candidate_state(paths: Paths, slug: str) -> str:
    return f"{paths.run_dir}/release-candidates/{slug}.json"


def skill_lock(paths: Paths, slug: str):
    return fsutil.lock_now(f"{paths.releases_dir}/{slug}/.lock",
                           Failure(f"another build or prune of {slug}'s releases is running"))


def prepare_folders(paths: Paths, slug: str, build_gid: int) -> None:
    """``<releases_dir>`` (root's, 0755) and the skill's folder in it: root's, entered only by
    the skill's group (its build and its service), so no other skill reads or writes there."""
    os.close(fsutil.open_dir(paths.releases_dir, create=True, mode=0o755))  # no links in it
    os.makedirs(f"{paths.releases_dir}/{slug}", mode=0o750, exist_ok=True)
    for folder, mode, gid in ((paths.releases_dir, 0o755, 0),
                              (f"{paths.releases_dir}/{slug}", 0o750, build_gid)):
        info = os.lstat(folder)
        if not os.path.isdir(folder) or os.path.islink(folder):
            raise Failure(f"{folder} is not a plain folder")
        if (info.st_uid, info.st_gid, info.st_mode & 0o7777) != (0, gid, mode):
            os.chown(folder, 0, gid)
            os.chmod(folder, mode)


def prune(slug: str, keep: set[int], paths: Paths) -> dict:
    """Remove the skill's releases (and build logs) other than ``keep`` and those in use; with
    nothing to keep and none left (a removed skill's), its folders too."""
    folder = f"{paths.releases_dir}/{slug}"
    if not os.path.isdir(folder):
        return {"ok": True, "removed": [], "message": f"{slug} has no releases"}
    removed = []
    with skill_lock(paths, slug):
        kept = keep | in_use(paths, slug)
        for name in sorted(os.listdir(folder)):
            if RELEASE.fullmatch(name) and int(name) not in kept:
                shutil.rmtree(f"{folder}/{name}")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(log_path(paths, slug, int(name)))
                removed.append(int(name))
        left = [name for name in os.listdir(folder) if RELEASE.fullmatch(name)]
        if not keep and not left:
            shutil.rmtree(folder)
            shutil.rmtree(os.path.dirname(log_path(paths, slug, 1)), ignore_errors=True)
    return {"ok": True, "removed": removed,
            "message": f"removed {len(removed)} of {slug}'s releases"}
