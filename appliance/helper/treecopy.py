"""Root copies a tree another account wrote, without ever following that account's links.

Two uses: the code the admin fetched (``<data_dir>/releases/<slug>/<n>/``, the admin's folder)
becomes the release's root-owned ``code/``, and the virtual environment the skill's account
built becomes a root-owned copy (a fresh inode for every file: a process the build left running
cannot write into the release through a descriptor it kept open, and nothing of it stays the
skill's to change). Every name is opened relative to its folder's descriptor with
``O_NOFOLLOW``; what is copied is what the descriptor reads.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from . import fsutil
from .install import Failure

CHUNK = 1024 * 1024


@dataclass
class Limits:
    files: int = 20000
    size: int = 512 * 1024 * 1024
    links: bool = False  # copy symbolic links as links (a venv's bin/python); else refuse them
    skip: tuple[str, ...] = ()  # names left out wherever they are (.git, __pycache__)
    what: str = "the code"

    copied_files: int = 0
    copied_bytes: int = 0


def copy_tree(source: str, target: str, limits: Limits) -> Limits:
    """Copy the folder ``source`` (no link in any of its components) to ``target`` (made here,
    root's): folders 0755, files 0644 or 0755 when the source was executable, no set-id bits."""
    source_fd = fsutil.open_dir(source)
    try:
        os.mkdir(target, 0o755)
        target_fd = os.open(target, fsutil.DIR_FLAGS)
        try:
            _copy_dir(source_fd, target_fd, "", limits)
        finally:
            os.close(target_fd)
    finally:
        os.close(source_fd)
    return limits


def _copy_dir(source_fd: int, target_fd: int, where: str, limits: Limits) -> None:
    with os.scandir(source_fd) as entries:
        names = sorted(entry.name for entry in entries)
    for name in names:
        if name in limits.skip:
            continue
        shown = f"{where}{name}"
        info = os.stat(name, dir_fd=source_fd, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            child = os.open(name, fsutil.DIR_FLAGS, dir_fd=source_fd)
            try:
                os.mkdir(name, 0o755, dir_fd=target_fd)
                child_target = os.open(name, fsutil.DIR_FLAGS, dir_fd=target_fd)
                try:
                    _copy_dir(child, child_target, f"{shown}/", limits)
                finally:
                    os.close(child_target)
            finally:
                os.close(child)
        elif stat.S_ISREG(info.st_mode):
            _copy_file(source_fd, target_fd, name, shown, limits)
        elif stat.S_ISLNK(info.st_mode) and limits.links:
            os.symlink(os.readlink(name, dir_fd=source_fd), name, dir_fd=target_fd)
        elif stat.S_ISLNK(info.st_mode):
            raise Failure(f"{limits.what} holds a symbolic link, {shown}: a release holds "
                          "plain files only")
        else:
            raise Failure(f"{limits.what} holds {shown}, which is neither a file nor a folder")


def _copy_file(source_fd: int, target_fd: int, name: str, shown: str, limits: Limits) -> None:
    try:
        fd = os.open(name, fsutil.READ_FLAGS, dir_fd=source_fd)
    except OSError as exc:
        raise Failure(f"cannot read {shown} of {limits.what}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Failure(f"{limits.what} holds {shown}, which is not a plain file")
        limits.copied_files += 1
        limits.copied_bytes += info.st_size
        if limits.copied_files > limits.files:
            raise Failure(f"{limits.what} holds more than {limits.files} files")
        if limits.copied_bytes > limits.size:
            raise Failure(f"{limits.what} is larger than {limits.size // (1024 * 1024)} MiB")
        mode = 0o755 if info.st_mode & 0o111 else 0o644
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      mode, dir_fd=target_fd)
        try:
            os.set_blocking(fd, True)
            while chunk := os.read(fd, CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view):]
            os.fchmod(out, mode)  # the umask may have taken bits away
            # The same times: Python's compiled files check their source's modification time.
            os.utime(out, ns=(info.st_atime_ns, info.st_mtime_ns))
        finally:
            os.close(out)
    finally:
        os.close(fd)
