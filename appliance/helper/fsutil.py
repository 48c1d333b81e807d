"""File operations for the root helper that never follow a symbolic link planted by its caller.

The staging and data directories belong to the unprivileged admin, so every path under them is
opened one component at a time with ``O_NOFOLLOW`` relative to a directory descriptor.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile

MAX_FILE = 4 * 1024 * 1024  # no rendered file comes near this

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO planted where a file should be must not hang the helper in open().
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class UnsafePath(OSError):
    pass


def open_dir(path: str, *, create: bool = False, mode: int = 0o755) -> int:
    """A descriptor for the directory ``path``, refusing symlinks in any component."""
    fd = os.open("/", DIR_FLAGS)
    try:
        for part in [p for p in path.split("/") if p]:
            try:
                child = os.open(part, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, mode, dir_fd=fd)
                child = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise UnsafePath(exc.errno, f"not a plain directory: {part} in {path}") from None
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _parts(relative: str) -> list[str]:
    """The path's names, refusing an empty path and any ``..``."""
    parts = [p for p in relative.split("/") if p]
    if not parts or ".." in parts:
        raise UnsafePath(0, f"bad relative path {relative}")
    return parts


def read_beneath(base_fd: int, relative: str, limit: int = MAX_FILE) -> bytes:
    """The regular file ``relative`` under ``base_fd``, without following symlinks."""
    parts = _parts(relative)
    fd = os.dup(base_fd)
    try:
        for part in parts[:-1]:
            child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        file_fd = os.open(parts[-1], READ_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)
    with os.fdopen(file_fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise UnsafePath(0, f"not a regular file: {relative}")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnsafePath(0, f"larger than {limit} bytes: {relative}")
    return data


def write_beneath(base_fd: int, relative: str, data: bytes, mode: int = 0o600) -> None:
    """Create ``relative`` (and its folders, 0700) under ``base_fd``; never through a symlink."""
    parts = _parts(relative)
    fd = os.dup(base_fd)
    try:
        for part in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o700, dir_fd=fd)
            child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        file_fd = os.open(parts[-1], flags, mode, dir_fd=fd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(file_fd, view):]
            os.fsync(file_fd)
        finally:
            os.close(file_fd)
    finally:
        os.close(fd)


def replace_in(dir_fd: int, name: str, data: bytes, mode: int = 0o600) -> None:
    """Atomically replace the file ``name`` in the directory ``dir_fd`` (root's own)."""
    tmp = f".{name}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp, dir_fd=dir_fd)
    write_beneath(dir_fd, tmp, data, mode)
    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    os.fsync(dir_fd)


def root_private(fd: int) -> bool:
    """True when the directory or file is root's and nobody else can write it."""
    info = os.fstat(fd)
    return info.st_uid == 0 and not info.st_mode & 0o022


def read_secret(path: str, limit: int, error: type[Exception], *, what: str,
                why: str) -> bytes:
    """Up to ``limit`` bytes of the file at ``path``, which must be root's alone (0600) as it
    holds a secret; ``error`` naming it as ``what`` when it cannot be opened (a link is not
    followed) and saying ``why`` when others could read it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if info.st_uid != 0 or info.st_mode & 0o077:
            raise error(f"{path} must be root's alone (mode 0600){why}")
        return handle.read(limit)


def write_atomic(path: str, data: bytes, mode: int, uid: int, gid: int) -> None:
    """Temp file in the target's directory, fsync, owner and mode, then rename over ``path``."""
    directory, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    sync_dir(directory)


def sync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current(path: str) -> tuple[bytes, os.stat_result] | None:
    """(content, stat) of the regular file at ``path``, or None when there is none."""
    try:
        fd = os.open(path, READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return None  # a symlink or worse: it gets replaced, not preserved
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None
        data = handle.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise UnsafePath(0, f"{path} is larger than {MAX_FILE} bytes")
    return data, info


def ensure_parent(path: str) -> None:
    """Create the target's directory (root, 0755); refuse one reached through a symlink."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    if os.path.realpath(directory) != directory:
        raise UnsafePath(0, f"{directory} is reached through a symbolic link")


@contextlib.contextmanager
def lock_now(path: str, busy: Exception):
    """Hold an exclusive ``flock`` on ``path`` (made 0600 when missing) while the block runs, or
    raise ``busy`` at once when another process holds it. Closing releases it, so a process
    that dies leaves no stale lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        yield
    finally:
        os.close(fd)
