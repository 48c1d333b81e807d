"""The root helper's allow-lists: every argument and manifest entry is checked here.

Pure functions, no side effects, so that each refusal can be unit-tested. The helper trusts
nothing its caller says: paths, modes, owners, service names and numbers must all match.
"""

from __future__ import annotations

import grp
import posixpath
import pwd
import re

from ..render.snapshot import Paths

SLUG = re.compile(r"[a-z0-9](-?[a-z0-9])*")
SLUG_MAX = 26
REVISION = re.compile(r"[1-9][0-9]{0,8}")
SHA256 = re.compile(r"[0-9a-f]{64}")
ACCOUNT = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
MODES = frozenset({0o644, 0o640, 0o600, 0o755})
CHECKS = frozenset({"", "sh"})
ACTIONS = frozenset({"start", "stop", "restart", "reload", "enable", "disable", "status"})
BATCH_ACTIONS = ACTIONS - {"status"}  # states of many: status-all
FIXED_SERVICES = frozenset({"caddy", "appliance-admin", "appliance-duckdns.timer"})
MAX_LOG_LINES = 2000
MAX_UNITS_ASKED = 1000  # last-requests, services: names per call
MANIFEST_KEYS = frozenset({"path", "mode", "owner", "group", "sha256", "check"})
# A journal cursor as journalctl prints it: "s=<hex>;i=<hex>;b=<hex>;m=<hex>;t=<hex>;x=<hex>".
JOURNAL_CURSOR = re.compile(r"[a-z]=[0-9a-f]{1,64}(?:;[a-z]=[0-9a-f]{1,64}){0,9}")
EPOCH = re.compile(r"[1-9][0-9]{8,10}")


class Refused(ValueError):
    """An argument outside the allow-list; the helper exits 2 with this message."""


def is_slug(value: str) -> bool:
    return len(value) <= SLUG_MAX and SLUG.fullmatch(value) is not None


def revision_number(value: str) -> int:
    if not isinstance(value, str) or not REVISION.fullmatch(value):
        raise Refused(f"not a revision number: {value!r}")
    return int(value)


def log_lines(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", value) or not 1 <= int(value) <= MAX_LOG_LINES:
        raise Refused(f"--lines must be a number from 1 to {MAX_LOG_LINES}, not {value!r}")
    return int(value)


def skill_of_unit(name: str) -> str | None:
    """``alexa-skill-<slug>`` → slug (None when it is not a skill's name)."""
    slug = name.removeprefix("alexa-skill-")
    return slug if slug != name and is_slug(slug) else None


def service_name(value: str, *, logs: bool = False) -> str:
    base = value.removesuffix(".socket")
    if value in FIXED_SERVICES or skill_of_unit(base):
        return value
    if logs and value == "appliance-duckdns":
        return value
    raise Refused(f"not a service the helper manages: {value!r}")


def service_names(values: list[str]) -> list[str]:
    """Several services for one action, each once; one name outside the allow-list refuses
    them all (nothing of the batch is done)."""
    if not values:
        raise Refused("name at least one service")
    _bounded(values)
    return list(dict.fromkeys(service_name(value) for value in values))


def skill_units(values: list[str]) -> list[str]:
    """Skills' service names (``alexa-skill-<slug>``, no suffix), each once."""
    _bounded(values)
    for value in values:
        if not skill_of_unit(value):
            raise Refused(f"not a skill's service: {value!r}")
    return list(dict.fromkeys(values))


def journal_cursor(value: str) -> str:
    if not isinstance(value, str) or not JOURNAL_CURSOR.fullmatch(value):
        raise Refused(f"not a journal cursor: {value[:100]!r}")
    return value


def epoch_seconds(value: str) -> int:
    if not isinstance(value, str) or not EPOCH.fullmatch(value):
        raise Refused(f"not a time in seconds since 1970: {value[:20]!r}")
    return int(value)


def _bounded(values: list[str]) -> None:
    if len(values) > MAX_UNITS_ASKED:
        raise Refused(f"at most {MAX_UNITS_ASKED} services at a time, not {len(values)}")


def action(value: str) -> str:
    if value not in ACTIONS:
        raise Refused(f"unknown action {value!r} (one of {', '.join(sorted(ACTIONS))})")
    return value


def batch_action(value: str) -> str:
    if value not in BATCH_ACTIONS:
        raise Refused(f"unknown action {value!r} for several services "
                      f"(one of {', '.join(sorted(BATCH_ACTIONS))})")
    return value


def cron_path(paths: Paths) -> str:
    return f"{paths.cron_dir}/appliance-duckdns"


def _fixed_paths(paths: Paths) -> set[str]:
    config, systemd, initd = paths.config_dir, paths.systemd_dir, paths.initd_dir
    return {
        paths.caddyfile, paths.sudoers, cron_path(paths),
        f"{config}/admin.env", f"{config}/console-ca.pem", f"{config}/duckdns.curl",
        f"{systemd}/appliance-admin.service", f"{systemd}/appliance-duckdns.service",
        f"{systemd}/appliance-duckdns.timer",
        f"{initd}/caddy", f"{initd}/appliance-admin",
    }


def _between(path: str, prefix: str, suffix: str) -> str | None:
    if path.startswith(prefix) and path.endswith(suffix) and len(path) > len(prefix + suffix):
        return path[len(prefix):len(path) - len(suffix)]
    return None


def _skill_path(path: str, paths: Paths) -> bool:
    config, systemd = paths.config_dir, paths.systemd_dir
    forms = [
        (f"{config}/skills/", ".env"), (f"{config}/skills/", "/templates.yaml"),
        (f"{systemd}/alexa-skill-", ".service"), (f"{systemd}/alexa-skill-", ".socket"),
        (f"{paths.initd_dir}/alexa-skill-", ""),
    ]
    for prefix, suffix in forms:
        slug = _between(path, prefix, suffix)
        if slug is not None and is_slug(slug):
            return True
    # A seeded certificate chain: <cache_dir>/skills/<slug>/<sha256>.pem
    rest = _between(path, f"{paths.cache_dir}/skills/", ".pem")
    if rest is not None and rest.count("/") == 1:
        slug, digest = rest.split("/")
        return is_slug(slug) and SHA256.fullmatch(digest) is not None
    return False


def check_path(path: object, paths: Paths) -> str:
    """The path itself when the helper may install or remove it; Refused otherwise."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise Refused(f"not an absolute path: {path!r}")
    if any(ch in path for ch in "\0\n\r\t\\") or any(ord(ch) < 32 for ch in path):
        raise Refused(f"control characters in path: {path!r}")
    if ".." in path.split("/") or posixpath.normpath(path) != path:
        raise Refused(f"path is not in normal form: {path!r}")
    if path in _fixed_paths(paths) or _skill_path(path, paths):
        return path
    raise Refused(f"path outside the allow-list: {path}")


def is_skill_account(name: str) -> bool:
    return name.startswith("skill-") and is_slug(name.removeprefix("skill-"))


def account_exists(name: str, *, group: bool = False) -> bool:
    try:
        (grp.getgrnam if group else pwd.getpwnam)(name)
    except KeyError:
        return False
    return True


def check_account(name: object, *, group: bool = False) -> str:
    """An existing user/group, or a skill's own account (the helper creates it)."""
    kind = "group" if group else "owner"
    if not isinstance(name, str) or not ACCOUNT.fullmatch(name):
        raise Refused(f"not a valid {kind} name: {name!r}")
    if account_exists(name, group=group) or is_skill_account(name):
        return name
    raise Refused(f"unknown {kind}: {name}")


# Files run or read by root, or that grant privileges: only root may own them.
def root_owned(path: str, paths: Paths) -> bool:
    return (path in (paths.caddyfile, paths.sudoers, cron_path(paths))
            or path.startswith((paths.systemd_dir + "/", paths.initd_dir + "/")))


def check_entry(entry: object, paths: Paths) -> dict:
    """One manifest entry, normalised; Refused names the path and the problem."""
    if not isinstance(entry, dict) or set(entry) != MANIFEST_KEYS:
        raise Refused(f"a manifest entry must have exactly the keys {sorted(MANIFEST_KEYS)}")
    path = check_path(entry["path"], paths)
    mode = entry["mode"]
    if type(mode) is not int or mode not in MODES:
        raise Refused(f"{path}: mode {mode!r} is not allowed "
                      f"({', '.join(oct(m) for m in sorted(MODES))})")
    owner = check_account(entry["owner"])
    group = check_account(entry["group"], group=True)
    if root_owned(path, paths) and owner != "root":
        raise Refused(f"{path}: must be owned by root, not {owner}")
    if path == paths.sudoers:
        # Only ever removed (older hosts reached the helper through sudo): nothing grants root.
        raise Refused(f"{path}: the helper never installs a sudoers file")
    if not isinstance(entry["sha256"], str) or not SHA256.fullmatch(entry["sha256"]):
        raise Refused(f"{path}: sha256 must be 64 lowercase hex digits")
    if entry["check"] not in CHECKS:
        raise Refused(f"{path}: unknown check {entry['check']!r}")
    return {"path": path, "mode": mode, "owner": owner, "group": group,
            "sha256": entry["sha256"], "check": entry["check"]}
