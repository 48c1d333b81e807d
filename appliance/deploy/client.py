"""How the admin calls the root helper: ``sudo -n appliance-helper ARGS``, one JSON answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from ..render.layout import DEFAULT_LAYOUT, load_layout

DEFAULT_TIMEOUT = 180.0


class HelperError(Exception):
    """The helper refused or failed; ``str()`` is its message, ``result`` its whole answer."""

    def __init__(self, message: str, result: dict | None = None, returncode: int | None = None):
        super().__init__(message)
        self.result = result or {}
        self.returncode = returncode

    @property
    def refused(self) -> bool:
        return self.returncode == 2


def layout_file() -> str:
    """The layout the admin reads: settings, then the environment, then root's file."""
    return str(getattr(settings, "APPLIANCE_LAYOUT", None)
               or os.environ.get("APPLIANCE_LAYOUT") or DEFAULT_LAYOUT)


def layout():
    return load_layout(layout_file())


def helper_command() -> tuple[list[str], dict | None]:
    command = list(settings.APPLIANCE_HELPER)
    if command == ["direct"]:
        # Tests and a root-run admin: same code, current environment, the admin's layout.
        env = {**os.environ, "APPLIANCE_LAYOUT": layout_file()}
        env.pop("SUDO_USER", None)
        env.pop("SUDO_UID", None)
        return [sys.executable, "-m", "appliance.deploy.helper"], env
    return command, None


def run_helper(*args: str, timeout: float = DEFAULT_TIMEOUT, check: bool = True) -> dict:
    """Run the helper with ``args``; its JSON answer, or HelperError when it is not ok."""
    command, env = helper_command()
    argv = [*command, *(str(arg) for arg in args)]
    try:
        done = subprocess.run(argv, capture_output=True, env=env, timeout=timeout, check=False,
                              cwd=Path(settings.BASE_DIR) if env is not None else "/")
    except subprocess.TimeoutExpired:
        raise HelperError(f"the helper did not answer within {timeout:.0f} s "
                          f"({' '.join(args[:2])})") from None
    except OSError as exc:
        raise HelperError(f"cannot run the helper {command[0]}: {exc.strerror}") from None
    stdout = done.stdout.decode("utf-8", "replace").strip()
    try:
        result = json.loads(stdout.splitlines()[-1]) if stdout else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        stderr = done.stderr.decode("utf-8", "replace").strip()
        detail = (stderr or stdout or "no output")[-800:]
        raise HelperError(f"the helper answered something that is not JSON "
                          f"(exit {done.returncode}): {detail}", returncode=done.returncode)
    if check and (done.returncode != 0 or not result.get("ok")):
        raise HelperError(result.get("message") or f"the helper failed (exit {done.returncode})",
                          result, done.returncode)
    result.setdefault("returncode", done.returncode)
    return result
