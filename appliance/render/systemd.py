"""systemd units: one service per skill (plus a socket when on demand), the admin, DuckDNS."""

from __future__ import annotations

import re

from .duckdns import curl_command
from .envfiles import admin_env_path, run_as, skill_cache_dir, skill_env_path
from .snapshot import Catalogue, Paths, RenderedFile, SkillSpec

# Seconds before gunicorn kills an admin request: moving a skill to Lambda downloads packages and
# waits for AWS, far beyond gunicorn's 30 s default.
ADMIN_REQUEST_TIMEOUT = "300"

_HEADER = "# Rendered by the appliance admin. Do not edit: changes are overwritten."
_PLAIN_RE = re.compile(r"^[A-Za-z0-9_./:@+,=-]+$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_VAR_CACHE = "/var/cache/"
_VAR_LIB = "/var/lib/"

# For every process that serves the public through Caddy: it only needs its own cache folder.
SKILL_HARDENING = (
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectControlGroups=yes",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "UMask=0077",
)


def _text(value: str) -> str:
    """Free text (a Description): one line, no specifiers, no line continuation."""
    if _CONTROL_RE.search(value):
        raise ValueError(f"{value!r} must be one line of text")
    return value.replace("%", "%%").rstrip("\\ ")


def _arg(value: str) -> str:
    """One argument of a command line or a path setting, quoted the way systemd unquotes it."""
    if _PLAIN_RE.match(value):
        return value
    if _CONTROL_RE.search(value):
        raise ValueError(f"{value!r} cannot go into a unit file")
    # Inside double quotes systemd takes C escapes; % starts a specifier and $ a variable.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("%", "%%").replace("$", "$$") + '"'


def _command(args: list[str]) -> str:
    return " ".join(_arg(arg) for arg in args)


def _unit(sections: list[tuple[str, list[str]]]) -> str:
    blocks = [_HEADER]
    for name, lines in sections:
        if blocks[-1] != _HEADER:
            blocks.append("")
        blocks.append(f"[{name}]")
        blocks.extend(lines)
    return "\n".join(blocks) + "\n"


def release_folder(paths: Paths, slug: str, number: int) -> str:
    """A release's folder: its ``code/`` and ``venv/`` (made by the helper's builder)."""
    return f"{paths.releases_dir}/{slug}/{int(number)}"


def skill_python(cat: Catalogue, skill: SkillSpec) -> str:
    """The release's own interpreter, or the appliance's for a bundled or uploaded skill."""
    if skill.release:
        return f"{release_folder(cat.paths, skill.slug, skill.release)}/venv/bin/python"
    return cat.paths.python


def skill_command(cat: Catalogue, skill: SkillSpec, *, idle_exit: bool) -> list[str]:
    """``python -m skills serve ...`` for a skill; the SysV scripts use it too."""
    env_file = skill_env_path(cat, skill)
    args = [skill_python(cat, skill), "-m", "skills", "serve", skill.source_path,
            "--bind", f"127.0.0.1:{int(skill.port)}", "--threads", str(int(skill.threads)),
            "--name", skill.slug, "--env-file", env_file]
    if idle_exit:
        args += ["--idle-exit", str(int(skill.idle_exit))]
    return args


def _cache_setting(cat: Catalogue, skill: SkillSpec) -> str:
    cache = skill_cache_dir(cat, skill)
    if cache.startswith(_VAR_CACHE):
        # systemd creates it, owned by the skill's user, before the start.
        return f"CacheDirectory={_arg(cache.removeprefix(_VAR_CACHE))}"
    # Outside /var/cache systemd cannot manage it; "-": start even if it does not exist yet.
    return f"ReadWritePaths=-{_arg(cache)}"


def _state_setting(folder: str) -> str:
    if folder.startswith(_VAR_LIB):
        # systemd makes it (root's, 0755) before the start; nobody else can write in it.
        return f"StateDirectory={_arg(folder.removeprefix(_VAR_LIB))}"
    return f"ReadWritePaths=-{_arg(folder)}"  # a test's root: curl --create-dirs makes it


def _skill_files(cat: Catalogue, skill: SkillSpec) -> list[RenderedFile]:
    unit, user = skill.unit, run_as(cat, skill)
    unit_section = [f"Description=Alexa skill: {_text(skill.name)}",
                    "After=network-online.target"]
    if skill.on_demand:
        unit_section += [f"Requires={unit}.socket", f"After={unit}.socket"]
    service = [
        "Type=simple",
        f"User={user}",
        f"Group={user}",
        f"EnvironmentFile={_arg(skill_env_path(cat, skill))}",
        f"ExecStart={_command(skill_command(cat, skill, idle_exit=skill.on_demand))}",
        "Restart=on-failure",
        "RestartSec=2",
        *SKILL_HARDENING,
        _cache_setting(cat, skill),
    ]
    sections = [("Unit", unit_section), ("Service", service)]
    if not skill.on_demand:
        sections.append(("Install", ["WantedBy=multi-user.target"]))
    directory = cat.paths.systemd_dir
    files = [RenderedFile(path=f"{directory}/{unit}.service", content=_unit(sections))]
    if skill.on_demand:
        # The socket is what is enabled: the first request starts the service, which exits
        # again after idle_exit seconds without requests.
        socket = _unit([
            ("Unit", [f"Description=Alexa skill socket: {_text(skill.name)}"]),
            ("Socket", [f"ListenStream=127.0.0.1:{int(skill.port)}"]),
            ("Install", ["WantedBy=sockets.target"]),
        ])
        files.append(RenderedFile(path=f"{directory}/{unit}.socket", content=socket))
    return files


def render_admin_unit(cat: Catalogue) -> RenderedFile:
    host, paths = cat.host, cat.paths
    command = [f"{paths.venv}/bin/gunicorn", "appliance.wsgi:application",
               "--bind", f"127.0.0.1:{int(host.admin_port)}", "--workers", "2",
               "--timeout", ADMIN_REQUEST_TIMEOUT, "--access-logfile", "-"]
    # As fenced in as a skill: it reaches root only through the helper's socket (no setuid
    # program), so nothing but its own data folder needs to be writable.
    service = [
        "Type=simple",
        f"User={_arg(host.admin_user)}",
        f"EnvironmentFile={_arg(admin_env_path(cat))}",
        f"WorkingDirectory={_arg(paths.data_dir)}",
        f"ExecStart={_command(command)}",
        "Restart=on-failure",
        "RestartSec=2",
        *(line for line in SKILL_HARDENING if not line.startswith("UMask=")),
        f"ReadWritePaths={_arg(paths.data_dir)}",
    ]
    content = _unit([
        ("Unit", ["Description=Appliance admin (Django under gunicorn)",
                  "After=network-online.target"]),
        ("Service", service),
        ("Install", ["WantedBy=multi-user.target"]),
    ])
    return RenderedFile(path=f"{paths.systemd_dir}/appliance-admin.service", content=content)


def render_duckdns_units(cat: Catalogue) -> list[RenderedFile]:
    if not cat.host.duckdns_domains:
        return []
    directory = cat.paths.systemd_dir
    # Runs as root (only root reads the token's file), fenced in like the skills; the default
    # umask, not the skills' 0077, so the admin can show the last result.
    service = _unit([
        ("Unit", ["Description=Appliance: update the DuckDNS address",
                  "Wants=network-online.target",
                  "After=network-online.target"]),
        ("Service", [
            "Type=oneshot",
            f"ExecStart={_command(curl_command(cat))}",
            *(line for line in SKILL_HARDENING if not line.startswith("UMask=")),
            _state_setting(cat.paths.duckdns_dir),
        ]),
    ])
    timer = _unit([
        ("Unit", ["Description=Appliance: update the DuckDNS address every 5 minutes"]),
        # OnUnitActiveSec= counts from the last run; Persistent= would only apply to OnCalendar=.
        ("Timer", ["OnBootSec=1min", "OnUnitActiveSec=5min"]),
        ("Install", ["WantedBy=timers.target"]),
    ])
    return [RenderedFile(path=f"{directory}/appliance-duckdns.service", content=service),
            RenderedFile(path=f"{directory}/appliance-duckdns.timer", content=timer)]


def render_units(cat: Catalogue) -> list[RenderedFile]:
    """Every skill's units (disabled ones too: the apply step decides what runs), the admin's
    and DuckDNS's. Sorted by path."""
    files = [render_admin_unit(cat), *render_duckdns_units(cat)]
    for skill in cat.skills:
        files.extend(_skill_files(cat, skill))
    return sorted(files, key=lambda f: f.path)
