"""Environment files: contents, escaping (read back by the skill server's own parser), modes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appliance.render.envfiles import (
    CONSOLE_CERT_URL,
    quote_env_value,
    render_admin_env,
    render_env_files,
    render_skill_env,
)
from appliance.render.tests.samples import CA_PEM, CHAIN_PEM, TEMPLATES, local_catalogue
from skills.envfile import parse_env_file
from skills.runtime.verifier import cache_file_name

pytestmark = pytest.mark.unit


def by_path(cat):
    return {f.path: f for f in render_env_files(cat)}


def skill(cat, slug):
    return next(s for s in cat.skills if s.slug == slug)


def test_a_skill_env_file_lists_the_runtime_settings_then_its_variables_by_name():
    cat = local_catalogue()
    lines = render_skill_env(cat, skill(cat, "memory-game")).content.splitlines()
    assert lines[0].startswith("# Rendered by the appliance admin")
    assert lines[2:] == [
        'ASK_APPLICATION_ID="amzn1.ask.skill.0000-1111,amzn1.ask.skill.2222-3333"',
        'ASK_VERIFY_REQUESTS="true"',
        'ASK_CERT_CACHE_DIR="/var/cache/appliance/skills/memory-game"',
        'ASK_TEMPLATES_PATH="/etc/appliance/skills/memory-game/templates.yaml"',
        'ASK_EXTRA_CA_BUNDLE="/etc/appliance/console-ca.pem"',
        'API_KEY="s3cr%t$value"',
        'GREETING="Say \\"hi\\" \\\\ wave"',
        'LEVEL="3"',
    ]


def test_the_skill_server_reads_back_exactly_the_values_in_the_catalogue():
    cat = local_catalogue()
    memory = skill(cat, "memory-game")
    values = parse_env_file(render_skill_env(cat, memory).content)
    for name, value in (*memory.environment, *memory.secrets):
        assert values[name] == value
    assert values["ASK_VERIFY_REQUESTS"] == "true"


def test_no_skill_id_line_when_the_skill_has_none_and_verification_can_be_off():
    cat = local_catalogue()
    content = render_skill_env(cat, skill(cat, "conversation")).content
    assert "ASK_APPLICATION_ID" not in content
    assert 'ASK_VERIFY_REQUESTS="false"' in content
    assert "ASK_TEMPLATES_PATH" not in content  # it keeps the templates in its own folder
    assert "ASK_EXTRA_CA_BUNDLE" not in content  # not open to the test console


def test_the_console_ca_is_only_trusted_when_the_host_has_one():
    cat = local_catalogue()
    cat = replace(cat, host=replace(cat.host, console_ca_pem=""))
    assert "ASK_EXTRA_CA_BUNDLE" not in render_skill_env(cat, skill(cat, "memory-game")).content
    assert "/etc/appliance/console-ca.pem" not in by_path(cat)


def test_a_value_with_a_newline_is_refused():
    cat = local_catalogue()
    bad = replace(cat.skills[0], environment=(("GREETING", "hello\nASK_VERIFY_REQUESTS=false"),))
    with pytest.raises(ValueError, match="GREETING"):
        render_skill_env(cat, bad)
    with pytest.raises(ValueError):
        quote_env_value("X", "carriage\rreturn")


def test_a_name_set_twice_is_refused():
    cat = local_catalogue()
    bad = replace(cat.skills[0], environment=(("TOKEN", "a"),), secrets=(("TOKEN", "b"),))
    with pytest.raises(ValueError, match="set twice"):
        render_skill_env(cat, bad)
    overriding = replace(cat.skills[0], environment=(("ASK_VERIFY_REQUESTS", "false"),))
    with pytest.raises(ValueError, match="set twice"):
        render_skill_env(cat, overriding)


def test_a_name_that_is_not_a_variable_name_is_refused():
    cat = local_catalogue()
    bad = replace(cat.skills[0], environment=(("NOT A NAME", "x"),))
    with pytest.raises(ValueError, match="not an environment variable name"):
        render_skill_env(cat, bad)


def test_env_files_are_secret_and_readable_only_by_root_and_the_skills_user():
    files = by_path(local_catalogue())
    env = files["/etc/appliance/skills/memory-game.env"]
    assert (env.mode, env.owner, env.group, env.secret) == (0o640, "root", "skill-memory-game",
                                                           True)
    admin = files["/etc/appliance/admin.env"]
    assert (admin.mode, admin.owner, admin.group, admin.secret) == (0o640, "root", "appliance",
                                                                   True)


def test_the_host_wide_skill_user_owns_the_env_files_group():
    cat = local_catalogue()
    cat = replace(cat, host=replace(cat.host, skill_user="tester"))
    assert by_path(cat)["/etc/appliance/skills/memory-game.env"].group == "tester"


def test_disabled_skills_get_env_files_too_as_their_units_are_rendered():
    assert "/etc/appliance/skills/conversation.env" in by_path(local_catalogue())


def test_templates_and_console_trust_files_are_public_and_as_given():
    files = by_path(local_catalogue())
    templates = files["/etc/appliance/skills/memory-game/templates.yaml"]
    assert (templates.content, templates.mode, templates.secret) == (TEMPLATES, 0o644, False)
    ca = files["/etc/appliance/console-ca.pem"]
    assert (ca.content, ca.mode, ca.secret) == (CA_PEM, 0o644, False)
    chain = files["/var/cache/appliance/skills/memory-game/" + cache_file_name(CONSOLE_CERT_URL)]
    assert (chain.content, chain.mode, chain.secret) == (CHAIN_PEM, 0o644, False)


def test_only_skills_open_to_the_test_console_get_its_chain():
    chains = [p for p in by_path(local_catalogue()) if p.startswith("/var/cache/")]
    assert chains == ["/var/cache/appliance/skills/memory-game/"
                      + cache_file_name(CONSOLE_CERT_URL)]


def test_the_admin_env_names_its_settings_hosts_and_folders():
    content = render_admin_env(local_catalogue()).content
    assert parse_env_file(content) == {
        "DJANGO_SETTINGS_MODULE": "appliance.settings",
        "SECRET_KEY_FILE": "/etc/appliance/secret_key",
        "ALLOWED_HOSTS": "admin.localhost,localhost,127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": "https://admin.localhost",
        "APPLIANCE_DATA_DIR": "/var/lib/appliance",
        "APPLIANCE_CONFIG_DIR": "/etc/appliance",
    }


def test_an_admin_value_sh_would_expand_is_refused():
    cat = local_catalogue()
    cat = replace(cat, paths=replace(cat.paths, data_dir="/var/lib/$(reboot)"))
    with pytest.raises(ValueError, match="sh"):
        render_admin_env(cat)


def test_rendering_is_deterministic():
    assert render_env_files(local_catalogue()) == render_env_files(local_catalogue())
