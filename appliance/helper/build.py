"""Build a release: a skill's code at one commit, in a virtual environment of its own.

``release-build SLUG N`` takes the code the admin fetched into ``<data_dir>/releases/<slug>/<n>/``
and makes ``<releases_dir>/<slug>/<n>/``; each step writes to the build log as it runs
(``<releases_dir>/logs/<slug>/<n>.log``, readable by the admin, whose deploy page follows it):

1. ``code/``: root's copy of the fetched tree (no links, no special files, bounded).
2. ``venv/``: ``python -m venv --without-pip`` as the build account (the skill's own user, never
   root), with the appliance's runtime on its path (``runtime.py``).
3. The requirements (``requirements.py``: named packages only), in two steps:
   a. the pip account downloads wheels, and only wheels, into a scratch folder, through the
      pip cache shared by every skill's build. Why this way: pip checks each file it downloads
      from the index against the index's sha256, so those files cannot be swapped; but pip's
      cache also keeps the index's pages (revalidated by ETag, so a planted page with the
      right ETag would be believed) and wheels built locally from source (trusted as they
      are). A cache every build account could write would let one skill plant code in
      another's release. So the shared cache belongs to one account that never runs a
      package's code (binary only) and never takes a skill's pip options; second skills with
      the same packages get them from it in seconds.
   b. the build account installs from those wheels, offline. A package without a wheel is
      built from source in that skill's own, private cache: only its own releases read it.
   The appliance's versions of the runtime's dependencies are constraints on both steps: a
   requirement that pins another version fails the build and says so.
4. The import check (``python -m skills check``), as the build account.
5. The venv becomes a root-owned copy (``treecopy``): the running skill cannot change its code.
6. ``release.json`` (root's) marks it complete; a folder without it is a build that failed or
   died, never installed (``install.check_releases``) and removed by the next build or prune.

A failed build removes its folder: nothing that serves traffic changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import time
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ..render.snapshot import Paths
from . import buildenv, fsutil, releasedirs, runtime, treecopy
from .install import Failure, bundled_skills, tail
from .requirements import RequirementsError, parse

PIP_TIMEOUT = 900
STEP_TIMEOUT = 180
CONFLICT = re.compile(r"The user requested \(constraint\) (\S+)")


def _pip_errors(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("ERROR:")]
    return " ".join(lines[-3:]) or tail(output, 600)


def _conflict(output: str) -> str | None:
    """A requirement that fights the runtime's constraints, in words; None when it is not."""
    if "ResolutionImpossible" not in output and "conflict is caused by" not in output:
        return None
    pins = sorted(set(CONFLICT.findall(output)))
    said = [line.strip() for line in output.splitlines() if "The user requested" in line]
    return ("requirements.txt conflicts with the appliance's skill runtime"
            + (f", which needs {', '.join(pins)}" if pins else "")
            + ": a release cannot have other versions of the runtime's packages. pip said: "
            + "; ".join(said[:6]))


# --- the build ---------------------------------------------------------------------------------

def build(slug: str, number: int, paths: Paths, layout: dict) -> dict:
    started = time.monotonic()
    builder, pip_account = buildenv.accounts(slug, layout)
    releasedirs.prepare_folders(paths, slug, builder.pw_gid)
    target = releasedirs.release_dir(paths, slug, number)
    with releasedirs.skill_lock(paths, slug):
        if os.path.lexists(target):
            if number in releasedirs.in_use(paths, slug):
                raise Failure(f"release {number} of {slug} exists and is in use; a deploy makes "
                              "a new release")
            shutil.rmtree(target)
        log = buildenv.BuildLog(releasedirs.log_path(paths, slug, number),
                                buildenv.admin_gid(layout))
        work = f"{paths.releases_dir}/fetch/{slug}-{number}"
        try:
            os.mkdir(target, 0o755)
            result = _steps(slug, number, target, work, paths, layout, log, builder, pip_account)
            log.line(f"== built release {number} of {slug} in {time.monotonic() - started:.1f} s")
            return {**result, "ok": True, "message": f"built release {number} of {slug}"}
        except BaseException as exc:
            shutil.rmtree(target, ignore_errors=True)
            log.line(f"== the build failed: {exc}")
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
            log.close()


def _steps(slug, number, target, work, paths, layout, log, builder, pip_account) -> dict:
    log.line(f"== release {number} of {slug}: copying the fetched code")
    code = treecopy.copy_tree(releasedirs.staged_dir(paths, slug, number), f"{target}/code",
                              treecopy.Limits(skip=(".git", "__pycache__")))
    log.line(f"{code.copied_files} files, {code.copied_bytes // 1024} KiB")
    if not os.path.isfile(f"{target}/code/app.py"):
        raise Failure("the code has no app.py at its top level (the module that defines the "
                      "skill's Flask app)")
    requirements = _requirements(f"{target}/code/requirements.txt")

    python = buildenv.release_python(layout)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    dists = runtime.closure(runtime.RUNTIME_DEPENDENCIES)
    runtime_dir = runtime.snapshot(
        "runtime", runtime.runtime_files(bundled_skills()) + [
            file for dist in dists for file in runtime.distribution_files(dist)],
        paths.releases_dir, python)
    tools_dir = runtime.snapshot("tools", runtime.distribution_files(metadata.distribution("pip")),
                                 paths.releases_dir, python)

    log.line(f"== the virtual environment (Python {version}, as {builder.pw_name})")
    venv = f"{target}/venv"
    os.mkdir(venv, 0o755)
    os.chown(venv, builder.pw_uid, builder.pw_gid)
    code_, output = log.run([python, "-m", "venv", "--without-pip", venv], account=builder,
                            env={}, timeout=STEP_TIMEOUT)
    if code_ != 0:
        raise Failure(f"python -m venv failed: {tail(output, 600)}")
    site = f"lib/python{version}/site-packages"
    if not os.path.isdir(f"{venv}/{site}"):
        raise Failure(f"the release interpreter {python} is not Python {version}, which the "
                      "appliance's runtime is built for (layout.json's release_python)")
    _write_pth(f"{venv}/{site}", runtime_dir)

    os.makedirs(work, mode=0o755)
    with open(f"{work}/constraints.txt", "w", encoding="utf-8") as handle:
        handle.write(runtime.constraints(dists))
    _write_lines(f"{work}/requirements.txt", requirements)
    # What the runtime has already is no download: a requirement on it is met (or refused by
    # the constraints) when the build account installs.
    provided = {canonicalize_name(d.metadata["Name"]) for d in dists}
    _write_lines(f"{work}/download.txt", [line for line in requirements
                                          if canonicalize_name(Requirement(line).name)
                                          not in provided])
    if requirements:
        _install(requirements, venv, work, paths, layout, log, builder, pip_account, tools_dir,
                 slug)
    else:
        log.line("== no requirements.txt, or nothing in it: nothing to install")

    log.line("== sealing the environment (root's, read-only to the skill)")
    sealed = f"{target}/venv.sealed"
    treecopy.copy_tree(venv, sealed, treecopy.Limits(links=True, what="the environment",
                                                     files=100000, size=4 * 1024 ** 3))
    os.rename(venv, f"{target}/venv.discard")
    os.rename(sealed, venv)
    shutil.rmtree(f"{target}/venv.discard")
    _write_pth(f"{venv}/{site}", runtime_dir, replace=True)

    log.line(f"== the import check: python -m skills check (as {builder.pw_name})")
    check, output = log.run([f"{venv}/bin/python", "-m", "skills", "check", f"{target}/code"],
                            account=builder, env={}, timeout=STEP_TIMEOUT)
    report = _last_json(output)
    if check != 0 or not report.get("ok"):
        raise Failure(f"the skill does not import: {report.get('error') or tail(output, 600)}")

    record = {"slug": slug, "number": number, "python": version, "runtime": runtime_dir,
              "requirements": requirements, "built": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                   time.gmtime())}
    with open(f"{target}/{releasedirs.MARKER}", "x", encoding="utf-8") as handle:
        json.dump(record, handle, indent=1)
    return {"release": record, "files": code.copied_files}


def _requirements(path: str) -> list[str]:
    found = fsutil.current(path)
    if found is None:
        return []
    try:
        return parse(found[0].decode("utf-8"))
    except UnicodeDecodeError:
        raise Failure("requirements.txt is not UTF-8 text") from None
    except RequirementsError as exc:
        raise Failure(str(exc)) from None


def _write_lines(path: str, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("".join(f"{line}\n" for line in lines))


def _write_pth(site: str, runtime_dir: str, *, replace: bool = False) -> None:
    """The runtime on the release's path, written by root into the venv's site-packages
    (reached without following links: the build account owns that folder until it is sealed)."""
    fd = fsutil.open_dir(site)
    try:
        if replace:
            with contextlib.suppress(FileNotFoundError):
                os.unlink("appliance-runtime.pth", dir_fd=fd)
        fsutil.write_beneath(fd, "appliance-runtime.pth", f"{runtime_dir}\n".encode(), 0o644)
    finally:
        os.close(fd)


def _install(requirements, venv, work, paths, layout, log, builder, pip_account, tools_dir,
             slug) -> None:
    pip = ["-m", "pip", "--no-input", "--disable-pip-version-check"]
    quiet = ["--progress-bar", "off"]
    constraints = ["-c", f"{work}/constraints.txt"]
    index = buildenv.index_options(layout)
    wheels = f"{work}/wheels"
    os.mkdir(wheels, 0o755)
    os.chown(wheels, pip_account.pw_uid, pip_account.pw_gid)
    code = 0
    if os.path.getsize(f"{work}/download.txt"):
        shared = buildenv.own_folder(f"{paths.cache_dir}/pip", pip_account)
        log.line(f"== fetching wheels through the shared cache (as {pip_account.pw_name})")
        code, output = log.run(
            [buildenv.release_python(layout), *pip, "download", *quiet, "--only-binary=:all:",
             "--dest", wheels, "-r", f"{work}/download.txt", *constraints, *index],
            account=pip_account, env={"PYTHONPATH": tools_dir, "PIP_CACHE_DIR": shared},
            timeout=PIP_TIMEOUT)
        conflict = _conflict(output)
        if conflict:
            raise Failure(conflict)
    if code == 0:
        source = ["--no-index", "--find-links", wheels, "--no-cache-dir"]
        own = {}
    else:
        log.line("== some requirements have no wheel: they are built from source in "
                 f"{slug}'s own cache")
        own = {"PIP_CACHE_DIR": buildenv.own_folder(f"{paths.cache_dir}/builds/{slug}", builder)}
        source = ["--find-links", wheels, *index]
    log.line(f"== installing the requirements (as {builder.pw_name})")
    code, output = log.run(
        [f"{venv}/bin/python", *pip, "install", *quiet, "--no-warn-script-location",
         "-r", f"{work}/requirements.txt", *constraints, *source],
        account=builder, env={"PYTHONPATH": tools_dir, **own}, timeout=PIP_TIMEOUT)
    if code != 0:
        raise Failure(_conflict(output) or f"a requirement did not install: {_pip_errors(output)}")


def _last_json(output: str) -> dict:
    for line in reversed(output.strip().splitlines()):
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                return value
    return {}


