"""DuckDNS: the curl config (where the token lives), the cron schedule, and refused values."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appliance.render.duckdns import render_cron, render_curl_config, render_duckdns
from appliance.render.tests.samples import TOKEN, ec2_catalogue, local_catalogue

pytestmark = pytest.mark.unit


def with_host(cat, **changes):
    return replace(cat, host=replace(cat.host, **changes))


def test_the_curl_config_holds_the_update_url_with_every_domain_and_the_token():
    config = render_curl_config(ec2_catalogue())
    assert config.path == "/etc/appliance/duckdns.curl"
    assert config.content.splitlines()[-1] == (
        f'url = "https://www.duckdns.org/update?domains=myskills,other&token={TOKEN}&ip="')


def test_the_curl_config_is_a_root_only_secret():
    config = render_curl_config(ec2_catalogue())
    assert (config.mode, config.owner, config.group, config.secret) == (0o600, "root", "root",
                                                                        True)


def test_cron_updates_every_five_minutes_and_at_boot_without_the_token():
    cron = render_cron(ec2_catalogue())
    assert cron.path == "/etc/cron.d/appliance-duckdns"
    assert (cron.mode, cron.owner, cron.secret) == (0o644, "root", False)
    command = ("/usr/bin/curl --silent --show-error --max-time 30 --config "
               "/etc/appliance/duckdns.curl --create-dirs --output "
               "/var/lib/appliance-duckdns/last-result")
    assert f"*/5 * * * * root {command}\n" in cron.content
    assert f"@reboot root sleep 60 && {command}\n" in cron.content
    assert TOKEN not in cron.content


def test_cron_is_only_for_the_sysv_flavour():
    systemd = with_host(ec2_catalogue(), init_flavour="systemd")
    assert [f.path for f in render_duckdns(systemd)] == ["/etc/appliance/duckdns.curl"]
    assert len(render_duckdns(ec2_catalogue())) == 2


def test_nothing_without_domains():
    assert render_duckdns(local_catalogue()) == []


@pytest.mark.parametrize("domain", ["MySkills", "my.skills", "a&token=x", "sp ace", ""])
def test_a_domain_outside_lowercase_letters_digits_and_hyphens_is_refused(domain):
    with pytest.raises(ValueError, match="DuckDNS subdomain"):
        render_curl_config(with_host(ec2_catalogue(), duckdns_domains=(domain,)))


@pytest.mark.parametrize("token", ["", "abc&domains=evil", 'abc"', "xyz-not-hex"])
def test_a_token_outside_hex_digits_and_hyphens_is_refused(token):
    with pytest.raises(ValueError, match="token"):
        render_curl_config(with_host(ec2_catalogue(), duckdns_token=token))


@pytest.mark.parametrize("url", ["http://www.duckdns.org/update", 'https://x.org/"', ""])
def test_an_update_url_that_is_not_plain_https_is_refused(url):
    with pytest.raises(ValueError, match="https"):
        render_curl_config(with_host(ec2_catalogue(), duckdns_url=url))


def test_a_path_cron_would_misread_is_refused():
    cat = ec2_catalogue()
    cat = replace(cat, paths=replace(cat.paths, duckdns_dir="/var/lib/100%"))
    with pytest.raises(ValueError, match="cron"):
        render_cron(cat)
