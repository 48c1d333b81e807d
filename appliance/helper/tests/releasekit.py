"""What the release tests build on: a local package index (a folder of wheels made here from a
tiny pure-Python project, for ``--no-index --find-links``: the network may not reach PyPI), a
skill's code as the admin stages it, and a host laid out under a folder every account can enter
(the builds drop to ``nobody`` and the pip cache's ``daemon``)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from appliance.render.layout import paths_under, write_layout

ROOT = Path(__file__).resolve().parents[3]
BUILD_USER, PIP_USER = "nobody", "daemon"
RELEASE_PYTHON = "/usr/bin/python3"  # this machine's own interpreter: the build accounts can
# run it (the test venv's base interpreter lives under /root, which they cannot enter)

APP = '''from flask import Flask

from skills.runtime import Ask, statement

{imports}
app = Flask(__name__)
ask = Ask(app, "/")


@ask.launch
def launch():
    return statement({speech})
'''


def open_folder(prefix: str) -> Path:
    """A temporary folder every account may enter (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


def wheel(folder: Path, name: str, version: str, modules: dict[str, str],
          requires: tuple[str, ...] = ()) -> Path:
    """A pure-Python wheel of ``modules`` ({file name: source}), as a build backend makes one:
    the modules, METADATA, WHEEL and a RECORD with each file's hash."""
    info = f"{name}-{version}.dist-info"
    files = dict(modules)
    files[f"{info}/METADATA"] = "\n".join([
        "Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
        *(f"Requires-Dist: {requirement}" for requirement in requires)]) + "\n"
    files[f"{info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: appliance-tests\n"
                              "Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    target = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    target.chmod(0o644)
    return target


def wheelhouse(folder: Path) -> Path:
    """tinytool 1.0 (greets), and needsflask 1.0, which pins a Flask the runtime does not have."""
    folder.mkdir(mode=0o755, exist_ok=True)
    wheel(folder, "tinytool", "1.0", {"tinytool.py": 'def greet():\n    return "Hello from '
                                                     'tinytool"\n'})
    wheel(folder, "needsflask", "1.0", {"needsflask.py": ""}, requires=("flask==2.0.0",))
    return folder


def stage(paths, slug: str, number: int, *, app: str | None = None,
          requirements: str | None = "tinytool==1.0\n", files: dict | None = None) -> Path:
    """The code as the admin leaves it for the helper: <data_dir>/releases/<slug>/<n>/."""
    folder = Path(paths.data_dir) / "releases" / slug / str(number)
    folder.mkdir(parents=True)
    if app is None:
        app = APP.format(imports="import tinytool\n", speech="tinytool.greet()")
    if app:
        (folder / "app.py").write_text(app)
    if requirements is not None:
        (folder / "requirements.txt").write_text(requirements)
    (folder / "templates.yaml").write_text("welcome: Hello\n")
    for name, text in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def release_layout(root: Path, index: Path, **extras) -> tuple[object, Path]:
    """A host under ``root`` whose releases build as nobody, with ``index`` as its package
    index; (paths, layout file)."""
    paths = paths_under(root, venv=sys.prefix)
    layout = root / "layout.json"
    settings = {"init_flavour": "sysv", "admin_user": "root", "skill_user": "root",
                **build_settings(index), **extras}
    write_layout(layout, paths, **settings)
    return paths, layout


def build_settings(index: Path) -> dict:
    """layout.json's settings for releases built as nobody from the package index ``index``."""
    return {"build_user": BUILD_USER, "pip_user": PIP_USER, "release_python": RELEASE_PYTHON,
            "pip_no_index": True, "pip_find_links": [str(index)]}


@contextlib.contextmanager
def kept_index(prefix: str):
    """A folder kept for a test module or session: its package index in ``wheels``, and the
    runtime and pip folders ``share_runtime`` keeps."""
    folder = open_folder(prefix)
    wheelhouse(folder / "wheels")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def release_host(prefix: str, kept: Path, **extras):
    """(paths, layout file) of a throwaway ``release_layout`` host building from ``kept``'s
    index, with the runtime ``kept`` holds (and the one it builds kept there)."""
    root = open_folder(prefix)
    paths, layout = release_layout(root, kept / "wheels", **extras)
    share_runtime(paths, kept)
    try:
        yield paths, layout
        share_runtime(paths, kept, after=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def share_runtime(paths, keep: Path, *, after: bool = False) -> None:
    """Build the runtime and pip folders once per test module: before a test, link (hard links:
    each is made once per digest and never changed) those ``keep`` holds into the host; after
    it, keep the ones it made. Each test then does not compile them again."""
    releases = Path(paths.releases_dir)
    for kind in ("runtime", "tools"):
        kept, made = keep / kind, releases / kind
        if after and made.is_dir() and not kept.exists():
            shutil.copytree(made, kept, copy_function=os.link)
        elif not after and kept.is_dir():
            releases.mkdir(parents=True, exist_ok=True)
            shutil.copytree(kept, made, copy_function=os.link)


def helper(layout: Path, *argv: str, stdin: Path | None = None,
           timeout: float = 600) -> tuple[int, dict]:
    """The real helper in a child process, as root runs it by hand (``stdin``: a request
    file for ``--stdin``): (exit code, answer)."""
    import json

    done = subprocess.run([sys.executable, "-m", "appliance.helper", *argv], cwd=ROOT,
                          capture_output=True, timeout=timeout, check=False,
                          input=stdin.read_bytes() if stdin else None,
                          env={**os.environ, "APPLIANCE_LAYOUT": str(layout)})
    lines = done.stdout.decode().strip().splitlines()
    assert lines, done.stderr.decode()[-2000:]
    return done.returncode, json.loads(lines[-1])
