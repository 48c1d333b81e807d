"""What the voice check page says about this host: the login command that works when pasted on
it, the links a spoken request goes through, and whether Alexa's cloud can reach the skill."""

from __future__ import annotations

import os
import pwd
import shlex
import sys

from ..catalogue.models import HostSettings, Skill
from ..deploy.client import layout

# Names that never resolve on the internet (RFC 6761, RFC 8375 and common private suffixes).
PRIVATE_SUFFIXES = ("localhost", "local", "internal", "test", "example", "invalid",
                    "home.arpa", "lan")


def admin_python() -> str:
    """The admin's own interpreter on the host (the layout's venv), which has ``skills``."""
    try:
        return layout()[0].python
    except (OSError, ValueError, KeyError, TypeError):
        return sys.executable


def admin_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def login_command(store_path) -> str:
    """Links AVS as the admin's user, into the token store the voice check reads; the two IDs
    are the operator's (the AVS product and its security profile)."""
    parts = ["sudo", "-u", admin_user(), admin_python(), "-m", "skills", "avs", "login",
             "--config", str(store_path)]
    return " ".join(shlex.quote(part) for part in parts) + (
        " --client-id YOUR_CLIENT_ID --product-id YOUR_PRODUCT_ID")


def is_private(fqdn: str) -> bool:
    name = fqdn.rstrip(".").lower()
    return any(name == suffix or name.endswith("." + suffix) for suffix in PRIVATE_SUFFIXES)


def chain(host: HostSettings) -> list[str]:
    """The links between a spoken request and the skill, in order."""
    return ["Alexa", *(["DuckDNS"] if host.duckdns_domains else []), "Caddy", "the skill"]


def reach(skill: Skill, host: HostSettings) -> dict:
    fqdn = skill.fqdn(host)
    unreachable = ""
    if is_private(fqdn):
        unreachable = (f"Alexa's cloud can never reach {fqdn}: the name only exists on this "
                       "machine, so this check cannot pass here. Use the test console, or give "
                       "the host a public domain in the host settings.")
    way = " → ".join(chain(host))
    hint = ("Check the DuckDNS name, the router's port forward to Caddy, and that Caddy serves "
            "the skill." if host.duckdns_domains else
            f"Check that {fqdn} resolves on the internet to this host, that port 443 reaches "
            "Caddy, and that Caddy serves the skill.")
    return {"fqdn": fqdn, "unreachable": unreachable, "way": way, "hint": hint}
