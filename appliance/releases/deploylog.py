"""A deploy's log: one file the admin writes as the deploy runs, and its page reads as it grows.

``<data_dir>/releases/<slug>/<n>.log``. The fetch and the switch-over write their own lines; while
the helper builds, the builder's log (root's file, readable by the admin's group:
``helper/releasedirs.log_path``) is copied in as it grows, so one offset follows the whole
deploy. Once the deploy has ended, the release's row keeps the text.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

MAX_READ = 256 * 1024
POLL = 0.2


class DeployLog:
    def __init__(self, path: Path, echo: Callable[[str], None] | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.echo = echo
        self._lock = threading.Lock()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)

    def write(self, data: bytes) -> None:
        with self._lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
        if self.echo:
            self.echo(data.decode("utf-8", "replace").rstrip("\n"))

    def line(self, text: str) -> None:
        self.write((text.rstrip("\n") + "\n").encode("utf-8", "replace"))

    @contextlib.contextmanager
    def following(self, path: str):
        """Copy ``path`` into this log as it grows, until the block ends (then what is left)."""
        done = threading.Event()
        offset = 0

        def copy() -> None:
            nonlocal offset
            with contextlib.suppress(OSError):
                with open(path, "rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
                if data:
                    cut = data.rfind(b"\n") + 1 if not done.is_set() else len(data)
                    if cut:
                        offset += cut
                        self.write(data[:cut])

        def loop() -> None:
            while not done.wait(POLL):
                copy()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            copy()

    def close(self) -> None:
        os.close(self._fd)

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8", errors="replace")


def read_from(path: Path, offset: int) -> tuple[str, int]:
    """What the log holds from byte ``offset`` on (whole lines, at most 256 KiB), and where to
    read next time."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, offset))
            data = handle.read(MAX_READ)
    except FileNotFoundError:
        return "", offset
    if len(data) == MAX_READ:
        data = data[:data.rfind(b"\n") + 1] or data
    return data.decode("utf-8", "replace"), offset + len(data)
