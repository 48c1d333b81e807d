"""The catalogue as the renderers see it: a frozen snapshot of the database."""

from __future__ import annotations

from pathlib import Path

import skills

from ..render import Catalogue, HostSpec, Paths, SkillSpec
from ..render.systemd import release_folder
from .models import HostSettings, Skill
from .validators import split_ids

BUNDLED_SKILLS = Path(skills.__file__).resolve().parent


def skill_source_path(skill: Skill, paths: Paths) -> str:
    if skill.source_kind == Skill.SOURCE_BUNDLED:
        return str(BUNDLED_SKILLS / skill.source)
    if skill.source_kind == Skill.SOURCE_RELEASE:
        return f"{release_folder(paths, skill.slug, skill.release or 0)}/code"
    return f"{paths.data_dir}/skills/{skill.slug}/{skill.source}".rstrip("/")


def build_catalogue(paths: Paths, *, extras: dict | None = None,
                    console_ca_pem: str = "", console_chain_pem: str = "") -> Catalogue:
    extras = extras or {}
    host = HostSettings.load()
    host_spec = HostSpec(
        domain=host.domain,
        admin_fqdn=host.fqdn(host.admin_hostname),
        admin_port=host.admin_port,
        acme_email=host.acme_email,
        certificate_authority=host.certificate_authority,
        init_flavour=host.init_flavour,
        duckdns_domains=tuple(name.removesuffix(".duckdns.org")
                              for name in split_ids(host.duckdns_domains)),
        duckdns_token=host.duckdns_token,
        duckdns_url=extras.get("duckdns_url", HostSpec.duckdns_url),
        admin_user=extras.get("admin_user", HostSpec.admin_user),
        console_ca_pem=console_ca_pem,
        console_chain_pem=console_chain_pem,
        **{key: extras[key] for key in ("skill_user", "http_port", "https_port", "caddy_admin",
                                        "caddy_storage")
           if key in extras},
    )
    specs = []
    for skill in Skill.objects.order_by("slug"):
        if skill.source_kind == Skill.SOURCE_RELEASE and not skill.release:
            continue  # nothing deployed yet: nothing to run, no site
        specs.append(SkillSpec(
            slug=skill.slug,
            name=skill.name or skill.slug,
            fqdn=host.fqdn(skill.hostname or skill.slug),
            port=skill.port,
            source_path=skill_source_path(skill, paths),
            # A skill moved to Lambda is served there: no service, no site on this host.
            enabled=skill.enabled and skill.runs_on == Skill.RUNS_ON_HOST,
            threads=skill.threads,
            on_demand=skill.on_demand,
            idle_exit=skill.idle_exit,
            application_ids=tuple(split_ids(skill.application_ids)),
            verify_requests=skill.verify_requests,
            test_console=skill.test_console,
            environment=tuple(sorted((skill.environment or {}).items())),
            secrets=tuple(sorted((skill.secrets or {}).items())),
            templates=skill.templates,
            release=skill.release if skill.source_kind == Skill.SOURCE_RELEASE else 0,
        ))
    return Catalogue(host=host_spec, skills=tuple(specs), paths=paths)
