"""The helper's ``install`` and ``restore``: validate staged files, back up, install atomically.

Staged content is read once into memory (the caller may change its files at any time), checked
against the manifest's sha256, validated with the real tools on a root-private copy, and only then
written. Every replaced or removed file is first copied to ``<data_dir>/backups/<revision>/``.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable

from ..render.snapshot import Paths
from . import fsutil, policy
from .policy import Refused

MAX_ENTRIES = 2000
CADDY_ACCOUNT = "caddy"  # Debian's caddy package runs Caddy as this user
STATE = "helper-state.json"
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


# --- reading the staging directory -------------------------------------------------------------

def read_staging(argument: str, paths: Paths) -> tuple[int, list[dict], dict[str, bytes]]:
    real, revision = policy.staging_revision(argument, paths)
    try:
        stage_fd = fsutil.open_dir(real)
    except OSError as exc:
        raise Refused(f"cannot open the staging directory {argument}: {exc.strerror}") from None
    try:
        try:
            manifest = json.loads(fsutil.read_beneath(stage_fd, "manifest.json"))
        except (OSError, ValueError) as exc:
            raise Refused(f"{real}/manifest.json is unreadable: {exc}") from None
        if not isinstance(manifest, list) or len(manifest) > MAX_ENTRIES:
            raise Refused("the manifest must be a list of entries")
        entries, contents = [], {}
        for raw in manifest:
            entry = policy.check_entry(raw, paths)
            path = entry["path"]
            if path in contents:
                raise Refused(f"{path} appears twice in the manifest")
            try:
                data = fsutil.read_beneath(stage_fd, "files" + path)
            except OSError as exc:
                raise Refused(f"{path}: the staged file is missing or unsafe "
                              f"({exc.strerror or exc})") from None
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise Refused(f"{path}: the staged file does not match its sha256")
            if path == paths.sudoers:
                policy.check_sudoers(data.decode("utf-8", "replace"), paths)
            entries.append(entry)
            contents[path] = data
        return revision, entries, contents
    finally:
        os.close(stage_fd)


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
            elif path == paths.sudoers and shutil.which("visudo", path=SAFE_ENV["PATH"]):
                _check(path, "visudo", ["visudo", "-cf", copy])
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


def _new_backup(paths: Paths, revision: int) -> int:
    backups_fd = _backups_fd(paths, create=True)
    try:
        name = str(revision)
        # A revision number is installed once; a leftover (an interrupted run) is replaced.
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(name, dir_fd=backups_fd)
        os.mkdir(name, 0o700, dir_fd=backups_fd)
        return os.open(name, fsutil.DIR_FLAGS, dir_fd=backups_fd)
    finally:
        os.close(backups_fd)


def _owner_ids(owner: str, group: str) -> tuple[int, int]:
    return pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid


def create_skill_accounts(entries: list[dict]) -> list[str]:
    """Skills run as ``skill-<slug>``; create the system account the first time one is named."""
    created = []
    for name in sorted({e["owner"] for e in entries} | {e["group"] for e in entries}):
        if not policy.is_skill_account(name) or (policy.account_exists(name)
                                                 and policy.account_exists(name, group=True)):
            continue
        if shutil.which("adduser", path=SAFE_ENV["PATH"]):
            argv = ["adduser", "--system", "--group", "--no-create-home", "--home",
                    "/nonexistent", "--quiet", name]
        else:
            argv = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                    "/nonexistent", "--shell", "/usr/sbin/nologin", name]
        code, output = run_tool(argv)
        if code != 0:
            raise Failure(f"cannot create the account {name}: {tail(output)}")
        created.append(name)
    return created


# --- install and restore ----------------------------------------------------------------------

def _unchanged(target: str, data: bytes, mode: int, uid: int, gid: int) -> bool:
    found = fsutil.current(target)
    if found is None:
        return False
    content, info = found
    return content == data and (info.st_mode & 0o777, info.st_uid, info.st_gid) == (mode, uid,
                                                                                    gid)


def install(argument: str, paths: Paths, retire: Retire = None) -> dict:
    revision, entries, contents = read_staging(argument, paths)
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

    backup_fd = _new_backup(paths, revision)
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
        manifest = {"revision": revision, "entries": record, "previous": state}
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
                    os.unlink(paths.on_disk(path))
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
            os.unlink(target)
            removed.append(path)
    write_state(paths, manifest["previous"])
    return restored, removed
