"""DuckDNS: the curl config holding the update URL, and the SysV flavour's cron schedule.

The token lives only in the root-only curl config, so it never appears on a command line (where
any local user could read it from ``ps``). The systemd flavour's timer lives in systemd.py.
"""

from __future__ import annotations

import re

from .rules import DUCKDNS_DOMAIN_RE, DUCKDNS_TOKEN_RE
from .snapshot import Catalogue, RenderedFile

CURL = "/usr/bin/curl"
_URL_RE = re.compile(r"^https://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._/-]*)?$")
# cron takes % as a newline and the line is run by sh: paths must be plain.
_PATH_RE = re.compile(r"^/[A-Za-z0-9._/+@-]*$")
_HEADER = "# Rendered by the appliance admin. Do not edit: changes are overwritten."


def curl_config_path(cat: Catalogue) -> str:
    return f"{cat.paths.config_dir}/duckdns.curl"


def result_path(cat: Catalogue) -> str:
    return f"{cat.paths.duckdns_dir}/last-result"


def curl_command(cat: Catalogue) -> list[str]:
    """The update command, shared by the systemd service and the cron line."""
    # --create-dirs: the result's folder may not exist on a fresh host.
    return [CURL, "--silent", "--show-error", "--max-time", "30",
            "--config", curl_config_path(cat), "--create-dirs", "--output", result_path(cat)]


def duckdns_domains(cat: Catalogue) -> list[str]:
    """The subdomain names DuckDNS expects, checked again: they end up inside a URL."""
    names = []
    for domain in cat.host.duckdns_domains:
        name = domain.removesuffix(".duckdns.org")
        if not DUCKDNS_DOMAIN_RE.match(name):
            raise ValueError(f"{domain!r} is not a DuckDNS subdomain (a-z, 0-9, -)")
        names.append(name)
    return names


def render_curl_config(cat: Catalogue) -> RenderedFile:
    host = cat.host
    names = duckdns_domains(cat)
    if not DUCKDNS_TOKEN_RE.match(host.duckdns_token):
        raise ValueError("the DuckDNS token must be hexadecimal digits and hyphens")
    if not _URL_RE.match(host.duckdns_url):
        raise ValueError(f"{host.duckdns_url!r} is not a plain https:// URL")
    # An empty ip= lets DuckDNS take the address the request comes from.
    url = f"{host.duckdns_url}?domains={','.join(names)}&token={host.duckdns_token}&ip="
    content = f'{_HEADER}\n# curl config for the DuckDNS update.\nurl = "{url}"\n'
    return RenderedFile(path=curl_config_path(cat), content=content, mode=0o600, owner="root",
                        group="root", secret=True)


def render_cron(cat: Catalogue) -> RenderedFile:
    command = curl_command(cat)
    for arg in command:
        if not _PATH_RE.match(arg) and not arg.startswith("--") and not arg.isdigit():
            raise ValueError(f"{arg!r} cannot go on a cron line")
    line = " ".join(command)
    content = (
        f"{_HEADER}\n"
        "# Update the host's DuckDNS address every 5 minutes, and once shortly after boot.\n"
        "SHELL=/bin/sh\n"
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
        f"*/5 * * * * root {line}\n"
        # The network may not be up yet at @reboot time.
        f"@reboot root sleep 60 && {line}\n"
    )
    # cron ignores files in cron.d that are group- or world-writable, or not owned by root.
    return RenderedFile(path=f"{cat.paths.cron_dir}/appliance-duckdns", content=content)


def render_duckdns(cat: Catalogue) -> list[RenderedFile]:
    """The curl config, plus the cron file in the SysV flavour; nothing without domains."""
    if not cat.host.duckdns_domains:
        return []
    files = [render_curl_config(cat)]
    if cat.host.init_flavour == "sysv":
        files.append(render_cron(cat))
    return files
