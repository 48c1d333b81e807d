"""Validation of everything that ends up in a rendered file (Caddyfile, unit, init script).

Values are checked against strict allow-lists rather than escaped: a slug or hostname that could
break out of a Caddyfile block or a unit line never reaches a renderer.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from ..render.rules import CADDY_TOKEN_RE, CONTROL_RE, is_one_line, reserved_env_reason

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,24}[a-z0-9])?$")  # "skill-<slug>" fits a user name
LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
SKILL_ID_RE = re.compile(r"^amzn1\.(?:ask\.skill|echo-sdk-ams\.app)\.[A-Za-z0-9._-]{1,100}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$")

def validate_slug(value: str) -> None:
    if not SLUG_RE.match(value or ""):
        raise ValidationError(
            "Use 1-26 lowercase letters, digits and hyphens, starting and ending with a letter "
            "or digit.", code="slug")


def validate_hostname(value: str) -> None:
    """A DNS name: a subdomain label ("memory") or a full name ("memory.example.org")."""
    text = (value or "").strip().lower()
    if not text or len(text) > 253:
        raise ValidationError("Enter a host name.", code="hostname")
    labels = text.split(".")
    if not all(LABEL_RE.match(label) for label in labels):
        raise ValidationError(
            "A host name is made of labels of letters, digits and hyphens, separated by dots.",
            code="hostname")


def validate_env_name(value: str) -> None:
    if not ENV_NAME_RE.match(value or ""):
        raise ValidationError(f"{value!r} is not a variable name (A-Z, 0-9, _).", code="env")
    reason = reserved_env_reason(value)
    if reason:
        raise ValidationError(f"{value} {reason}.", code="env_reserved")


def validate_env_value(value: str) -> None:
    if not is_one_line(value):
        raise ValidationError("Values must be one line.", code="env_value")


def validate_skill_ids(value: str) -> None:
    for skill_id in split_ids(value):
        if not SKILL_ID_RE.match(skill_id):
            raise ValidationError(f"{skill_id!r} is not an Alexa skill ID "
                                  "(amzn1.ask.skill.…).", code="skill_id")


def split_ids(value: str) -> list[str]:
    return [item for item in re.split(r"[\s,]+", value or "") if item]


def validate_email(value: str) -> None:
    # The address goes into the Caddyfile as one token: EMAIL_RE alone would let a % through.
    if value and not (EMAIL_RE.match(value) and CADDY_TOKEN_RE.match(value)):
        raise ValidationError("Enter a valid e-mail address.", code="email")


def validate_text_line(value: str) -> None:
    """A name shown in a unit's Description= or an init script: one line of text."""
    if CONTROL_RE.search(value or ""):
        raise ValidationError("Use one line of text, without control characters.",
                              code="text_line")


def validate_source(value: str) -> None:
    """A skill's folder: relative, inside its parent, one plain line (it goes on a command
    line in the unit and the init script)."""
    if not value or ".." in value.split("/") or value.startswith("/") or CONTROL_RE.search(
        value
    ) or any(c in value for c in "{}"):
        raise ValidationError("Name the skill's folder (e.g. memory_game), without .. or "
                              "a leading /.", code="source")


def validate_duckdns_domains(value: str) -> None:
    for name in split_ids(value):
        name = name.removesuffix(".duckdns.org")
        if not LABEL_RE.match(name):
            raise ValidationError(f"{name!r} is not a DuckDNS subdomain.", code="duckdns")


def validate_duckdns_token(value: str) -> None:
    if value and not re.fullmatch(r"[0-9a-fA-F-]{36}", value):
        raise ValidationError("A DuckDNS token is a UUID (36 characters).", code="token")
