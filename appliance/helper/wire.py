"""The catalogue as it travels from the admin to the root helper: JSON, checked field by field.

The helper renders every file itself from this, with the renderers the admin uses, so root never
writes a line that the renderers would not produce from a valid catalogue. What only root may
decide (paths, accounts, Caddy's ports and API, the DuckDNS URL) is never read from the caller:
it comes from root's layout file. Pure functions, no I/O, so that each refusal is unit-tested.
"""

from __future__ import annotations

import posixpath
import re

from ..render.rules import ENV_NAME_RE, reserved_env_reason
from ..render.snapshot import Catalogue, HostSpec, Paths, SkillSpec
from ..render.systemd import release_folder
from . import policy
from .policy import Refused

FORMAT = 1
# Strings: a type; tuples: a tuple of that type; pairs: tuples of (str, str).
PAIRS = "pairs"
HOST_FIELDS = {
    "domain": str, "admin_fqdn": str, "admin_port": int, "acme_email": str,
    "certificate_authority": str, "init_flavour": str, "duckdns_domains": (str,),
    "duckdns_token": str, "console_ca_pem": str, "console_chain_pem": str,
}
SKILL_FIELDS = {
    "slug": str, "name": str, "fqdn": str, "port": int, "source_path": str, "enabled": bool,
    "threads": int, "on_demand": bool, "idle_exit": int, "application_ids": (str,),
    "verify_requests": bool, "test_console": bool, "environment": PAIRS, "secrets": PAIRS,
    "templates": str, "release": int,
}
# Root's own settings (layout.json), typed; everything else in HostSpec keeps its default.
LAYOUT_FIELDS = {"duckdns_url": str, "admin_user": str, "skill_user": str, "http_port": int,
                 "https_port": int, "caddy_admin": str, "caddy_storage": str}

MAX_SKILLS = 500
MAX_TEXT = 1024 * 1024  # a templates.yaml or a PEM bundle
MAX_VALUE = 16 * 1024  # any other string
MAX_ITEMS = 200  # environment entries, skill IDs, DuckDNS domains
HOST_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
                       r"(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
PEM = re.compile(r"(-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?)*")
RANGES = {"port": (1024, 65535), "admin_port": (1024, 65535), "threads": (1, 64),
          "idle_exit": (10, 86400), "release": (0, 999_999_999)}


def to_wire(cat: Catalogue) -> dict:
    """What the admin sends: the operator's settings and the skills, nothing of root's."""
    host = {name: _plain(getattr(cat.host, name)) for name in HOST_FIELDS}
    skills = [{name: _plain(getattr(skill, name)) for name in SKILL_FIELDS}
              for skill in cat.skills]
    return {"format": FORMAT, "host": host, "skills": skills}


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def from_wire(data: object, paths: Paths, layout: dict, bundled: str) -> Catalogue:
    """The catalogue the helper renders; Refused names the first field that is not valid.
    ``layout`` holds root's settings, ``bundled`` the folder of the skills shipped with the code."""
    if not isinstance(data, dict) or set(data) != {"format", "host", "skills"}:
        raise Refused("the catalogue must be an object with format, host and skills")
    if data["format"] != FORMAT:
        raise Refused(f"unknown catalogue format {data['format']!r}")
    host = _fields(data["host"], HOST_FIELDS, "host")
    if host["init_flavour"] != layout.get("init_flavour", "systemd"):
        raise Refused(f"host.init_flavour: this host runs {layout.get('init_flavour', 'systemd')}"
                      f" init, not {host['init_flavour']!r}")
    for name in ("domain", "admin_fqdn"):
        _host_name(host[name], f"host.{name}")
    for name in ("console_ca_pem", "console_chain_pem"):
        if not PEM.fullmatch(host[name]):
            raise Refused(f"host.{name} must be PEM certificates and nothing else")
    _in_range(host["admin_port"], "admin_port", "host.admin_port")
    rooted = {name: layout[name] for name in LAYOUT_FIELDS if name in layout}
    for name, value in rooted.items():
        if type(value) is not LAYOUT_FIELDS[name]:
            raise Refused(f"layout.json: {name} must be of type {LAYOUT_FIELDS[name].__name__}")

    raw_skills = data["skills"]
    if not isinstance(raw_skills, list) or len(raw_skills) > MAX_SKILLS:
        raise Refused(f"skills must be a list of at most {MAX_SKILLS}")
    skills, slugs = [], set()
    for index, raw in enumerate(raw_skills):
        skill = _fields(raw, SKILL_FIELDS, f"skills[{index}]")
        where = f"skill {skill['slug']!r}"
        if not policy.is_slug(skill["slug"]):
            raise Refused(f"skills[{index}].slug {skill['slug']!r} is not a skill name")
        if skill["slug"] in slugs:
            raise Refused(f"{where} appears twice")
        slugs.add(skill["slug"])
        _host_name(skill["fqdn"], f"{where}: fqdn")
        for name in ("port", "threads", "idle_exit", "release"):
            _in_range(skill[name], name, f"{where}: {name}")
        _source(skill["source_path"], skill["slug"], paths, bundled, where, skill["release"])
        for name, _ in (*skill["environment"], *skill["secrets"]):
            _env_name(name, where)
        skills.append(SkillSpec(**skill))
    return Catalogue(host=HostSpec(**host, **rooted), skills=tuple(skills), paths=paths)


def _fields(raw: object, schema: dict, where: str) -> dict:
    if not isinstance(raw, dict):
        raise Refused(f"{where} must be an object")
    unknown, missing = sorted(set(raw) - set(schema)), sorted(set(schema) - set(raw))
    if unknown or missing:
        raise Refused(f"{where}: " + "; ".join(
            ([f"unknown fields {', '.join(unknown)}"] if unknown else [])
            + ([f"missing fields {', '.join(missing)}"] if missing else [])))
    return {name: _typed(raw[name], kind, f"{where}.{name}") for name, kind in schema.items()}


def _typed(value: object, kind, where: str):
    if kind is PAIRS:
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise Refused(f"{where} must be a list of at most {MAX_ITEMS} [name, value] pairs")
        pairs = tuple(tuple(_typed(pair, (str,), where)) for pair in value)
        if any(len(pair) != 2 for pair in pairs):
            raise Refused(f"{where} must hold [name, value] pairs")
        return tuple(sorted(pairs))
    if isinstance(kind, tuple):
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise Refused(f"{where} must be a list of at most {MAX_ITEMS} items")
        return tuple(_typed(item, kind[0], where) for item in value)
    # bool is an int to isinstance(); a port of True is no port.
    if type(value) is not kind:
        raise Refused(f"{where} must be of type {kind.__name__}, not {type(value).__name__}")
    if kind is str and len(value) > (MAX_TEXT if where.endswith(("templates", "pem"))
                                     else MAX_VALUE):
        raise Refused(f"{where} is too long")
    return value


def _env_name(name: str, where: str) -> None:
    """A skill's own variable: never one that changes how Python, the loader, systemd or the
    runtime's verification behave (the appliance sets those from the skill's other fields)."""
    if not ENV_NAME_RE.match(name) or len(name) > 64:
        raise Refused(f"{where}: {name!r} is not an environment variable name")
    reason = reserved_env_reason(name)
    if reason:
        raise Refused(f"{where}: {name} may not be set as a skill's variable: it {reason}")


def _host_name(value: str, where: str) -> None:
    if not HOST_NAME.fullmatch(value):
        raise Refused(f"{where} {value!r} is not a host name")


def _in_range(value: int, name: str, where: str) -> None:
    low, high = RANGES[name]
    if not low <= value <= high:
        raise Refused(f"{where} must be from {low} to {high}, not {value}")


def _source(path: str, slug: str, paths: Paths, bundled: str, where: str,
            release: int = 0) -> None:
    """A bundled skill's folder, one uploaded for this very skill, or its release's code;
    nothing else."""
    if not path.startswith("/") or posixpath.normpath(path) != path or "\0" in path:
        raise Refused(f"{where}: source_path {path!r} is not a normal absolute path")
    if release:
        code = f"{release_folder(paths, slug, release)}/code"
        if path != code:
            raise Refused(f"{where}: release {release}'s code is {code}, not {path!r}")
        return
    uploads = f"{paths.data_dir}/skills/{slug}"
    for root in (bundled.rstrip("/"), uploads):
        if path.startswith(root + "/") and ".." not in path.split("/"):
            return
    raise Refused(f"{where}: source_path {path!r} is neither a bundled skill nor one "
                  f"uploaded for it under {uploads}")
