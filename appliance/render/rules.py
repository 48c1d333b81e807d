"""What a value must look like to go into a rendered file, defined once.

The renderers refuse anything else (they are the last line); the catalogue's forms check the
same constants first, so a value the renderers would refuse is a form error, never a failed
apply. Nothing here imports Django: the renderers stay pure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# A Caddyfile token: whitespace, braces, quotes or # could end a token or a block early.
CADDY_TOKEN_RE = re.compile(r"^[A-Za-z0-9._/:@+*-]+$")
# One line of text in a unit file or an init script.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# What systemd's EnvironmentFile= and the runtime's --env-file take as a name.
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# An environment value is one line: these would start another NAME=value.
LINE_BREAKS = ("\n", "\r", "\x00")
# DuckDNS: a subdomain and a token go into the update URL unescaped.
DUCKDNS_DOMAIN_RE = re.compile(r"^[a-z0-9-]+$")
DUCKDNS_TOKEN_RE = re.compile(r"^[0-9a-fA-F-]+$")


def is_one_line(value: str) -> bool:
    return not any(ch in value for ch in LINE_BREAKS)


def duplicates(names: Iterable[str]) -> list[str]:
    """The names given more than once, sorted (two sites, or two variables, of one name)."""
    return sorted(name for name, count in Counter(names).items() if count > 1)
