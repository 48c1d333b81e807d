"""The Caddyfile: its sites and options, and refused values (caddy itself: test_real_tools)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appliance.render.caddyfile import STAGING_CA, render_caddyfile
from appliance.render.snapshot import SkillSpec
from appliance.render.tests.samples import ec2_catalogue, local_catalogue

pytestmark = pytest.mark.unit


def with_host(cat, **changes):
    return replace(cat, host=replace(cat.host, **changes))


def site_addresses(content: str) -> list[str]:
    return [line.split()[0] for line in content.splitlines()
            if line.endswith(" {") and not line.startswith(("\t", "#"))]


def test_one_site_per_enabled_skill_sorted_by_name_then_the_admin():
    cat = ec2_catalogue()
    extra = SkillSpec(slug="aardvark", name="A", fqdn="zz.myskills.duckdns.org", port=9200,
                      source_path="/x")
    content = render_caddyfile(replace(cat, skills=(extra, *cat.skills))).content
    assert site_addresses(content) == [
        "chat.myskills.duckdns.org", "memory.myskills.duckdns.org", "zz.myskills.duckdns.org",
        "admin.myskills.duckdns.org",
    ]
    assert "quiz.myskills.duckdns.org" not in content  # disabled


def test_each_skill_site_writes_a_json_access_log_and_proxies_to_its_loopback_port():
    content = render_caddyfile(ec2_catalogue()).content
    assert ("chat.myskills.duckdns.org {\n\tlog {\n\t\tformat json\n\t}\n"
            "\treverse_proxy 127.0.0.1:9102\n}") in content
    # Not the admin's site: its logs page's polling would drown the skills' requests.
    assert content.count("\tlog {") == len(ec2_catalogue().enabled_skills)


def test_internal_ca_puts_tls_internal_in_every_site():
    content = render_caddyfile(local_catalogue()).content
    assert content.count("\ttls internal\n") == len(site_addresses(content)) == 2


def test_lets_encrypt_uses_caddys_default_acme_and_no_internal_tls():
    content = render_caddyfile(ec2_catalogue()).content
    assert "tls internal" not in content
    assert "acme_ca" not in content


def test_lets_encrypt_staging_sets_the_staging_directory():
    cat = with_host(ec2_catalogue(), certificate_authority="letsencrypt-staging")
    content = render_caddyfile(cat).content
    assert f"\tacme_ca {STAGING_CA}\n" in content
    assert STAGING_CA == "https://acme-staging-v02.api.letsencrypt.org/directory"


def test_global_options_email_admin_endpoint_and_grace_period():
    content = render_caddyfile(ec2_catalogue()).content
    assert content.splitlines()[1:7] == [
        "{", "\temail ops@example.org", "\tadmin unix//var/lib/caddy/admin.sock",
        "\tskip_install_trust",
        "\tgrace_period 30s", "}",
    ]


def test_a_storage_path_keeps_certificates_where_the_layout_says():
    cat = with_host(local_catalogue(), caddy_storage="/var/lib/caddy/appliance")
    assert "\tstorage file_system /var/lib/caddy/appliance\n" in render_caddyfile(cat).content


def test_no_email_line_without_an_address():
    assert "email" not in render_caddyfile(local_catalogue()).content


def test_admin_site_serves_static_files_itself_and_proxies_the_rest():
    content = render_caddyfile(ec2_catalogue()).content
    admin = content[content.index("admin.myskills.duckdns.org {"):]
    assert admin == (
        "admin.myskills.duckdns.org {\n"
        "\thandle_path /static/* {\n"
        "\t\troot * /var/lib/appliance/static\n"
        "\t\tfile_server\n"
        "\t}\n"
        "\thandle {\n"
        "\t\treverse_proxy 127.0.0.1:8001\n"
        "\t}\n"
        "}\n"
    )


def test_it_goes_to_the_configured_caddyfile_path():
    cat = ec2_catalogue()
    cat = replace(cat, paths=replace(cat.paths, caddyfile="/srv/Caddyfile"))
    assert render_caddyfile(cat).path == "/srv/Caddyfile"


@pytest.mark.parametrize("fqdn", ["bad name.example.org", "x.org {", "x.org}", "a#b", "évian.fr"])
def test_a_host_name_that_could_break_the_file_is_refused(fqdn):
    cat = ec2_catalogue()
    skill = replace(cat.skills[0], fqdn=fqdn)
    with pytest.raises(ValueError, match="Caddyfile"):
        render_caddyfile(replace(cat, skills=(skill,)))


def test_two_sites_with_one_name_are_refused():
    cat = ec2_catalogue()
    with pytest.raises(ValueError, match="more than one site"):
        render_caddyfile(with_host(cat, admin_fqdn=cat.skills[0].fqdn))


def test_an_unknown_certificate_authority_is_refused():
    with pytest.raises(ValueError, match="certificate authority"):
        render_caddyfile(with_host(local_catalogue(), certificate_authority="zerossl"))


def test_a_grace_period_that_is_not_a_duration_is_refused():
    with pytest.raises(ValueError, match="duration"):
        render_caddyfile(with_host(local_catalogue(), caddy_grace_period="10s }"))


def test_non_standard_ports_and_admin_address_go_into_the_global_options():
    cat = with_host(local_catalogue(), http_port=18080, https_port=18443,
                    caddy_admin="localhost:12019")
    content = render_caddyfile(cat).content
    assert "\thttp_port 18080\n\thttps_port 18443\n\tadmin localhost:12019\n" in content


def test_standard_ports_are_left_implicit():
    assert "http_port" not in render_caddyfile(local_catalogue()).content


@pytest.mark.parametrize("address", ["0.0.0.0:2019", ":2019", "example.org:2019", "localhost"])
def test_it_refuses_an_admin_api_off_loopback(address):
    with pytest.raises(ValueError, match="loopback"):
        render_caddyfile(with_host(local_catalogue(), caddy_admin=address))
