"""The helper's allow-lists: every refusal the helper must make before touching anything."""

from __future__ import annotations

import pytest

from appliance.helper import policy
from appliance.helper.policy import Refused
from appliance.render import Paths

pytestmark = pytest.mark.unit

P = Paths()
HEX = "ab" * 32


def entry(path="/etc/caddy/Caddyfile", **fields):
    return {"path": path, "mode": 0o644, "owner": "root", "group": "root", "sha256": HEX,
            "check": "", **fields}


@pytest.mark.parametrize("path", [
    "/etc/caddy/Caddyfile", "/etc/sudoers.d/appliance", "/etc/appliance/admin.env",
    "/etc/appliance/console-ca.pem", "/etc/appliance/duckdns.curl",
    "/etc/appliance/skills/memory-game.env", "/etc/appliance/skills/a1/templates.yaml",
    "/etc/systemd/system/alexa-skill-memory-game.service",
    "/etc/systemd/system/alexa-skill-x.socket", "/etc/systemd/system/appliance-admin.service",
    "/etc/systemd/system/appliance-duckdns.service", "/etc/systemd/system/appliance-duckdns.timer",
    "/etc/init.d/alexa-skill-memory-game", "/etc/init.d/caddy", "/etc/init.d/appliance-admin",
    "/etc/cron.d/appliance-duckdns", f"/var/cache/appliance/skills/memory-game/{HEX}.pem",
    "/etc/appliance/skills/" + "a" * 26 + ".env",
])
def test_allowed_paths(path):
    assert policy.check_path(path, P) == path


@pytest.mark.parametrize("path", [
    "/etc/passwd", "/etc/shadow", "/root/.ssh/authorized_keys", "/etc/init.d/ssh",
    "/etc/systemd/system/sshd.service", "/etc/cron.d/evil", "/etc/appliance/secret_key",
    "/etc/appliance/skills/../../passwd", "/etc/appliance/skills/x/../../../shadow.env",
    "/etc/appliance//admin.env", "/etc/appliance/./admin.env", "etc/caddy/Caddyfile",
    "/etc/appliance/skills/my skill.env", "/etc/appliance/skills/a\nb.env",
    "/etc/init.d/alexa-skill-a}b", "/etc/init.d/alexa-skill-{a}", "/etc/init.d/alexa-skill-",
    "/etc/init.d/alexa-skill-UPPER", "/etc/init.d/alexa-skill--a", "/etc/init.d/alexa-skill-a-",
    "/etc/appliance/skills/" + "a" * 27 + ".env", "/etc/appliance/skills/a/b/templates.yaml",
    "/var/cache/appliance/skills/a/notahash.pem", f"/var/cache/appliance/skills/a/{HEX}.txt",
    f"/var/cache/appliance/skills/a/b/{HEX}.pem", "/etc/init.d/caddy\n", "/etc/init.d/caddy\0",
    "/etc/systemd/system/alexa-skill-a.service.d/override.conf", 42, None,
])
def test_refused_paths(path):
    with pytest.raises(Refused):
        policy.check_path(path, P)


def test_a_good_entry_is_normalised():
    assert policy.check_entry(entry(), P)["mode"] == 0o644
    assert policy.check_entry(entry("/etc/appliance/skills/a.env", group="skill-a",
                                    mode=0o640), P)["group"] == "skill-a"


@pytest.mark.parametrize(("fields", "words"), [
    ({"mode": 0o777}, "mode"), ({"mode": 0o4755}, "mode"), ({"mode": "0644"}, "mode"),
    ({"mode": True}, "mode"), ({"owner": "nobody-here"}, "unknown owner"),
    ({"owner": "root;rm"}, "not a valid owner"), ({"group": "no-such-group"}, "unknown group"),
    ({"owner": "Root"}, "not a valid owner"), ({"sha256": "AB" * 32}, "sha256"),
    ({"sha256": "ab"}, "sha256"), ({"check": "bash"}, "unknown check"),
    ({"owner": "skill-a"}, "must be owned by root"), ({"extra": 1}, "exactly the keys"),
])
def test_refused_entries(fields, words):
    with pytest.raises(Refused, match=words):
        policy.check_entry(entry(**fields), P)


def test_a_sudoers_file_is_never_installed_and_root_scripts_are_root_owned():
    with pytest.raises(Refused, match="never installs a sudoers file"):
        policy.check_entry(entry(P.sudoers, mode=0o644), P)
    with pytest.raises(Refused, match="owned by root"):
        policy.check_entry(entry("/etc/init.d/caddy", owner="skill-x", mode=0o755), P)


@pytest.mark.parametrize("name", ["alexa-skill-memory-game", "alexa-skill-a.socket", "caddy",
                                  "appliance-admin", "appliance-duckdns.timer"])
def test_allowed_services(name):
    assert policy.service_name(name) == name


@pytest.mark.parametrize("name", ["sshd", "alexa-skill-", "alexa-skill-a b", "alexa-skill-a\n",
                                  "alexa-skill-{a}", "alexa-skill-a.service", "caddy.service",
                                  "appliance-duckdns", "../caddy", "alexa-skill-a.socket.socket",
                                  "-caddy", ""])
def test_refused_services(name):
    with pytest.raises(Refused):
        policy.service_name(name)


def test_several_services_are_checked_each_and_refused_all_for_one():
    assert policy.service_names(["caddy", "alexa-skill-a.socket", "caddy"]) == [
        "caddy", "alexa-skill-a.socket"]
    for bad in (["alexa-skill-a", "sshd"], ["alexa-skill-a.service"], [],
                ["caddy"] * (policy.MAX_UNITS_ASKED + 1)):
        with pytest.raises(Refused):
            policy.service_names(bad)


def test_several_services_take_every_action_but_status():
    assert policy.batch_action("restart") == "restart"
    for bad in ("status", "kill", ""):
        with pytest.raises(Refused, match="unknown action"):
            policy.batch_action(bad)


def test_logs_may_name_the_duckdns_service():
    assert policy.service_name("appliance-duckdns", logs=True) == "appliance-duckdns"


@pytest.mark.parametrize("value", ["0", "2001", "99999", "-1", "abc", "1e3", " 5", "5\n", ""])
def test_refused_line_counts(value):
    with pytest.raises(Refused, match="--lines"):
        policy.log_lines(value)


def test_line_counts():
    assert policy.log_lines("1") == 1 and policy.log_lines("2000") == 2000


@pytest.mark.parametrize("value", ["0", "01", "-1", "1;rm", "1 ", "1234567890", "x", ""])
def test_refused_revision_numbers(value):
    with pytest.raises(Refused):
        policy.revision_number(value)


def test_actions():
    assert policy.action("restart") == "restart"
    for bad in ("kill", "mask", "start;", "Start"):
        with pytest.raises(Refused, match="unknown action"):
            policy.action(bad)
