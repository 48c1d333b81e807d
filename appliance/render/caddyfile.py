"""The Caddyfile: one site per enabled skill and one for the admin, in ``caddy fmt`` style."""

from __future__ import annotations

import re

from .rules import CADDY_TOKEN_RE
from .snapshot import Catalogue, RenderedFile

STAGING_CA = "https://acme-staging-v02.api.letsencrypt.org/directory"
_ADMIN_RE = re.compile(r"^(?:unix//[A-Za-z0-9._/_-]+\.sock"
                       r"|(?:localhost|127\.0\.0\.1|\[::1\]):[0-9]{1,5})$")
AUTHORITIES = ("letsencrypt", "letsencrypt-staging", "internal")

# Anything else (whitespace, braces, quotes, #) could end a token or a block early, so a value
# that needs them is refused rather than escaped.
_TOKEN_RE = CADDY_TOKEN_RE
_DURATION_RE = re.compile(r"^[0-9]+(?:\.[0-9]+)?(?:ns|us|ms|s|m|h)$")


def _token(value: str, what: str) -> str:
    if not _TOKEN_RE.match(value):
        raise ValueError(f"{what} {value!r} cannot go into a Caddyfile")
    return value


def _site(address: str, body: list[str], internal: bool) -> list[str]:
    lines = [f"{address} {{"]
    if internal:
        lines.append("\ttls internal")
    lines.extend(f"\t{line}" for line in body)
    lines.append("}")
    return lines


def render_caddyfile(cat: Catalogue) -> RenderedFile:
    host, paths = cat.host, cat.paths
    if host.certificate_authority not in AUTHORITIES:
        raise ValueError(f"unknown certificate authority {host.certificate_authority!r}")
    if not _DURATION_RE.match(host.caddy_grace_period):
        raise ValueError(f"{host.caddy_grace_period!r} is not a duration such as 10s")
    internal = host.certificate_authority == "internal"

    fqdns = [skill.fqdn for skill in cat.enabled_skills] + [host.admin_fqdn]
    duplicates = sorted({name for name in fqdns if fqdns.count(name) > 1})
    if duplicates:
        # Caddy would refuse the file; say which names clash instead.
        raise ValueError(f"more than one site for {', '.join(duplicates)}")

    lines = [
        "# Rendered by the appliance admin. Do not edit: changes are overwritten.",
        "{",
    ]
    if host.acme_email:
        lines.append(f"\temail {_token(host.acme_email, 'e-mail')}")
    if host.certificate_authority == "letsencrypt-staging":
        lines.append(f"\tacme_ca {STAGING_CA}")
    if (host.http_port, host.https_port) != (80, 443):
        lines.append(f"\thttp_port {int(host.http_port)}")
        lines.append(f"\thttps_port {int(host.https_port)}")
    # The apply step reloads through the admin API: Caddy's own socket (a loopback port only
    # where a test host has no other way).
    if not _ADMIN_RE.match(host.caddy_admin):
        raise ValueError(f"Caddy's admin API must be a unix socket or on loopback, "
                         f"not {host.caddy_admin!r}")
    lines.append(f"\tadmin {host.caddy_admin}")
    # Caddy must never touch the system's trust store (it would try sudo, or succeed as root).
    lines.append("\tskip_install_trust")
    if host.caddy_storage:
        lines.append(f"\tstorage file_system {_token(host.caddy_storage, 'path')}")
    lines.append(f"\tgrace_period {host.caddy_grace_period}")
    lines.append("}")

    # Each skill's site writes Caddy's access log (JSON on stderr, so into Caddy's own log):
    # the logs pages show a skill's requests from it. The admin's site does not: its logs page
    # polls every few seconds and would drown the skills' lines.
    access_log = ["log {", "\tformat json", "}"]
    for skill in sorted(cat.enabled_skills, key=lambda s: s.fqdn):
        lines.append("")
        lines.extend(_site(_token(skill.fqdn, "host name"),
                           [*access_log, f"reverse_proxy 127.0.0.1:{int(skill.port)}"],
                           internal))

    # handle_path and handle are mutually exclusive: /static/* never reaches Django.
    static_root = _token(f"{paths.data_dir}/static", "path")
    admin_body = [
        "handle_path /static/* {",
        f"\troot * {static_root}",
        "\tfile_server",
        "}",
        "handle {",
        f"\treverse_proxy 127.0.0.1:{int(host.admin_port)}",
        "}",
    ]
    lines.append("")
    lines.extend(_site(_token(host.admin_fqdn, "host name"), admin_body, internal))
    return RenderedFile(path=paths.caddyfile, content="\n".join(lines) + "\n")
