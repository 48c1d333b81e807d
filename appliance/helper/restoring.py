"""The helper's ``restore-backup``: an archive made by ``backup`` put back on this host.

    appliance-helper restore-backup ARCHIVE [--identity-file FILE]

Root's only, by hand or from provisioning: never through the admin's socket. The operator's
identity (age secret keys ``AGE-SECRET-KEY-1...``, an OpenSSH private key, or the passphrase of
an archive made with one) comes on standard input, or from a file only root may read.

Nothing is touched until the whole archive has been decrypted into a root-private folder and
every member checked against the manifest (names, types, sizes, sha256) and the catalogue
database passed SQLite's own check: a wrong key, a damaged or altered archive is refused with
words, and the host is as it was. Then each area goes where this host's layout keeps it,
owned by this host's accounts; existing folders are kept, files are replaced atomically, and
the catalogue database comes last, in place for the admin (its first apply renders the rest).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import shutil
import sqlite3
import sys
import tarfile
import tempfile
import zlib

from ..render.snapshot import Paths
from . import archive, fsutil, install
from .archive import Accounts, ArchiveError
from .install import Failure
from .policy import Refused

USAGE = "restore-backup ARCHIVE [--identity-file FILE] (the identity on stdin otherwise)"
AGE_HEADER = b"age-encryption.org/v1\n"
MAX_IDENTITY = 64 * 1024
# Caddy first, the catalogue last: once the database is there, everything it needs is too.
ORDER = ("caddy", "config", "console", "skills", "releases", "catalogue")


def arguments(args: list[str], request: dict | None) -> tuple[str, str | None]:
    """(archive, identity file) from the command line, checked before anything is read."""
    if len(args) == 3 and args[1] == "--identity-file":
        archive_path, identity_file = args[0], args[2]
    elif len(args) == 1:
        archive_path, identity_file = args[0], None
    else:
        raise Refused(f"usage: {USAGE}")
    for path in filter(None, (archive_path, identity_file)):
        if not path.startswith("/") or "\0" in path:
            raise Refused(f"not an absolute path: {path!r}")
    if identity_file is None and request is not None:
        raise Refused("with a request on standard input, the identity comes from "
                      "--identity-file")
    return archive_path, identity_file


def read_identity(identity_file: str | None) -> str:
    if identity_file is None:
        data = sys.stdin.buffer.read(MAX_IDENTITY + 1)
    else:
        data = fsutil.read_secret(identity_file, MAX_IDENTITY + 1, Refused,
                                  what="the identity file",
                                  why=": it holds the key to every backup")
    if len(data) > MAX_IDENTITY:
        raise Refused("the identity is larger than 64 KiB")
    text = data.decode("utf-8", "replace").strip()
    if not text:
        raise Refused("no identity: give the operator's age secret key (or the passphrase) on "
                      "standard input or with --identity-file")
    return text


def _identities(text: str) -> list:
    import pyrage

    found = []
    try:
        for line in text.splitlines():
            if line.strip().startswith("AGE-SECRET-KEY-"):
                found.append(pyrage.x25519.Identity.from_str(line.strip()))
        begin, end = "-----BEGIN OPENSSH PRIVATE KEY-----", "-----END OPENSSH PRIVATE KEY-----"
        if begin in text and end in text:
            block = text[text.index(begin):text.index(end) + len(end)] + "\n"
            found.append(pyrage.ssh.Identity.from_buffer(block.encode()))
    except pyrage.IdentityError as exc:
        raise Refused(f"the identity is not a valid age or OpenSSH key: {exc}") from None
    if not found:
        raise Refused("the identity holds no age secret key (AGE-SECRET-KEY-1...) nor OpenSSH "
                      "private key, and the archive was not made with a passphrase")
    return found


def decrypt(archive_path: str, identity: str, plain: str) -> None:
    import pyrage

    try:
        fd = os.open(archive_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise Failure(f"cannot read {archive_path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as reader, open(plain, "xb") as writer:
        head = reader.read(512)
        if not head.startswith(AGE_HEADER):
            raise ArchiveError("it is not an age-encrypted file")
        reader.seek(0)
        try:
            if b"\n-> scrypt " in head:
                writer.write(pyrage.passphrase.decrypt(reader.read(), identity))
            else:
                pyrage.decrypt_io(reader, writer, _identities(identity))
        except (pyrage.DecryptError, OSError) as exc:  # OSError: a chunk failed its check
            raise ArchiveError(f"it cannot be decrypted with this identity ({exc}): it was "
                               "made for another key or passphrase, or it is damaged") from None


def check_catalogue(tar: tarfile.TarFile, work: str) -> None:
    """The database must be one SQLite itself finds sound."""
    try:
        member = tar.getmember(archive.CATALOGUE_MEMBER)
    except KeyError:
        raise ArchiveError(f"it holds no catalogue database ({archive.CATALOGUE_MEMBER})") \
            from None
    copy = os.path.join(work, "check.sqlite3")
    with open(copy, "wb") as handle:
        handle.write(tar.extractfile(member).read())
    try:
        with contextlib.closing(sqlite3.connect(f"file:{copy}?mode=ro", uri=True)) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"its catalogue database is not sound: {exc}") from None
    finally:
        os.unlink(copy)
    if verdict != "ok":
        raise ArchiveError(f"its catalogue database is not sound: {verdict}")


def targets(paths: Paths, layout: dict) -> dict[str, str]:
    """Area -> where this host keeps it."""
    found = {area.name: area.path for area in archive.areas(paths, layout)}
    data = paths.on_disk(paths.data_dir)
    # Releases' code goes where the admin stages a release for the helper to build it again.
    return {**found, "releases": f"{data}/releases", "catalogue": data}


def run(archive_path: str, identity_file: str | None, paths: Paths, layout: dict) -> dict:
    identity = read_identity(identity_file)
    try:
        accounts = Accounts.of_host(layout)
    except KeyError:
        raise Failure(f"there is no admin account {layout.get('admin_user', 'appliance')!r} on "
                      "this host: provision it first (site.yml restores before its first "
                      "apply)") from None
    where = targets(paths, layout)
    if not os.path.isdir(where["catalogue"]):
        raise Failure(f"there is no data folder {where['catalogue']}: provision the host first")
    with tempfile.TemporaryDirectory(prefix="appliance-restore-") as work:
        sealed, plain = os.path.join(work, "plain.tar.gz"), os.path.join(work, "plain.tar")
        try:
            decrypt(archive_path, identity, sealed)
            # Unpacked once: members are read again in any order, and gzip cannot seek back.
            with gzip.open(sealed, "rb") as source, open(plain, "xb") as target:
                shutil.copyfileobj(source, target, archive.CHUNK)
            os.unlink(sealed)
            with tarfile.open(plain, "r:") as tar:
                manifest = archive.verify(tar)
                check_catalogue(tar, work)
                # Nothing on the host was touched before this line; no install runs during it.
                with install.exclusive(paths):
                    counts = _put_all(tar, manifest, where, accounts)
        except (ArchiveError, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise Failure(f"{archive_path} was refused: {exc}. Nothing was changed.") from None
    total = sum(counts.values())
    return {"ok": True, "archive": archive_path, "restored": counts,
            "host": manifest.get("host"), "created": manifest.get("created"),
            "version": manifest.get("version"),
            "message": f"restored {total} files from the backup of {manifest.get('host')} made "
                       f"{manifest.get('created')}: "
                       + ", ".join(f"{area} {count}" for area, count in counts.items())}


def _area(name: str) -> tuple[str, str]:
    area, _, relative = name.partition("/")
    return area, relative


def _put_all(tar: tarfile.TarFile, manifest: dict, where: dict[str, str],
             accounts: Accounts) -> dict[str, int]:
    counts = {}
    for area in ORDER:
        dirs = sorted((d for d in manifest["dirs"] if _area(d["name"])[0] == area),
                      key=lambda d: d["name"].count("/"))
        files = [f for f in manifest["files"] if _area(f["name"])[0] == area]
        if not dirs and not files:
            continue
        top = next((d for d in dirs if d["name"] == area), None)
        base_fd = _top_dir(where[area], top, accounts)
        try:
            for entry in dirs:
                if entry is not top:
                    _make_dir(base_fd, _area(entry["name"])[1], entry, accounts)
            for entry in files:
                _put_file(base_fd, _area(entry["name"])[1], tar, entry, accounts)
        finally:
            os.close(base_fd)
        counts[area] = len(files)
    return counts


def _ids(entry: dict, accounts: Accounts) -> tuple[int, int]:
    return accounts.ids[entry["owner"]][0], accounts.ids[entry["group"]][1]


def _top_dir(path: str, entry: dict | None, accounts: Accounts) -> int:
    """The area's folder, made as recorded when missing, and its missing parents (0755, the
    area's owner: Caddy's storage sits in its home)."""
    parts = [part for part in path.split("/") if part]
    fd = os.open("/", fsutil.DIR_FLAGS)
    try:
        for depth, part in enumerate(parts):
            if entry is not None:
                made = {**entry, "mode": entry["mode"] if depth == len(parts) - 1 else 0o755}
                _make_dir(fd, part, made, accounts)
            child = os.open(part, fsutil.DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except OSError as exc:
        os.close(fd)
        raise Failure(f"cannot restore into {path}: {exc.strerror or exc}") from None
    return fd


def _parent(base_fd: int, relative: str) -> tuple[int, str]:
    parts = relative.split("/")
    fd = os.dup(base_fd)
    try:
        for part in parts[:-1]:
            child = os.open(part, fsutil.DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except OSError as exc:
        os.close(fd)
        raise Failure(f"cannot restore {relative}: {part} is not a plain folder "
                      f"({exc.strerror})") from None
    return fd, parts[-1]


def _make_dir(base_fd: int, relative: str, entry: dict, accounts: Accounts) -> None:
    """A missing folder made as recorded; an existing one is left as it is."""
    parent, name = _parent(base_fd, relative)
    try:
        try:
            os.mkdir(name, 0o700, dir_fd=parent)
        except FileExistsError:
            return
        fd = os.open(name, fsutil.DIR_FLAGS, dir_fd=parent)
        try:
            os.fchown(fd, *_ids(entry, accounts))
            os.fchmod(fd, entry["mode"])
        finally:
            os.close(fd)
    finally:
        os.close(parent)


def _put_file(base_fd: int, relative: str, tar: tarfile.TarFile, entry: dict,
              accounts: Accounts) -> None:
    """Temp file beside it, checked again, owner and mode, fsync, then renamed over it."""
    parent, name = _parent(base_fd, relative)
    temp = f".{name}.restore-{os.getpid()}"
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp, dir_fd=parent)
        if entry["name"] == archive.CATALOGUE_MEMBER:
            # An old database's journal must never be replayed into the restored one.
            for suffix in ("-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name + suffix, dir_fd=parent)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temp, flags, 0o600, dir_fd=parent)
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as handle:
            source = tar.extractfile(entry["name"])
            while chunk := source.read(archive.CHUNK):
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fchown(fd, *_ids(entry, accounts))
            os.fchmod(fd, entry["mode"])
            os.fsync(fd)
        if digest.hexdigest() != entry["sha256"]:
            os.unlink(temp, dir_fd=parent)
            raise Failure(f"{entry['name']} changed while it was restored")
        os.replace(temp, name, src_dir_fd=parent, dst_dir_fd=parent)
        os.fsync(parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=parent)
        raise Failure(f"cannot restore {entry['name']}: {exc.strerror or exc}") from None
    finally:
        os.close(parent)
