"""Environment files: what each skill (and the admin) is told at start, plus the files they name.

A skill's environment file is read twice: by systemd (``EnvironmentFile=``) and by the skill
server itself (``--env-file``, so the SysV scripts need no shell quoting). Both parse
``NAME="value"`` with ``\\\\`` and ``\\"`` escapes and expand nothing, so that is the only format
written here. The admin's file is also sourced by ``sh`` in the SysV flavour, so its values are
further held to characters the shell takes literally inside double quotes.
"""

from __future__ import annotations

import re

from skills.runtime.verifier import cache_file_name

from .rules import ENV_NAME_RE, is_one_line
from .snapshot import Catalogue, RenderedFile, SkillSpec

# The URL the test console signs with; its chain is seeded into the skills' caches so the
# verifier never needs to fetch it (the console's CA is not Amazon's).
CONSOLE_CERT_URL = "https://s3.amazonaws.com/echo.api/appliance-test-console.pem"

_SHELL_UNSAFE = re.compile(r"[$`\\\"]")
_HEADER = "# Rendered by the appliance admin. Do not edit: changes are overwritten."


def run_as(cat: Catalogue, skill: SkillSpec) -> str:
    """The user (and group) a skill's process runs as."""
    return cat.host.skill_user or skill.user


def skill_env_path(cat: Catalogue, skill: SkillSpec) -> str:
    return f"{cat.paths.config_dir}/skills/{skill.slug}.env"


def skill_templates_path(cat: Catalogue, skill: SkillSpec) -> str:
    return f"{cat.paths.config_dir}/skills/{skill.slug}/templates.yaml"


def skill_cache_dir(cat: Catalogue, skill: SkillSpec) -> str:
    return f"{cat.paths.cache_dir}/skills/{skill.slug}"


def admin_env_path(cat: Catalogue) -> str:
    return f"{cat.paths.config_dir}/admin.env"


def console_ca_path(cat: Catalogue) -> str:
    return f"{cat.paths.config_dir}/console-ca.pem"


def quote_env_value(name: str, value: str) -> str:
    """``value`` double-quoted and escaped for systemd's EnvironmentFile and the runtime."""
    if not is_one_line(value):
        raise ValueError(f"{name}: environment values must be one line")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _env_file(comment: str, pairs: list[tuple[str, str]]) -> str:
    seen: set[str] = set()
    lines = [_HEADER, f"# {comment}"]
    for name, value in pairs:
        if not ENV_NAME_RE.match(name):
            raise ValueError(f"{name!r} is not an environment variable name")
        if name in seen:
            # Two values for one name: which one wins would depend on the reader.
            raise ValueError(f"{name} is set twice")
        seen.add(name)
        lines.append(f"{name}={quote_env_value(name, value)}")
    return "\n".join(lines) + "\n"


def _skill_pairs(cat: Catalogue, skill: SkillSpec) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if skill.application_ids:
        pairs.append(("ASK_APPLICATION_ID", ",".join(skill.application_ids)))
    pairs.append(("ASK_VERIFY_REQUESTS", "true" if skill.verify_requests else "false"))
    pairs.append(("ASK_CERT_CACHE_DIR", skill_cache_dir(cat, skill)))
    if skill.templates:
        pairs.append(("ASK_TEMPLATES_PATH", skill_templates_path(cat, skill)))
    if skill.test_console and cat.host.console_ca_pem:
        pairs.append(("ASK_EXTRA_CA_BUNDLE", console_ca_path(cat)))
    # Sorted together so a secret's position does not reveal that it is one.
    pairs.extend(sorted((*skill.environment, *skill.secrets)))
    return pairs


def render_skill_env(cat: Catalogue, skill: SkillSpec) -> RenderedFile:
    content = _env_file(f"Environment of the skill {skill.slug}.", _skill_pairs(cat, skill))
    # Group-readable by the skill's user only: it holds the skill's secrets.
    return RenderedFile(path=skill_env_path(cat, skill), content=content, mode=0o640,
                        owner="root", group=run_as(cat, skill), secret=True)


def render_admin_env(cat: Catalogue) -> RenderedFile:
    host, paths = cat.host, cat.paths
    pairs = [
        ("DJANGO_SETTINGS_MODULE", "appliance.settings"),
        ("SECRET_KEY_FILE", f"{paths.config_dir}/secret_key"),
        ("ALLOWED_HOSTS", f"{host.admin_fqdn},localhost,127.0.0.1"),
        ("CSRF_TRUSTED_ORIGINS", f"https://{host.admin_fqdn}"),
        ("APPLIANCE_DATA_DIR", paths.data_dir),
        ("APPLIANCE_CONFIG_DIR", paths.config_dir),
    ]
    for name, value in pairs:
        if _SHELL_UNSAFE.search(value):
            raise ValueError(f"{name}: {value!r} has a character sh would not take literally")
    content = _env_file("Environment of the admin (Django under gunicorn).", pairs)
    return RenderedFile(path=admin_env_path(cat), content=content, mode=0o640, owner="root",
                        group=host.admin_user, secret=True)


def render_env_files(cat: Catalogue) -> list[RenderedFile]:
    """Every skill's environment (disabled ones too: their units are rendered) and the admin's,
    the templates and console trust files they point at. Sorted by path."""
    files = [render_admin_env(cat)]
    if cat.host.console_ca_pem:
        files.append(RenderedFile(path=console_ca_path(cat), content=cat.host.console_ca_pem))
    for skill in cat.skills:
        files.append(render_skill_env(cat, skill))
        if skill.templates:
            files.append(RenderedFile(path=skill_templates_path(cat, skill),
                                      content=skill.templates))
        if skill.test_console and cat.host.console_chain_pem:
            # cache_file_name() already ends in .pem: the name the verifier looks up.
            seeded = f"{skill_cache_dir(cat, skill)}/{cache_file_name(CONSOLE_CERT_URL)}"
            files.append(RenderedFile(path=seeded, content=cat.host.console_chain_pem))
    return sorted(files, key=lambda f: f.path)
