#!/usr/bin/env python3
"""Build the appliance's wheelhouse on the controller: its own wheel and every runtime dependency.

    build_wheelhouse.py --source REPO --dest DIR --tarball FILE [--python-version 3.11] [--refresh]
    build_wheelhouse.py --pack DIR --tarball FILE        (a wheelhouse made elsewhere)

The host installs from it with ``pip install --no-index --find-links``: it needs no package
index (and no TLS trust) of its own. The project's wheel is built from a clean copy of the source
(no stale ``build/`` folder, no ``var/``), reproducibly (``SOURCE_DATE_EPOCH``): the same source
gives a byte-identical wheel. The dependencies are downloaded as binary wheels for the target's
Python and platform, whatever the controller runs. When the source and the options are those of
the last build, nothing is built again (``--refresh`` does, to pick up newer dependencies).

``DEST`` ends up holding exactly the new build; ``FILE`` is a reproducible tar of its wheels, what
the playbook copies to the host (one file: one checksum to compare on a rerun). Prints one JSON
object: ``{"changed": bool, "built": bool, "tarball": ..., "wheels": [...], "digest": ...}``.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# 1980-01-01, the oldest date a zip file can hold: the wheel's timestamps do not vary.
SOURCE_DATE_EPOCH = "315532800"
# What a wheel is built from; everything else in the repository (tests, var/, .venv) stays out.
TOP_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "MANIFEST.in", "README.md", "LICENSE")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info", ".*")
# manylinux tags a Debian 12 host (glibc 2.36) accepts, newest first.
DEFAULT_PLATFORMS = ("manylinux_2_36_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64",
                     "manylinux2014_x86_64", "linux_x86_64")
INPUTS = ".inputs.json"  # what the wheelhouse in DEST was built from


def clean_copy(source: Path, work: Path, packages: list[str]) -> Path:
    tree = work / "src"
    tree.mkdir()
    for name in TOP_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, tree / name)
    if not (tree / "pyproject.toml").exists():
        raise SystemExit(f"build_wheelhouse: {source} has no pyproject.toml")
    for package in packages:
        if not (source / package).is_dir():
            raise SystemExit(f"build_wheelhouse: {source / package} is not a folder")
        shutil.copytree(source / package, tree / package, ignore=IGNORED)
    return tree


def pip(*args: str, env: dict | None = None) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, env=env)
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise SystemExit(f"build_wheelhouse: pip {args[0]} failed:\n{tail}")


def build(source: Path, out: Path, work: Path, packages: list[str], python_version: str,
          platforms: list[str]) -> None:
    tree = clean_copy(source, work, packages)
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "PYTHONHASHSEED": "0"}
    pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(tree), env=env)
    project = sorted(out.glob("*.whl"))
    if len(project) != 1:
        raise SystemExit(f"build_wheelhouse: expected one wheel of the project, got {project}")
    abi = "cp" + python_version.replace(".", "")
    platform_args = [arg for tag in platforms for arg in ("--platform", tag)]
    pip("download", "--quiet", "--only-binary=:all:", "--python-version", python_version,
        "--implementation", "cp", "--abi", abi, "--abi", "abi3", "--abi", "none",
        *platform_args, "--dest", str(out), str(project[0]))


def sync(new: Path, dest: Path) -> bool:
    """Make ``dest`` hold exactly the wheels in ``new``; whether anything changed."""
    dest.mkdir(parents=True, exist_ok=True)
    changed = False
    wanted = {path.name for path in new.glob("*.whl")}
    for path in dest.glob("*.whl"):
        if path.name not in wanted:
            path.unlink()
            changed = True
    for name in sorted(wanted):
        target = dest / name
        if target.exists() and filecmp.cmp(new / name, target, shallow=False):
            continue
        partial = dest / f".{name}.partial"
        shutil.copyfile(new / name, partial)
        partial.chmod(0o644)
        partial.replace(target)
        changed = True
    return changed


def digest(dest: Path) -> str:
    total = hashlib.sha256()
    for path in sorted(dest.glob("*.whl")):
        total.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


def inputs_digest(source: Path, packages: list[str], options: dict) -> str:
    """What a build depends on: the files it copies, the options, this script."""
    total = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    total.update(Path(__file__).read_bytes())
    files = [source / name for name in TOP_FILES if (source / name).is_file()]
    for package in packages:
        files += sorted(p for p in (source / package).rglob("*") if p.is_file()
                        and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
                        and not any(part.startswith(".") or part.endswith(".egg-info")
                                    for part in p.relative_to(source).parts))
    for path in files:
        total.update(str(path.relative_to(source)).encode() + b"\0")
        total.update(hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


def up_to_date(dest: Path, wanted: str) -> bool:
    try:
        recorded = json.loads((dest / INPUTS).read_text())
    except (OSError, ValueError):
        return False
    return (recorded.get("inputs") == wanted and recorded.get("wheels")
            and all((dest / name).is_file() for name in recorded["wheels"])
            and recorded.get("digest") == digest(dest))


def pack(wheelhouse: Path, tarball: Path) -> bool:
    """A reproducible tar of the wheels (sorted, no dates, no owners); whether it changed."""
    wheels = sorted(wheelhouse.glob("*.whl"))
    if not any(path.name.startswith("alexa_appliance-") for path in wheels):
        raise SystemExit(f"build_wheelhouse: {wheelhouse} holds no alexa_appliance wheel")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_name(f".{tarball.name}.partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
        for path in wheels:
            info = tarfile.TarInfo(path.name)
            info.size, info.mode, info.mtime = path.stat().st_size, 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            with open(path, "rb") as handle:
                archive.addfile(info, handle)
    if tarball.exists() and filecmp.cmp(partial, tarball, shallow=False):
        partial.unlink()
        return False
    partial.replace(tarball)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--source", type=Path, help="the project's folder, to build from")
    what.add_argument("--pack", type=Path, metavar="DIR",
                      help="a wheelhouse made elsewhere: only pack it")
    parser.add_argument("--dest", type=Path, help="the wheelhouse folder (with --source)")
    parser.add_argument("--tarball", type=Path, required=True, help="the tar the host gets")
    parser.add_argument("--package", action="append", default=None,
                        help="a top-level package folder to build from (default: appliance, "
                        "skills)")
    parser.add_argument("--python-version", default="3.11", help="the host's Python (3.11)")
    parser.add_argument("--platform", action="append", default=None,
                        help="a platform tag the host accepts (repeatable; default: manylinux "
                        "tags for x86_64 with glibc 2.36)")
    parser.add_argument("--refresh", action="store_true",
                        help="build even when the source has not changed (newer dependencies)")
    args = parser.parse_args(argv)
    built = changed = False
    if args.pack:
        wheelhouse = args.pack.resolve()
    else:
        if not args.dest:
            parser.error("--source needs --dest")
        source, wheelhouse = args.source.resolve(), args.dest.resolve()
        packages = args.package or ["appliance", "skills"]
        platforms = args.platform or list(DEFAULT_PLATFORMS)
        wanted = inputs_digest(source, packages, {"python": args.python_version,
                                                  "platforms": platforms})
        if args.refresh or not up_to_date(wheelhouse, wanted):
            with tempfile.TemporaryDirectory(prefix="wheelhouse-") as work:
                out = Path(work) / "out"
                out.mkdir()
                build(source, out, Path(work), packages, args.python_version, platforms)
                changed = sync(out, wheelhouse)
            built = True
            names = sorted(path.name for path in wheelhouse.glob("*.whl"))
            (wheelhouse / INPUTS).write_text(json.dumps(
                {"inputs": wanted, "wheels": names, "digest": digest(wheelhouse)}) + "\n")
    tarball = args.tarball.resolve()
    changed = pack(wheelhouse, tarball) or changed
    wheels = sorted(path.name for path in wheelhouse.glob("*.whl"))
    print(json.dumps({"changed": changed, "built": built, "tarball": str(tarball),
                      "wheels": wheels, "digest": digest(wheelhouse)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
