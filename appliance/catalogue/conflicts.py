"""Rules about a row among the others: what the renderers (and the apply) would refuse.

Each rule is a function of a candidate row and the rows beside it, so the skill form, the host
settings form (and through them ``skill_add`` and ``host_set``) and the unapplied-changes
banner all ask the same question. One value's shape is validators.py's business.

Host names are unique among all skills, enabled or not (as ports are): enabling a skill (an
admin action, ``skill_enable``) goes through no form, so it must never be what makes a clash.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from ..deploy.client import layout
from ..render.layout import LayoutError
from ..render.rules import duplicates, is_one_line
from . import ports, validators
from .models import HostSettings, Skill

ADMIN = "the admin"
Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, error: ValidationError | str) -> None:
    messages = error.messages if isinstance(error, ValidationError) else [error]
    errors.setdefault(field, []).extend(messages)


def site_owners(host: HostSettings, skills) -> dict[str, list[str]]:
    """Every site name Caddy would serve, and who claims it (the admin first)."""
    owners: dict[str, list[str]] = defaultdict(list)
    owners[host.fqdn(host.admin_hostname)].append(ADMIN)
    for skill in skills:
        owners[host.fqdn(skill.hostname or skill.slug)].append(f"skill {skill.slug}")
    return owners


def skill_errors(skill: Skill, host: HostSettings, others: list[Skill]) -> Errors:
    """Why ``skill`` (with its environment and secrets as they would be saved) cannot sit
    beside ``others``; empty when it can. Keys are the model's field names."""
    errors: Errors = {}
    checks = [("name", validators.validate_text_line)]
    if skill.source or skill.source_kind != Skill.SOURCE_RELEASE:  # a release brings its code
        checks.append(("source", validators.validate_source))
    for field, check in checks:
        try:
            check(getattr(skill, field))
        except ValidationError as exc:
            _add(errors, field, exc)

    fqdn = host.fqdn(skill.hostname or skill.slug)
    owners = site_owners(host, others)
    if fqdn in owners:
        whose = "the admin's" if owners[fqdn][0] == ADMIN else f"already {owners[fqdn][0]}'s"
        origin = "" if skill.hostname else " (from the slug)"
        _add(errors, "hostname", f"{fqdn}{origin} is {whose} host name; pick another.")

    if skill.port is not None:
        try:
            ports.check_port(skill.port, host, skill, others)
        except ValidationError as exc:
            _add(errors, "port", exc)

    environment, secrets = skill.environment or {}, skill.secrets or {}
    for field, values in [("environment", environment), ("secrets", secrets)]:
        for name, value in values.items():
            try:
                validators.validate_env_name(name)
            except ValidationError as exc:
                _add(errors, field, exc)
            if not is_one_line(str(value)):
                _add(errors, field, f"{name}: values must be one line.")
    # The environment file would set the name twice (the renderer refuses that).
    for name in duplicates([*environment, *secrets]):
        _add(errors, "secrets", f"{name} is in the environment too; a name is one or the "
                                "other.")
    return errors


def host_errors(host: HostSettings, skills: list[Skill]) -> Errors:
    """Why the host settings ``host`` cannot go with the saved ``skills``; empty when they
    can. Keys are the model's field names."""
    errors: Errors = {}
    owners = site_owners(host, skills)
    for fqdn in duplicates(host.fqdn(name) for name in [
        host.admin_hostname, *(s.hostname or s.slug for s in skills)
    ]):
        claimants = owners[fqdn]
        if claimants[0] == ADMIN:
            _add(errors, "admin_hostname",
                 f"{fqdn} is also {' and '.join(claimants[1:])}'s host name.")
        else:
            _add(errors, "domain", f"{' and '.join(claimants)} would both be served at "
                                   f"{fqdn}.")

    caddy = ports.caddy_ports()
    used = {skill.port: skill.slug for skill in skills if skill.port is not None}
    if host.admin_port in caddy:
        _add(errors, "admin_port", f"Port {host.admin_port} is used by {caddy[host.admin_port]}.")
    if host.admin_port in used:
        _add(errors, "admin_port", f"Port {host.admin_port} is used by {used[host.admin_port]}.")
    for port, slug in sorted(used.items()):
        if port < host.port_range_start:
            _add(errors, "port_range_start", f"{slug} uses port {port}, below the range.")
        elif port > host.port_range_end:
            _add(errors, "port_range_end", f"{slug} uses port {port}, above the range.")
        elif port != host.admin_port and port in host.reserved():
            _add(errors, "reserved_ports", f"Port {port} is used by {slug}.")

    try:
        _, extras = layout()
    except LayoutError:
        extras = {}
    flavour = extras.get("init_flavour", HostSettings.INIT_SYSTEMD)
    if host.init_flavour != flavour:
        _add(errors, "init_flavour", f"This host runs {flavour} (its layout.json says so).")
    return errors


@dataclass(frozen=True)
class Problem:
    """Something in the saved catalogue that stops it from rendering."""

    skill: Skill | None  # None: the host settings
    field: str
    message: str


def _stored_errors(row) -> Errors:
    try:
        row.full_clean(validate_unique=False)
    except ValidationError as exc:
        return dict(exc.message_dict)
    return {}


def catalogue_problems() -> list[Problem]:
    """Every rule above (and the fields' own) over the saved rows: what blocks an apply."""
    host = HostSettings.load()
    skills = list(Skill.objects.all())
    problems = []
    for skill in skills:
        errors = _stored_errors(skill)
        for field, messages in skill_errors(
            skill, host, [other for other in skills if other.pk != skill.pk]
        ).items():
            errors.setdefault(field, []).extend(messages)
        problems += [Problem(skill, field, message) for field, messages in errors.items()
                     for message in dict.fromkeys(messages)]
    errors = _stored_errors(host)
    for field, messages in host_errors(host, skills).items():
        errors.setdefault(field, []).extend(messages)
    problems += [Problem(None, field, message) for field, messages in errors.items()
                 for message in dict.fromkeys(messages)]
    return problems
