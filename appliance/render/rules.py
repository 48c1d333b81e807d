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
CADDY_TOKEN_RE = re.compile(r"^[A-Za-z0-9._/:@+*_-]+$")
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


# A skill's environment and secrets may not set what changes how the runtime, Flask, Python or
# the loader behave: the appliance sets those from the skill's other fields, or never. Exact
# names first, then prefixes; each says what to use instead. (The root helper refuses the same
# names again: appliance/deploy/wire.py.)
_VERIFY = "relaxes request verification, which only the 'Verify requests' switch may turn off"
RESERVED_ENV_NAMES = {
    "ASK_APPLICATION_ID": "is set from the Application ids field (the skill IDs; "
                          "skill_add --skill-id)",
    "ASK_VERIFY_REQUESTS": "is set by the 'Verify requests' switch (skill_add --verify / "
                           "--no-verify)",
    "ASK_EXTRA_CA_BUNDLE": "is set by the 'Test console' switch (skill_add --test-console)",
    "ASK_TEMPLATES_PATH": "is set when the skill has templates: edit them in the Templates "
                          "editor",
    "ASK_CERT_CACHE_DIR": "is set by the appliance (the skill's certificate cache)",
    "ASK_CA_BUNDLE": "would replace the roots Amazon's signatures are checked against; the "
                     "'Test console' switch adds the console's",
    "PATH": "is set by the appliance (the skill's service)",
    "HOME": "is set by the appliance (the skill's user)",
    "GCONV_PATH": "changes which code the C library loads",
    "GLIBC_TUNABLES": "changes how the C library behaves",
    "NOTIFY_SOCKET": "is set by systemd",
}
RESERVED_ENV_PREFIXES = (
    ("ASK_VERIFY_", _VERIFY),
    ("ASK_", "is a runtime setting: the appliance sets the ones it supports from the skill's "
             "fields (Application ids, Verify requests, Test console)"),
    ("FLASK_", "changes how Flask runs the skill (FLASK_DEBUG would turn debug mode on); "
               "the appliance runs every skill the same way"),
    ("WERKZEUG_", "changes how Werkzeug runs the skill; the appliance runs every skill the "
                  "same way"),
    ("PYTHON", "changes how Python starts (which code it loads first)"),
    ("LD_", "changes which libraries the loader loads"),
    ("OPENSSL_", "changes which configuration and modules OpenSSL loads"),
    ("LISTEN_", "is set by systemd's socket activation"),
    ("SYSTEMD_", "is set by systemd"),
)


def reserved_env_reason(name: str) -> str | None:
    """Why a skill's environment or secrets may not set ``name``; None when it may."""
    if name in RESERVED_ENV_NAMES:
        return RESERVED_ENV_NAMES[name]
    for prefix, reason in RESERVED_ENV_PREFIXES:
        if name.startswith(prefix):
            return reason
    return None
