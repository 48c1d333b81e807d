"""How the admin calls the root helper: one JSON request, one JSON answer.

On a host the request goes to the helper's unix socket, which only root and the admin's user may
open (systemd starts a helper for each connection, in its own unit: nothing of the admin's
sandbox, and no setuid program, is involved). ``direct`` runs the helper as a child process
instead: the tests, and an admin that already runs as root.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from ..render.layout import DEFAULT_LAYOUT, load_layout

DEFAULT_TIMEOUT = 180.0
SOCKET = "/run/appliance-helper.sock"


class HelperError(Exception):
    """The helper refused or failed; ``str()`` is its message, ``result`` its whole answer."""

    def __init__(self, message: str, result: dict | None = None, returncode: int | None = None,
                 *, timed_out: bool = False):
        super().__init__(message)
        self.result = result or {}
        self.returncode = returncode
        self.timed_out = timed_out

    @property
    def refused(self) -> bool:
        return self.returncode == 2 or bool(self.result.get("refused"))


def layout_file() -> str:
    """The layout the admin reads: settings, then the environment, then root's file."""
    return str(getattr(settings, "APPLIANCE_LAYOUT", None)
               or os.environ.get("APPLIANCE_LAYOUT") or DEFAULT_LAYOUT)


def layout():
    return load_layout(layout_file())


def _direct(request: bytes, timeout: float) -> bytes:
    env = {**os.environ, "APPLIANCE_LAYOUT": layout_file()}
    try:
        done = subprocess.run([sys.executable, "-m", "appliance.helper", "--stdin"],
                              input=request, capture_output=True, env=env, timeout=timeout,
                              check=False, cwd=Path(settings.BASE_DIR))
    except subprocess.TimeoutExpired:
        raise TimeoutError from None
    if not done.stdout.strip():
        detail = done.stderr.decode("utf-8", "replace").strip()[-800:] or "no output"
        raise HelperError(f"the helper answered nothing (exit {done.returncode}): {detail}",
                          returncode=done.returncode)
    return done.stdout


def _socket(path: str, request: bytes, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        try:
            conn.connect(path)
        except OSError as exc:
            raise HelperError(f"cannot reach the helper at {path}: {exc.strerror or exc}") \
                from None
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            conn.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                raise
            except OSError as exc:
                # A helper that could not start at all closes before it reads the request.
                raise HelperError(f"the helper's connection broke ({exc.strerror or exc}) before "
                                  "it answered; its log: journalctl -u 'appliance-helper@*'") \
                    from None
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def run_helper(*args: str, payload: dict | None = None, timeout: float = DEFAULT_TIMEOUT,
               check: bool = True) -> dict:
    """Ask the helper for ``args`` (with ``payload``'s keys in the request); its JSON answer,
    or HelperError when it is not ok."""
    mode = list(settings.APPLIANCE_HELPER)
    request = json.dumps({**(payload or {}), "args": [str(arg) for arg in args]}).encode()
    try:
        if mode == ["direct"]:
            raw = _direct(request, timeout)
        else:
            raw = _socket(mode[-1] if len(mode) > 1 else SOCKET, request, timeout)
    except TimeoutError:
        raise HelperError(f"the helper did not answer within {timeout:.0f} s "
                          f"({' '.join(args[:2])})", timed_out=True) from None
    text = raw.decode("utf-8", "replace").strip()
    try:
        result = json.loads(text.splitlines()[-1]) if text else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        raise HelperError(f"the helper answered something that is not JSON: {text[-800:]}")
    code = result.get("returncode")
    if check and not result.get("ok"):
        raise HelperError(result.get("message") or "the helper failed", result,
                          2 if result.get("refused") else 1)
    result.setdefault("returncode", code if code is not None else (0 if result.get("ok") else 1))
    return result
