"""The renderers' input: plain, frozen data taken from the catalogue at one moment."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Paths:
    """Where things live on the host. Tests render under a temporary ``root``."""

    root: str = "/"
    config_dir: str = "/etc/appliance"
    caddyfile: str = "/etc/caddy/Caddyfile"
    systemd_dir: str = "/etc/systemd/system"
    initd_dir: str = "/etc/init.d"
    sudoers: str = "/etc/sudoers.d/appliance"
    data_dir: str = "/var/lib/appliance"
    cache_dir: str = "/var/cache/appliance"
    run_dir: str = "/run/appliance"
    log_dir: str = "/var/log/appliance"
    venv: str = "/opt/appliance/venv"
    helper: str = "/usr/local/sbin/appliance-helper"
    caddy: str = "/usr/bin/caddy"
    cron_dir: str = "/etc/cron.d"  # the sysv flavour's DuckDNS schedule
    # The DuckDNS updater's answer: root's folder, where the admin's account cannot plant a link
    # for root's curl to write through.
    duckdns_dir: str = "/var/lib/appliance-duckdns"
    # Skills' releases (code and virtual environment per deploy), root's like the venv: the
    # admin fetches into its data folder, and the helper copies from there and builds.
    releases_dir: str = "/var/lib/appliance-releases"

    @property
    def python(self) -> str:
        return f"{self.venv}/bin/python"

    def on_disk(self, path: str) -> str:
        """``path`` under ``root`` (the same path on a real host, where root is /)."""
        return path if self.root == "/" else f"{self.root.rstrip('/')}{path}"


@dataclass(frozen=True)
class SkillSpec:
    slug: str
    name: str
    fqdn: str
    port: int
    source_path: str  # the skill's folder, or a legacy module's .py file
    enabled: bool = True
    threads: int = 4
    on_demand: bool = False
    idle_exit: int = 300
    application_ids: tuple[str, ...] = ()
    verify_requests: bool = True
    test_console: bool = False
    environment: tuple[tuple[str, str], ...] = ()  # sorted (name, value)
    secrets: tuple[tuple[str, str], ...] = ()  # sorted (name, value); never shown
    templates: str = ""  # templates.yaml; empty keeps the skill's own file
    release: int = 0  # the release it runs (its code and venv); 0: its source, the shared venv

    @property
    def unit(self) -> str:
        return f"alexa-skill-{self.slug}"

    @property
    def user(self) -> str:
        return f"skill-{self.slug}"


@dataclass(frozen=True)
class HostSpec:
    domain: str = "localhost"
    admin_fqdn: str = "admin.localhost"
    admin_port: int = 8000
    acme_email: str = ""
    certificate_authority: str = "internal"  # letsencrypt | letsencrypt-staging | internal
    init_flavour: str = "systemd"  # systemd | sysv
    duckdns_domains: tuple[str, ...] = ()
    duckdns_token: str = ""
    duckdns_url: str = "https://www.duckdns.org/update"
    admin_user: str = "appliance"
    caddy_grace_period: str = "10s"
    http_port: int = 80
    https_port: int = 443
    # Caddy's API: a unix socket only Caddy's user (and root) may open; a loopback port would
    # let every local process, skills included, load a configuration of its own.
    caddy_admin: str = "unix//var/lib/caddy/admin.sock"
    caddy_storage: str = ""  # certificates and keys; empty: Caddy's default (its home)
    console_ca_pem: str = ""  # the test console's CA certificate (public part)
    console_chain_pem: str = ""  # the console's signing chain, seeded into skills' caches
    skill_user: str = ""  # non-empty: every skill runs as this user (tests that run as root)


@dataclass(frozen=True)
class Catalogue:
    host: HostSpec
    skills: tuple[SkillSpec, ...] = ()
    paths: Paths = field(default_factory=Paths)

    @property
    def enabled_skills(self) -> tuple[SkillSpec, ...]:
        return tuple(skill for skill in self.skills if skill.enabled)


@dataclass(frozen=True)
class RenderedFile:
    path: str  # absolute path on the host (before ``Paths.on_disk``)
    content: str
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"
    secret: bool = False  # its content is never shown in a diff or a log
    executable_check: str = ""  # "sh" for scripts checked with sh -n
