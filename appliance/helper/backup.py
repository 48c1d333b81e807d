"""The helper's ``backup``: one encrypted archive of what a new host needs to serve as this one.

    appliance-helper backup          (no arguments: what, where and to whom come from root's
                                      layout file, never from the caller)

The catalogue database is copied with SQLite's online backup API, by a child running as the
admin's user (the admin's own file, read with the admin's own rights: a link it planted leads
nowhere root alone could read). The other areas (``archive.areas``) are read without following
links. The tar is encrypted with age (pyrage) to the operator's public keys, or a passphrase,
in a root-private work folder inside the backup folder, then renamed into place (0600) or
uploaded to S3; only the newest ``keep`` archives of this host are kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from importlib import metadata

from ..render.snapshot import Paths
from . import archive, backup_store, fsutil
from .archive import Accounts
from .backup_store import LocalStore, S3Store, Settings
from .install import SAFE_ENV, Failure, tail

SQLITE_HEADER = b"SQLite format 3\x00"
# Run as the admin's user: the online backup of its database, serialised to standard output.
SNAPSHOT = """
import sqlite3, sys, urllib.parse
source = sqlite3.connect("file:" + urllib.parse.quote(sys.argv[1]) + "?mode=rw", uri=True,
                         timeout=30)
copy = sqlite3.connect(":memory:")
source.backup(copy)
sys.stdout.buffer.write(copy.serialize())
"""


def catalogue_snapshot(paths: Paths, layout: dict, timeout: float = 120) -> bytes:
    """A consistent copy of the admin's database, taken while the admin may be writing it."""
    path = f"{paths.on_disk(paths.data_dir)}/{archive.CATALOGUE}"
    if not os.path.isfile(path):
        raise Failure(f"there is no catalogue database at {path} (a DATABASE_URL database is "
                      "not backed up by the helper)")
    account = pwd.getpwnam(layout.get("admin_user", "appliance"))
    try:
        done = subprocess.run([sys.executable, "-I", "-c", SNAPSHOT, path], capture_output=True,
                              stdin=subprocess.DEVNULL, env=dict(SAFE_ENV), timeout=timeout,
                              user=account.pw_uid, group=account.pw_gid, extra_groups=[],
                              cwd="/", check=False)
    except subprocess.TimeoutExpired:
        raise Failure(f"the catalogue database could not be copied within {timeout:.0f} s") \
            from None
    if done.returncode or not done.stdout.startswith(SQLITE_HEADER):
        words = tail(done.stderr.decode("utf-8", "replace").strip()) or "no copy"
        raise Failure(f"the catalogue database could not be copied: {words}")
    return done.stdout


def encrypt(settings: Settings, work_fd: int, plain: str, sealed: str) -> None:
    import pyrage

    source = os.open(plain, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=work_fd)
    target = os.open(sealed, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=work_fd)
    with os.fdopen(source, "rb") as reader, os.fdopen(target, "wb") as writer:
        if settings.recipients:
            recipients = [_recipient(text) for text in settings.recipients]
            pyrage.encrypt_io(reader, writer, recipients)
        else:
            passphrase = _passphrase(settings.passphrase_file)
            writer.write(pyrage.passphrase.encrypt(reader.read(), passphrase))
        writer.flush()
        os.fsync(writer.fileno())


def _recipient(text: str):
    import pyrage

    try:
        if text.startswith("ssh-"):
            return pyrage.ssh.Recipient.from_str(text)
        return pyrage.x25519.Recipient.from_str(text)
    except pyrage.RecipientError as exc:
        raise Failure(f"layout.json: backup recipient {text[:24]}... is not valid: {exc}") \
            from None


def _passphrase(path: str) -> str:
    """Root's passphrase file (root-only, one line)."""
    words = fsutil.read_secret(path, 4096, Failure, what="the backup passphrase file",
                               why=" to hold the passphrase").decode("utf-8", "replace").strip()
    if len(words) < 12:
        raise Failure(f"the backup passphrase in {path} is shorter than 12 characters")
    return words


def write_archive(handle, paths: Paths, layout: dict, settings: Settings) -> dict:
    """The plain tar.gz into ``handle``: the catalogue, then every area; its manifest."""
    try:
        accounts = Accounts.of_host(layout)
    except KeyError:
        raise Failure(f"there is no admin account {layout.get('admin_user', 'appliance')!r} on "
                      "this host") from None
    writer = archive.Writer(handle, accounts)
    writer.add_bytes(archive.CATALOGUE_MEMBER, catalogue_snapshot(paths, layout), 0o600,
                     "admin", "admin")
    private = (settings.passphrase_file,) if settings.passphrase_file else ()
    for area in archive.areas(paths, layout, private):
        writer.add_area(area)
    try:
        version = metadata.version("alexa-appliance")
    except metadata.PackageNotFoundError:
        version = "unknown"
    about = {"version": version, "host": backup_store.host_name(),
             "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    manifest = writer.close(about)
    return {**manifest, "skipped": writer.skipped}


@contextlib.contextmanager
def _locked(dir_fd: int):
    """One backup at a time; leftovers of an interrupted one are removed first."""
    fd = os.open(".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                 dir_fd=dir_fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for name in os.listdir(dir_fd):
            if name.startswith(".work-"):
                shutil.rmtree(name, dir_fd=dir_fd, ignore_errors=True)
        yield
    finally:
        os.close(fd)


def run(paths: Paths, layout: dict) -> dict:
    settings = backup_store.settings(layout)
    dir_fd = backup_store.open_dir(settings)
    try:
        with _locked(dir_fd):
            store = S3Store(settings) if settings.s3_bucket else LocalStore(settings, dir_fd)
            return _run(paths, layout, settings, dir_fd, store)
    finally:
        os.close(dir_fd)


def _run(paths: Paths, layout: dict, settings: Settings, dir_fd: int, store) -> dict:
    host = backup_store.host_name()
    name = backup_store.new_name(host)
    work = f".work-{secrets.token_hex(8)}"
    os.mkdir(work, 0o700, dir_fd=dir_fd)
    work_fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
    try:
        plain = os.open("plain.tar.gz", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                        0o600, dir_fd=work_fd)
        with os.fdopen(plain, "wb") as handle:
            manifest = write_archive(handle, paths, layout, settings)
        encrypt(settings, work_fd, "plain.tar.gz", "sealed.age")
        os.unlink("plain.tar.gz", dir_fd=work_fd)
        size = os.stat("sealed.age", dir_fd=work_fd).st_size
        store.put(work_fd, "sealed.age", name)
        pruned = backup_store.to_prune(store.names(), host, settings.keep)
        for old in pruned:
            store.delete(old)
    finally:
        os.close(work_fd)
        shutil.rmtree(work, dir_fd=dir_fd, ignore_errors=True)
    files = manifest["files"]
    return {"ok": True, "name": name, "size": size, "where": settings.where,
            "files": len(files), "bytes": sum(item["size"] for item in files),
            "pruned": pruned, "skipped": manifest["skipped"],
            "message": f"backed up {len(files)} files to {settings.where}{name} "
                       f"({size} bytes, encrypted); {len(pruned)} older removed"}
