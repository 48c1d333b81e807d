"""The helper's ``install`` and ``restore``: render, validate, back up, install atomically.

The caller sends a catalogue, never files: the helper renders them itself (``render_request``),
validates them with the real tools on a root-private copy, and only then writes them. Every
replaced or removed file is first copied to ``<data_dir>/backups/<revision>/``, which records the
catalogue it was made for, so that a reset database never costs an older backup.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable

from ..render.snapshot import Paths
from . import fsutil, policy, wire
from .policy import Refused

CADDY_ACCOUNT = "caddy"  # Debian's caddy package runs Caddy as this user
STATE = "helper-state.json"
CATALOGUE_ID = re.compile(r"[0-9A-Za-z:.+_-]{1,64}")
# Called with a path just before it is removed: stops the service that file defines.
Retire = Callable[[str], "str | None"] | None


class Failure(Exception):
    """The helper could not do it; the message says why in words (exit 1)."""

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.details = details


SAFE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8"}


def run_tool(argv: list[str], timeout: float = 60, env: dict | None = None,
             account: pwd.struct_passwd | None = None) -> tuple[int, str]:
    """Run a system tool with a clean environment (as ``account`` when given); (exit code,
    combined output)."""
    drop = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [],
            "cwd": "/"} if account else {}
    with tempfile.TemporaryFile() as out:
        try:
            code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, env={**SAFE_ENV, **(env or {})},
                                  timeout=timeout, check=False, **drop).returncode
        except FileNotFoundError:
            return 127, f"{argv[0]}: not found"
        except subprocess.TimeoutExpired:
            return 124, f"{' '.join(argv[:2])} did not finish within {timeout:.0f} s"
        out.seek(0)
        return code, out.read().decode("utf-8", "replace").strip()


def tail(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


# --- the files root installs: rendered here, from the caller's catalogue ----------------------

def bundled_skills() -> str:
    """The folder of the skills shipped with the code the helper itself runs."""
    import skills

    return os.path.dirname(os.path.abspath(skills.__file__))


def render_request(catalogue: object, paths: Paths,
                   layout: dict) -> tuple[list[dict], dict[str, bytes]]:
    """Every file the catalogue renders to, as (entries, contents). The caller sends data, never
    files: root writes only what the renderers make of a catalogue that passed ``wire``."""
    from ..render import render_all

    cat = wire.from_wire(catalogue, paths, layout, bundled_skills())
    check_releases(cat)
    try:
        rendered = render_all(cat)
    except ValueError as exc:
        raise Refused(f"the catalogue cannot be rendered: {exc}") from None
    entries, contents = [], {}
    for item in rendered:
        data = item.content.encode("utf-8")
        # Checked again as if a caller had named them: a renderer bug cannot widen the list.
        entries.append(policy.check_entry(
            {"path": item.path, "mode": item.mode, "owner": item.owner, "group": item.group,
             "sha256": hashlib.sha256(data).hexdigest(), "check": item.executable_check},
            paths))
        contents[item.path] = data
    return entries, contents


def check_releases(cat) -> None:
    """A skill runs a release only once the builder made it whole (releasedirs.built)."""
    from .releasedirs import built

    for skill in cat.skills:
        if skill.release and not built(cat.paths, skill.slug, skill.release):
            raise Failure(f"release {skill.release} of {skill.slug} is not on this host (its "
                          "build failed, or it was pruned): deploy again, or roll back to a "
                          "kept release")


# --- validation with the real tools -----------------------------------------------------------

def validate(entries: list[dict], contents: dict[str, bytes], paths: Paths) -> list[str]:
    """Run each file's validator on a private copy; Failure names the file and the output."""
    checked = []
    with tempfile.TemporaryDirectory(prefix="appliance-helper-") as work:
        copies = {}
        for entry in entries:
            copy = work + "/files" + entry["path"]
            os.makedirs(os.path.dirname(copy), mode=0o700, exist_ok=True)
            with open(copy, "wb") as handle:
                handle.write(contents[entry["path"]])
            os.chmod(copy, entry["mode"])
            copies[entry["path"]] = copy
        units = []
        for entry in entries:
            path, copy = entry["path"], copies[entry["path"]]
            if path == paths.caddyfile:
                _validate_caddyfile(path, contents[path], paths)
            elif entry["check"] == "sh":
                _check(path, "sh -n", ["sh", "-n", copy])
            elif path.startswith(paths.systemd_dir + "/"):
                units.append(copy)
                continue
            else:
                continue
            checked.append(path)
        if units and os.path.isdir("/run/systemd/system"):
            code, output = run_tool(["systemd-analyze", "verify", *units])
            if code != 0:
                raise Failure(f"systemd-analyze verify rejected the units: {tail(output)}",
                              tool="systemd-analyze verify", output=tail(output))
            checked.extend(entry["path"] for entry in entries
                           if entry["path"].startswith(paths.systemd_dir + "/"))
    return checked


def _validate_caddyfile(path: str, content: bytes, paths: Paths) -> None:
    """``caddy validate`` as the account Caddy runs as, when there is one: validating provisions
    Caddy's storage (its local CA), which must stay Caddy's own, and it proves Caddy can read
    every file the config names. Otherwise as root, with a scratch home for that storage."""
    try:
        account = pwd.getpwnam(CADDY_ACCOUNT)
    except KeyError:
        account = None
    with tempfile.TemporaryDirectory(prefix="appliance-caddy-") as work:
        copy = f"{work}/Caddyfile"
        with open(copy, "wb") as handle:
            handle.write(content)
        if account:
            os.chmod(work, 0o711)  # noqa: S103 - traverse only, so Caddy's user reaches its copy
            os.chown(copy, account.pw_uid, account.pw_gid)
            env = {"HOME": account.pw_dir}
        else:
            env = {"HOME": work, "XDG_DATA_HOME": work, "XDG_CONFIG_HOME": work}
        code, output = run_tool([paths.caddy, "validate", "--adapter", "caddyfile", "--config",
                                 copy], env=env, account=account)
    if code != 0:
        # Caddy's JSON log lines only say which file it read; the "Error:" line says why.
        words = [line for line in output.splitlines() if not line.startswith("{")]
        output = "\n".join(words or output.splitlines()).replace(copy, path)
        raise Failure(f"{path} failed caddy validate: {tail(output)}", file=path,
                      tool="caddy validate", output=tail(output))


def _check(path: str, tool: str, argv: list[str]) -> None:
    code, output = run_tool(argv)
    output = output.replace(argv[-1], path)  # name the real file, not the private copy
    if code != 0:
        raise Failure(f"{path} failed {tool}: {tail(output)}", file=path, tool=tool,
                      output=tail(output))


# --- state and backups (root-only, under the admin's data dir) --------------------------------
# The admin owns the data dir and could swap names in it at any moment: everything below goes
# through descriptors opened without following symlinks, and root-private directories.

def _data_fd(paths: Paths) -> int:
    return fsutil.open_dir(paths.data_dir, create=True, mode=0o755)


def read_state(paths: Paths) -> dict:
    data_fd = _data_fd(paths)
    try:
        fd = os.open(STATE, fsutil.READ_FLAGS, dir_fd=data_fd)
    except FileNotFoundError:
        return {"revision": None, "installed": []}
    except OSError as exc:
        raise Failure(f"{paths.data_dir}/{STATE} is not a plain file: {exc.strerror}") from None
    finally:
        os.close(data_fd)
    with os.fdopen(fd, "rb") as handle:
        if not fsutil.root_private(handle.fileno()):
            raise Failure(f"{paths.data_dir}/{STATE} is not root's own file; refusing to use it")
        state = json.loads(handle.read())
    return {"revision": state.get("revision"), "installed": list(state.get("installed", []))}


def write_state(paths: Paths, state: dict) -> None:
    data_fd = _data_fd(paths)
    try:
        fsutil.replace_in(data_fd, STATE, json.dumps(state, indent=1).encode())
    finally:
        os.close(data_fd)


def _backups_fd(paths: Paths, *, create: bool) -> int:
    """``<data_dir>/backups``, root-private; refuses one the admin could have made."""
    data_fd = _data_fd(paths)
    try:
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir("backups", 0o700, dir_fd=data_fd)
        fd = os.open("backups", fsutil.DIR_FLAGS, dir_fd=data_fd)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise Failure(f"{paths.data_dir}/backups is not a plain directory") from None
    finally:
        os.close(data_fd)
    if not fsutil.root_private(fd) or os.fstat(fd).st_mode & 0o077:
        os.close(fd)
        raise Failure(f"{paths.data_dir}/backups is not root's private directory; "
                      "refusing to use it")
    return fd


def _new_backup(paths: Paths, revision: int, catalogue_id: str) -> int:
    backups_fd = _backups_fd(paths, create=True)
    try:
        name = str(revision)
        try:
            made_by = json.loads(fsutil.read_beneath(backups_fd, f"{name}/manifest.json"))
        except FileNotFoundError:
            made_by = None
        except (OSError, ValueError):
            made_by = {}
        if made_by is not None:
            if made_by.get("catalogue") == catalogue_id:
                # The same catalogue's revision again: a leftover of an interrupted run.
                shutil.rmtree(name, dir_fd=backups_fd)
            else:
                # Another catalogue (a reset database numbers again from 1): keep its backup.
                os.rename(name, f"{name}.kept-{time.time_ns()}", src_dir_fd=backups_fd,
                          dst_dir_fd=backups_fd)
        os.mkdir(name, 0o700, dir_fd=backups_fd)
        return os.open(name, fsutil.DIR_FLAGS, dir_fd=backups_fd)
    finally:
        os.close(backups_fd)


@contextlib.contextmanager
def exclusive(paths: Paths):
    """One install, restore or state read at a time: a lock in root's private backups folder,
    so that ``state`` answers only once an install the caller gave up on has ended."""
    backups_fd = _backups_fd(paths, create=True)
    try:
        fd = os.open(".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=backups_fd)
    finally:
        os.close(backups_fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _owner_ids(owner: str, group: str) -> tuple[int, int]:
    return pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid


def create_skill_accounts(entries: list[dict]) -> list[str]:
    """Skills run as ``skill-<slug>``; create the system account the first time one is named."""
    created = []
    for name in sorted({e["owner"] for e in entries} | {e["group"] for e in entries}):
        if not policy.is_skill_account(name) or (policy.account_exists(name)
                                                 and policy.account_exists(name, group=True)):
            continue
        create_system_account(name)
        created.append(name)
    return created


def create_system_account(name: str) -> None:
    """A system account with its own group and no home or login (adduser where it is there)."""
    if shutil.which("adduser", path=SAFE_ENV["PATH"]):
        argv = ["adduser", "--system", "--group", "--no-create-home", "--home", "/nonexistent",
                "--quiet", name]
    else:
        argv = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                "/nonexistent", "--shell", "/usr/sbin/nologin", name]
    code, output = run_tool(argv)
    if code != 0:
        raise Failure(f"cannot create the account {name}: {tail(output)}")


# --- install and restore ----------------------------------------------------------------------

def _unchanged(target: str, data: bytes, mode: int, uid: int, gid: int) -> bool:
    found = fsutil.current(target)
    if found is None:
        return False
    content, info = found
    return content == data and (info.st_mode & 0o777, info.st_uid, info.st_gid) == (mode, uid,
                                                                                    gid)


def prepare(request: dict, paths: Paths, layout: dict) -> tuple[str, list[dict],
                                                                 dict[str, bytes]]:
    """(catalogue ID, entries, contents) of an install request; Refused before anything on
    the host is touched."""
    catalogue_id = request.get("catalogue_id")
    if not isinstance(catalogue_id, str) or not CATALOGUE_ID.fullmatch(catalogue_id):
        raise Refused("install needs the catalogue_id of the catalogue it comes from")
    return catalogue_id, *render_request(request.get("catalogue"), paths, layout)


def install(revision: int, catalogue_id: str, entries: list[dict], contents: dict[str, bytes],
            paths: Paths, retire: Retire = None) -> dict:
    checked = validate(entries, contents, paths)
    state = read_state(paths)
    wanted = {entry["path"] for entry in entries}
    removals = set()
    for path in state["installed"]:
        with contextlib.suppress(Refused):
            # Never act on a path outside the allow-list, whatever the state file says.
            removals.add(policy.check_path(path, paths))
    removals = sorted(removals - wanted)
    created = create_skill_accounts(entries)

    backup_fd = _new_backup(paths, revision, catalogue_id)
    try:
        record = []
        for path in sorted(wanted) + removals:
            found = fsutil.current(paths.on_disk(path))
            if found is None:
                record.append({"path": path, "existed": False})
                continue
            data, info = found
            fsutil.write_beneath(backup_fd, "files" + path, data)
            record.append({"path": path, "existed": True, "mode": info.st_mode & 0o777,
                           "uid": info.st_uid, "gid": info.st_gid})
        manifest = {"revision": revision, "catalogue": catalogue_id, "entries": record,
                    "previous": state}
        fsutil.write_beneath(backup_fd, "manifest.json", json.dumps(manifest).encode())
        existed = {item["path"] for item in record if item["existed"]}
        changed, added, removed, notes = [], [], [], []
        try:
            for entry in entries:
                path, target = entry["path"], paths.on_disk(entry["path"])
                uid, gid = _owner_ids(entry["owner"], entry["group"])
                if _unchanged(target, contents[path], entry["mode"], uid, gid):
                    continue
                (changed if path in existed else added).append(path)
                fsutil.ensure_parent(target)
                fsutil.write_atomic(target, contents[path], entry["mode"], uid, gid)
            for path in removals:
                if path in existed:
                    notes.append(retire(path) if retire else None)
                    _remove(path, paths)
                    removed.append(path)
            write_state(paths, {"revision": revision, "installed": sorted(wanted)})
        except Exception as exc:
            _restore_from(backup_fd, paths, retire)
            raise Failure(f"installing revision {revision} failed and was undone: {exc}") from exc
    finally:
        os.close(backup_fd)
    summary = (f"installed revision {revision}: {len(changed)} changed, {len(added)} added, "
               f"{len(removed)} removed")
    return {"ok": True, "message": summary, "revision": revision, "changed": changed,
            "added": added, "removed": removed, "validated": checked,
            "accounts_created": created, "notes": [note for note in notes if note]}


def _remove(path: str, paths: Paths) -> None:
    """Remove an installed file, and the skill's own folder it leaves empty (its templates')."""
    os.unlink(paths.on_disk(path))
    folder = os.path.dirname(path)
    if os.path.dirname(folder) == f"{paths.config_dir}/skills" and policy.is_slug(
            os.path.basename(folder)):
        with contextlib.suppress(OSError):  # not empty: something else still lives there
            os.rmdir(paths.on_disk(folder))


def restore(revision: int, paths: Paths, retire: Retire = None) -> dict:
    try:
        backups_fd = _backups_fd(paths, create=False)
        try:
            backup_fd = os.open(str(revision), fsutil.DIR_FLAGS, dir_fd=backups_fd)
        finally:
            os.close(backups_fd)
    except FileNotFoundError:
        raise Failure(f"there is no backup for revision {revision}") from None
    try:
        restored, removed = _restore_from(backup_fd, paths, retire)
    finally:
        os.close(backup_fd)
    return {"ok": True, "revision": revision, "restored": restored, "removed": removed,
            "message": f"restored the files as they were before revision {revision}: "
                       f"{len(restored)} put back, {len(removed)} removed"}


def _restore_from(backup_fd: int, paths: Paths,
                  retire: Retire = None) -> tuple[list[str], list[str]]:
    manifest = json.loads(fsutil.read_beneath(backup_fd, "manifest.json"))
    restored, removed = [], []
    for item in manifest["entries"]:
        path = policy.check_path(item["path"], paths)
        target = paths.on_disk(path)
        if item["existed"]:
            data = fsutil.read_beneath(backup_fd, "files" + path)
            mode, uid, gid = int(item["mode"]) & 0o777, int(item["uid"]), int(item["gid"])
            if not _unchanged(target, data, mode, uid, gid):
                fsutil.ensure_parent(target)
                fsutil.write_atomic(target, data, mode, uid, gid)
                restored.append(path)
        elif os.path.lexists(target):
            if retire:
                retire(path)
            _remove(path, paths)
            removed.append(path)
    write_state(paths, manifest["previous"])
    return restored, removed
