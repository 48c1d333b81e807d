"""What every release takes from the appliance rather than from its own requirements.

- The **runtime**: the serving part of the ``skills`` package (``python -m skills serve`` and
  ``skills.runtime``) and the distributions it imports (Flask, waitress, PyYAML, aniso8601,
  cryptography and what they need), copied from the helper's own environment into
  ``<releases_dir>/runtime/<digest>/``. A release's venv names that folder in a ``.pth`` file.
  Why a folder rather than installing the appliance's wheel into each venv: nothing is fetched
  (the runtime needs no index), a release's venv holds only the skill's own packages, and the
  skills' processes map one copy of cryptography's and the others' libraries (shared pages,
  which keeps many skills within a small host's memory). pip sees these distributions as
  installed (their ``.dist-info`` comes along), so a requirement on Flask is met by the
  appliance's Flask, and the constraints (their exact versions) refuse any other version.
- **pip**, copied the same way into ``<releases_dir>/tools/<digest>/`` and run from there with
  the release's interpreter: no release venv has pip of its own, so a running skill has no
  installer at hand.

Folders are named by the digest of what they hold, made once, then never changed: a release
keeps the runtime it was built and health-checked with; the next deploy after an upgrade takes
the new one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .install import Failure, run_tool, tail

# What skills.runtime, skills.serve and skills.loader import, deferred imports included
# (requests fetches a signing chain, certifi is its trust store): a release sees nothing else of
# the appliance's environment, and the deploy tests verify a signed request in one.
RUNTIME_DEPENDENCIES = ("flask", "waitress", "pyyaml", "aniso8601", "cryptography", "requests",
                        "certifi")
SERVING_MODULES = ("__init__.py", "__main__.py", "cli.py", "serve.py", "loader.py", "envfile.py")
COMPLETE = ".complete"


def closure(names: tuple[str, ...]) -> list[metadata.Distribution]:
    """The installed distributions ``names`` need, theirs included (markers evaluated for this
    interpreter, no extras), sorted by name."""
    environment = {**default_environment(), "extra": ""}
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        try:
            found[name] = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise Failure(f"the appliance's environment lacks {name}, which the skill runtime "
                          "needs") from None
        for text in found[name].requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                todo.append(requirement.name)
    return [found[name] for name in sorted(found)]


def constraints(dists: list[metadata.Distribution]) -> str:
    """A pip constraints file pinning each distribution to the appliance's version."""
    return "".join(f"{canonicalize_name(d.metadata['Name'])}=={d.version}\n" for d in dists)


def distribution_files(dist: metadata.Distribution) -> list[tuple[str, Path]]:
    """(path relative to site-packages, file) of what the distribution installed there; its
    scripts (outside site-packages) and compiled files are left behind."""
    files = []
    for item in dist.files or []:
        relative = str(item)
        if relative.startswith("../") or relative.startswith("/") or relative.endswith(".pyc"):
            continue
        source = Path(dist.locate_file(item))
        if source.is_file():
            files.append((relative, source))
    return files


def runtime_files(skills_dir: str) -> list[tuple[str, Path]]:
    """The serving part of the ``skills`` package (never the bundled skills, the dialog and
    voice tools, or the test helpers)."""
    base = Path(skills_dir)
    files = [(f"skills/{name}", base / name) for name in SERVING_MODULES]
    files += [(f"skills/runtime/{path.name}", path)
              for path in sorted((base / "runtime").glob("*.py"))]
    return files


def _digest(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for relative, source in sorted(files):
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256(source.read_bytes()).digest())
    return digest.hexdigest()[:16]


def snapshot(kind: str, files: list[tuple[str, Path]], releases_dir: str,
             python: str) -> str:
    """``<releases_dir>/<kind>/<digest>/`` holding ``files``, root's and read-only to all,
    compiled with ``python`` (so no skill process compiles it again at each start). Made once:
    an existing complete folder is returned as it is."""
    folder = f"{releases_dir}/{kind}/{_digest(files)}"
    if os.path.isfile(f"{folder}/{COMPLETE}"):
        return folder
    os.makedirs(os.path.dirname(folder), mode=0o755, exist_ok=True)
    partial = f"{folder}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        for relative, source in files:
            target = os.path.join(partial, relative)
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            shutil.copyfile(source, target)
            os.chmod(target, 0o755 if os.stat(source).st_mode & 0o111 else 0o644)
            os.utime(target, ns=(os.stat(source).st_atime_ns, os.stat(source).st_mtime_ns))
        code, output = run_tool([python, "-m", "compileall", "-q", partial], timeout=300)
        if code != 0:
            raise Failure(f"compiling the {kind} for releases failed: {tail(output)}")
        for directory, _, _ in os.walk(partial):
            os.chmod(directory, 0o755)  # noqa: S103 - read by every release
        Path(partial, COMPLETE).write_text("")
        shutil.rmtree(folder, ignore_errors=True)  # an incomplete one left by a crash
        os.rename(partial, folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder

