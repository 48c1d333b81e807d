"""The guest's processes as this machine sees them: whether the supervisor still runs, which
processes a guest left behind when its nspawn died unclean, and signalling or waiting for them.

Kept apart from ``TestHost`` because it is plain /proc bookkeeping with no notion of ssh, the
root file system or the guest's configuration. ``_children`` holds the supervisors this process
started: they are polled (which reaps them), as an exited child would linger in /proc as a zombie.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

_children: dict[int, subprocess.Popen] = {}  # supervisors this process started, to reap them


def _alive(pid: int | None, guest: Path) -> bool:
    """Whether `pid` is the supervisor of `guest` (not a zombie, not a reused pid)."""
    if not pid:
        return False
    if pid in _children:
        return _children[pid].poll() is None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" and str(guest).encode() in cmdline


def _guest_processes(guest: Path) -> list[int]:
    """Processes whose root is the guest's directory: what is left if nspawn died unclean."""
    # Compared by inode: seen from here, readlink() of a guest's root says "/" (another mount
    # namespace), but stat() follows it to the guest's directory.
    try:
        target = guest.stat()
    except OSError:
        return []
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                root = (proc / "root").stat()
                if (root.st_dev, root.st_ino) == (target.st_dev, target.st_ino):
                    pids.append(int(proc.name))
    return pids


def _wait_exit(pid: int, guest: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid, guest):
            return True
        time.sleep(0.2)
    return not _alive(pid, guest)


def _children_of(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
    return found


def _signal(pids, sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _kill_leftovers(guest: Path) -> None:
    for pid in _guest_processes(guest):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
