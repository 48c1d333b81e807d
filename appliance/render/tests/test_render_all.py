"""render_all: the golden output of both sample hosts, determinism, and what each flavour gets."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appliance.render import render_all
from appliance.render.envfiles import CONSOLE_CERT_URL
from appliance.render.tests.samples import check_golden, ec2_catalogue, local_catalogue

pytestmark = pytest.mark.unit

HEADER = "# Rendered by the appliance admin. Do not edit: changes are overwritten."


def test_local_systemd_host_matches_its_golden_files():
    check_golden("local", render_all(local_catalogue()))


def test_ec2_sysv_host_matches_its_golden_files():
    check_golden("ec2", render_all(ec2_catalogue()))


@pytest.mark.parametrize("make", [local_catalogue, ec2_catalogue])
def test_rendering_twice_gives_byte_identical_files(make):
    assert render_all(make()) == render_all(make())


@pytest.mark.parametrize("make", [local_catalogue, ec2_catalogue])
def test_the_order_of_skills_in_the_catalogue_does_not_change_the_output(make):
    cat = make()
    shuffled = replace(cat, skills=tuple(reversed(cat.skills)))
    assert render_all(shuffled) == render_all(cat)


@pytest.mark.parametrize("make", [local_catalogue, ec2_catalogue])
def test_files_are_sorted_by_path_and_unique(make):
    paths = [f.path for f in render_all(make())]
    assert paths == sorted(set(paths))


def test_systemd_flavour_gets_units_and_no_init_scripts_or_cron():
    paths = [f.path for f in render_all(local_catalogue())]
    assert "/etc/systemd/system/alexa-skill-memory-game.socket" in paths
    assert not [p for p in paths if p.startswith(("/etc/init.d/", "/etc/cron.d/"))]


def test_sysv_flavour_gets_init_scripts_and_cron_and_no_units():
    paths = [f.path for f in render_all(ec2_catalogue())]
    assert "/etc/init.d/caddy" in paths
    assert "/etc/cron.d/appliance-duckdns" in paths
    assert not [p for p in paths if p.startswith("/etc/systemd/")]


def test_exactly_the_env_files_and_the_duckdns_config_are_secret():
    secret = {f.path for f in render_all(ec2_catalogue()) if f.secret}
    assert secret == {
        "/etc/appliance/admin.env",
        "/etc/appliance/duckdns.curl",
        "/etc/appliance/skills/conversation.env",
        "/etc/appliance/skills/memory-game.env",
        "/etc/appliance/skills/old-quiz.env",
    }


@pytest.mark.parametrize("make", [local_catalogue, ec2_catalogue])
def test_every_file_the_admin_writes_says_not_to_edit_it(make):
    for f in render_all(make()):
        if f.path.endswith((".pem", ".yaml")):
            continue  # the catalogue's own content, passed through as it is
        lines = f.content.splitlines()
        first = lines[1] if lines[0].startswith("#!") else lines[0]
        assert first == HEADER, f.path


def test_the_seeded_console_chain_is_named_as_the_verifier_looks_it_up():
    from skills.runtime.verifier import cache_file_name

    paths = [f.path for f in render_all(local_catalogue())]
    expected = f"/var/cache/appliance/skills/memory-game/{cache_file_name(CONSOLE_CERT_URL)}"
    assert expected in paths
    assert not expected.endswith(".pem.pem")


def test_two_skills_with_one_slug_are_refused_rather_than_one_overwriting_the_other():
    cat = local_catalogue()
    twin = replace(cat.skills[0], fqdn="twin.localhost", port=9999)
    with pytest.raises(ValueError, match="rendered more than once"):
        render_all(replace(cat, skills=(*cat.skills, twin)))


def test_an_unknown_init_flavour_is_refused():
    cat = local_catalogue()
    with pytest.raises(ValueError, match="init flavour"):
        render_all(replace(cat, host=replace(cat.host, init_flavour="upstart")))
