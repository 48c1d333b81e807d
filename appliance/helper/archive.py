"""What a backup holds, and reading one back: a gzip'd tar of the appliance's state with a manifest
inside, checked member by member before anything is restored.

Members are named by *area*, never by the host's absolute paths: ``catalogue/admin.sqlite3``,
``config/...`` (root's ``/etc/appliance``), ``console/...`` (the test console's CA),
``skills/<slug>/...`` (uploaded code), ``releases/<slug>/<n>/...`` (releases' code, not their
virtualenvs, which are rebuilt) and ``caddy/...`` (Caddy's certificates, keys and ACME account).
A restore puts each area where *this* host's layout keeps it. Owners are recorded as roles
(root, admin, caddy), so that a new host's accounts own the files whatever their IDs.

The admin's and Caddy's folders belong to those accounts, which could plant a link or a hard link
there: files are opened one at a time without following links, and a file whose owner does not
belong in its area is left out (and named in the answer), never read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import posixpath
import pwd
import stat
import tarfile
import zlib
from collections.abc import Callable

from ..render.snapshot import Paths
from . import fsutil, policy

FORMAT = 1
MANIFEST = "manifest.json"
CATALOGUE = "admin.sqlite3"  # the admin's database, in its data folder (settings.py)
CATALOGUE_MEMBER = f"catalogue/{CATALOGUE}"
CADDY_ACCOUNT = "caddy"
# Debian's caddy runs with HOME=/var/lib/caddy: its storage is under XDG's data folder.
CADDY_STORAGE = "/var/lib/caddy/.local/share/caddy"
ROLES = ("root", "admin", "caddy")
AREAS = ("config", "console", "skills", "releases", "caddy", "catalogue")
MAX_MANIFEST = 16 * 1024 * 1024
CHUNK = 1024 * 1024


class ArchiveError(ValueError):
    """The archive is not one this helper wrote, or it was altered: nothing may be restored."""


@dataclasses.dataclass(frozen=True)
class Area:
    name: str
    path: str  # where this host keeps it
    owner: str  # the role that owns what is in it
    skip: frozenset[str] = frozenset()  # folder names left out at any depth
    keep: Callable[[str], bool] | None = None  # a filter on files' relative paths
    enter: Callable[[str], bool] | None = None  # a filter on folders' relative paths
    rename: Callable[[str], str] | None = None  # a relative path as it is named in the archive
    record_as: str = ""  # the role that owns it once restored (the owner's by default)

    def member(self, relative: str) -> str:
        return f"{self.name}/{self.rename(relative) if self.rename else relative}"


def caddy_storage(layout: dict) -> str:
    return layout.get("caddy_storage") or CADDY_STORAGE


def areas(paths: Paths, layout: dict, private: tuple[str, ...] = ()) -> list[Area]:
    """The folders a backup takes, on this host. ``private`` are root's files that must stay on
    the host (the backup's own passphrase)."""
    config = paths.on_disk(paths.config_dir)

    def config_file(relative: str) -> bool:
        path = f"{paths.config_dir}/{relative}"
        if relative == "layout.json" or path in private:
            return False  # the new host's own, written by provisioning
        try:
            policy.check_path(path, paths)
        except policy.Refused:
            return True
        return False  # rendered from the catalogue: the first apply writes it again

    data = paths.on_disk(paths.data_dir)
    code = frozenset({"venv", ".venv", "__pycache__", ".git"})
    return [
        Area("config", config, "root", keep=config_file),
        Area("console", f"{data}/console", "admin"),
        Area("skills", f"{data}/skills", "admin", skip=code),
        # Each release's code (root's <slug>/<n>/code/), not its venv: restored where the admin
        # stages a release's code for the helper to build (<data_dir>/releases/<slug>/<n>/).
        Area("releases", paths.on_disk(paths.releases_dir), "root", skip=code,
             enter=_release_folder, keep=lambda rel: rel.count("/") >= 3,
             rename=_release_member, record_as="admin"),
        # Locks are a running Caddy's; its instance ID is each host's own.
        Area("caddy", paths.on_disk(caddy_storage(layout)), "caddy", skip=frozenset({"locks"}),
             keep=lambda rel: rel != "instance.uuid"),
    ]


def _release_folder(relative: str) -> bool:
    parts = relative.split("/")
    if len(parts) == 1:
        return policy.is_slug(parts[0])  # not logs/, fetch/ nor the runtime's snapshots
    if len(parts) == 2:
        return parts[1].isdigit()
    return parts[2] == "code"


def _release_member(relative: str) -> str:
    """``<slug>/<n>/code/<path>`` -> ``<slug>/<n>/<path>``, as the admin stages it."""
    parts = relative.split("/")
    return "/".join(parts[:2] + parts[3:]) if len(parts) >= 3 and parts[2] == "code" else relative


# --- the accounts behind the roles -----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Accounts:
    """Role -> (uid, gid) on this host."""

    ids: dict[str, tuple[int, int]]

    @classmethod
    def of_host(cls, layout: dict) -> Accounts:
        ids = {"root": (0, 0)}
        admin = pwd.getpwnam(layout.get("admin_user", "appliance"))  # KeyError: no admin
        ids["admin"] = (admin.pw_uid, admin.pw_gid)
        try:
            caddy = pwd.getpwnam(CADDY_ACCOUNT)
            ids["caddy"] = (caddy.pw_uid, caddy.pw_gid)
        except KeyError:
            ids["caddy"] = (0, 0)  # no Caddy account (a test host): root keeps its files
        return cls(ids)

    def role(self, number: int, prefer: str, *, group: bool = False) -> str | None:
        """The role whose user (or group) ID is ``number``; ``prefer`` first when several are."""
        index = 1 if group else 0
        for role in (prefer, *ROLES):
            if self.ids[role][index] == number:
                return role
        return None


# --- writing ---------------------------------------------------------------------------------

class _Hashing(io.RawIOBase):
    """A file read through, counting and hashing what tarfile takes from it."""

    def __init__(self, handle):
        self.handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self.handle.readinto(buffer)
        self.digest.update(memoryview(buffer)[:count])
        self.size += count
        return count


class Writer:
    """The archive's tar stream: folders and files by area, then the manifest."""

    def __init__(self, fileobj, accounts: Accounts):
        self.tar = tarfile.open(  # noqa: SIM115 - closed by close(), after the manifest
            fileobj=fileobj, mode="w:gz", format=tarfile.PAX_FORMAT)
        self.accounts = accounts
        self.files: list[dict] = []
        self.dirs: list[dict] = []
        self.skipped: list[str] = []
        self.named: set[str] = set()
        self.pending: dict[str, tuple[int, str, str]] = {}

    def _info(self, name: str, mode: int, kind: bytes, size: int = 0) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.size, info.mtime = kind, mode & 0o777, size, 0
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    def add_bytes(self, name: str, data: bytes, mode: int, owner: str, group: str) -> None:
        self.tar.addfile(self._info(name, mode, tarfile.REGTYPE, len(data)), io.BytesIO(data))
        self.files.append({"name": name, "size": len(data), "mode": mode & 0o777,
                           "owner": owner, "group": group,
                           "sha256": hashlib.sha256(data).hexdigest()})

    def _roles(self, info: os.stat_result, area: Area, where: str) -> tuple[str, str] | None:
        owner = self.accounts.role(info.st_uid, area.owner)
        group = self.accounts.role(info.st_gid, area.owner, group=True)
        allowed = {area.owner, "root"} if area.owner == "caddy" else {area.owner}
        # What a restore owns anew needs only the right owner: a release's folders are root's
        # with the skill's own group (found on the booted host, where they were all left out).
        if area.record_as and owner in allowed:
            return area.record_as, area.record_as
        if owner not in allowed or group is None:
            self.skipped.append(f"{where}: owned by {info.st_uid}:{info.st_gid}, not {area.owner}")
            return None
        return (area.record_as, area.record_as) if area.record_as else (owner, group)

    def add_area(self, area: Area) -> None:
        try:
            top = fsutil.open_dir(area.path)
        except FileNotFoundError:
            return  # nothing of it on this host (no uploads yet, no Caddy storage...)
        except OSError as exc:
            self.skipped.append(f"{area.path}: {exc.strerror or exc}")
            return
        try:
            roles = self._roles(os.fstat(top), area, area.path)
            if roles:
                self._dir(area.name, os.fstat(top).st_mode, *roles)
                self._walk(area, top)
        finally:
            os.close(top)

    def _dir(self, name: str, mode: int, owner: str, group: str) -> None:
        """A folder, added once a file beneath it is (empty ones are left out)."""
        if name not in self.named:
            self.pending.setdefault(name, (mode, owner, group))  # code/ renamed onto its parent

    def _parents(self, member: str) -> None:
        parts = member.split("/")
        for depth in range(1, len(parts)):
            name = "/".join(parts[:depth])
            if name in self.pending:
                mode, owner, group = self.pending.pop(name)
                self.named.add(name)
                self.tar.addfile(self._info(name, mode, tarfile.DIRTYPE))
                self.dirs.append({"name": name, "mode": mode & 0o777, "owner": owner,
                                  "group": group})

    def _walk(self, area: Area, top: int) -> None:
        for dirpath, dirnames, filenames, dir_fd in os.fwalk(".", dir_fd=top,
                                                            follow_symlinks=False):
            prefix = "" if dirpath == "." else dirpath[2:] + "/"
            for name in sorted(dirnames):
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                roles = None
                if (name in area.skip or not stat.S_ISDIR(info.st_mode)
                        or (area.enter and not area.enter(prefix + name))):
                    if not stat.S_ISDIR(info.st_mode):
                        self.skipped.append(f"{area.path}/{prefix}{name}: a link")
                else:
                    roles = self._roles(info, area, f"{area.path}/{prefix}{name}")
                if roles is None:
                    dirnames.remove(name)
                    continue
                self._dir(area.member(prefix + name), info.st_mode, *roles)
            dirnames.sort()
            for name in sorted(filenames):
                if area.keep is None or area.keep(prefix + name):
                    self._file(area, dir_fd, prefix + name, name)

    def _file(self, area: Area, dir_fd: int, relative: str, name: str) -> None:
        where = f"{area.path}/{relative}"
        try:
            fd = os.open(name, fsutil.READ_FLAGS, dir_fd=dir_fd)
        except OSError:
            self.skipped.append(f"{where}: a link, or not readable")
            return
        with os.fdopen(fd, "rb", buffering=0) as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                self.skipped.append(f"{where}: not a regular file")
                return
            roles = self._roles(info, area, where)
            if roles is None:
                return
            os.set_blocking(fd, True)
            reader = _Hashing(handle)
            member = area.member(relative)
            self._parents(member)
            try:
                self.tar.addfile(self._info(member, info.st_mode, tarfile.REGTYPE, info.st_size),
                                 io.BufferedReader(reader, CHUNK))
            except OSError as exc:  # it shrank while being read
                raise OSError(f"{where} changed while it was backed up: {exc}") from None
        self.files.append({"name": member, "size": reader.size, "mode": info.st_mode & 0o777,
                           "owner": roles[0], "group": roles[1],
                           "sha256": reader.digest.hexdigest()})

    def close(self, about: dict) -> dict:
        manifest = {"format": FORMAT, **about, "files": self.files, "dirs": self.dirs}
        data = json.dumps(manifest, indent=1, sort_keys=True).encode()
        self.tar.addfile(self._info(MANIFEST, 0o600, tarfile.REGTYPE, len(data)),
                         io.BytesIO(data))
        self.tar.close()
        return manifest


# --- reading back: everything checked before anything is touched -----------------------------

def member_name(name: object) -> str:
    """A member's name when it is a plain relative path in a known area."""
    if not isinstance(name, str) or not name or len(name) > 4096 or "\0" in name:
        raise ArchiveError(f"a member has a bad name: {name!r}")
    parts = name.split("/")
    if (name.startswith("/") or posixpath.normpath(name) != name or ".." in parts
            or parts[0] not in AREAS):
        raise ArchiveError(f"a member is outside the appliance's areas: {name!r}")
    if parts[0] == "catalogue" and name not in ("catalogue", CATALOGUE_MEMBER):
        raise ArchiveError(f"the catalogue area holds only {CATALOGUE_MEMBER}, not {name!r}")
    return name


def _entry(item: object, kind: str) -> dict:
    keys = {"name", "mode", "owner", "group"} | ({"size", "sha256"} if kind == "file" else set())
    if not isinstance(item, dict) or set(item) != keys:
        raise ArchiveError(f"the manifest has a {kind} entry without exactly {sorted(keys)}")
    name = member_name(item["name"])
    if type(item["mode"]) is not int or not 0 <= item["mode"] <= 0o777:
        raise ArchiveError(f"the manifest gives {name} the mode {item['mode']!r}")
    for key in ("owner", "group"):
        if item[key] not in ROLES:
            raise ArchiveError(f"the manifest gives {name} the {key} {item[key]!r}")
    if kind == "file" and not (isinstance(item["sha256"], str)
                               and policy.SHA256.fullmatch(item["sha256"])
                               and type(item["size"]) is int and item["size"] >= 0):
        raise ArchiveError(f"the manifest's size or sha256 of {name} is not valid")
    return item


def read_manifest(data: bytes) -> dict:
    try:
        manifest = json.loads(data)
    except ValueError:
        raise ArchiveError("the manifest is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"the manifest is not of format {FORMAT}")
    if not all(isinstance(manifest.get(key), list) for key in ("files", "dirs")):
        raise ArchiveError("the manifest lists no files and folders")
    files = [_entry(item, "file") for item in manifest["files"]]
    dirs = [_entry(item, "dir") for item in manifest["dirs"]]
    names = [item["name"] for item in files + dirs]
    if len(set(names)) != len(names):
        raise ArchiveError("the manifest names a member twice")
    return {**manifest, "files": files, "dirs": dirs}


def verify(tar: tarfile.TarFile) -> dict:
    """The manifest, once every member is a plain file or folder it lists, with its size and
    sha256; ArchiveError otherwise."""
    try:
        members = tar.getmembers()
        found: dict[str, tuple[str, int | None, str | None]] = {}
        manifest = None
        for member in members:
            if member.name == MANIFEST and member.isfile():
                if member.size > MAX_MANIFEST or manifest is not None:
                    raise ArchiveError("the archive's manifest is too large, or there are two")
                manifest = read_manifest(tar.extractfile(member).read())
                continue
            name = member_name(member.name)
            if name in found:
                raise ArchiveError(f"the archive holds {name} twice")
            if member.isdir():
                found[name] = ("dir", None, None)
            elif member.isfile():
                digest = hashlib.sha256()
                handle = tar.extractfile(member)
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                found[name] = ("file", member.size, digest.hexdigest())
            else:
                raise ArchiveError(f"{name} is neither a file nor a folder (a link?)")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ArchiveError(f"the archive is damaged: {exc}") from None
    if manifest is None:
        raise ArchiveError("the archive has no manifest: it is not an appliance backup")
    listed = {item["name"]: ("file", item["size"], item["sha256"]) for item in manifest["files"]}
    listed.update({item["name"]: ("dir", None, None) for item in manifest["dirs"]})
    for name in sorted(set(listed) | set(found)):
        if name not in found:
            raise ArchiveError(f"{name} is in the manifest but not in the archive")
        if name not in listed:
            raise ArchiveError(f"{name} is in the archive but not in the manifest")
        if found[name] != listed[name]:
            raise ArchiveError(f"{name} does not match the manifest (its checksum differs)")
    return manifest
