"""systemd units: skills (always on, on demand), the admin, DuckDNS (verified: test_real_tools)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from appliance.render.layout import paths_under
from appliance.render.snapshot import Paths
from appliance.render.systemd import SKILL_HARDENING, render_units
from appliance.render.tests.samples import TOKEN, local_catalogue

pytestmark = pytest.mark.unit

UNITS = "/etc/systemd/system"


def units(cat) -> dict[str, str]:
    return {f.path.removeprefix(UNITS + "/"): f.content for f in render_units(cat)}


def section(content: str, name: str) -> list[str]:
    """The lines of one [section], comments left out."""
    match = re.search(rf"^\[{name}\]\n(.*?)(?:\n\n|\Z)", content, re.S | re.M)
    assert match, f"no [{name}] section"
    return [line for line in match.group(1).splitlines() if not line.startswith("#")]


def with_duckdns(cat):
    return replace(cat, host=replace(cat.host, duckdns_domains=("myskills",),
                                     duckdns_token=TOKEN))


def test_every_skill_gets_a_service_even_a_disabled_one():
    names = units(local_catalogue())
    assert "alexa-skill-memory-game.service" in names
    assert "alexa-skill-conversation.service" in names  # disabled in the catalogue


def test_an_always_on_skill_is_wanted_by_multi_user_and_has_no_socket():
    names = units(local_catalogue())
    assert "alexa-skill-conversation.socket" not in names
    assert section(names["alexa-skill-conversation.service"], "Install") == [
        "WantedBy=multi-user.target"]


def test_an_on_demand_skill_has_a_socket_and_a_service_that_requires_it():
    names = units(local_catalogue())
    socket = names["alexa-skill-memory-game.socket"]
    assert section(socket, "Socket") == ["ListenStream=127.0.0.1:9101"]
    assert section(socket, "Install") == ["WantedBy=sockets.target"]
    service = names["alexa-skill-memory-game.service"]
    assert "Requires=alexa-skill-memory-game.socket" in section(service, "Unit")
    assert "[Install]" not in service  # the socket is what gets enabled


def test_the_skill_service_runs_the_skill_server_with_its_env_file():
    service = section(units(local_catalogue())["alexa-skill-memory-game.service"], "Service")
    assert ("ExecStart=/opt/appliance/venv/bin/python -m skills serve "
            "/opt/appliance/skills/memory_game --bind 127.0.0.1:9101 --threads 2 "
            "--name memory-game --env-file /etc/appliance/skills/memory-game.env "
            "--idle-exit 120") in service
    assert "EnvironmentFile=/etc/appliance/skills/memory-game.env" in service
    assert "User=skill-memory-game" in service
    assert "Group=skill-memory-game" in service
    assert "Restart=on-failure" in service
    assert "RestartSec=2" in service


def test_only_on_demand_skills_exit_when_idle():
    assert "--idle-exit" not in units(local_catalogue())["alexa-skill-conversation.service"]


def test_skills_are_hardened_and_may_write_only_their_cache():
    service = section(units(local_catalogue())["alexa-skill-memory-game.service"], "Service")
    for line in SKILL_HARDENING:
        assert line in service
    assert "CacheDirectory=appliance/skills/memory-game" in service
    assert "ProtectSystem=strict" in service


def test_a_cache_outside_var_cache_is_made_writable_instead(tmp_path):
    cat = replace(local_catalogue(), paths=paths_under(tmp_path))
    service = next(f for f in render_units(cat) if f.path.endswith("memory-game.service"))
    assert f"ReadWritePaths=-{tmp_path}/var/cache/appliance/skills/memory-game" in service.content
    assert "CacheDirectory=" not in service.content


def test_the_host_wide_skill_user_replaces_each_skills_own():
    cat = local_catalogue()
    cat = replace(cat, host=replace(cat.host, skill_user="tester"))
    service = units(cat)["alexa-skill-memory-game.service"]
    assert "User=tester\nGroup=tester\n" in service


def test_a_percent_in_the_skill_name_is_not_a_systemd_specifier():
    service = units(local_catalogue())["alexa-skill-conversation.service"]
    assert "Description=Alexa skill: Conversation (100%% chat)" in service


def test_a_skill_name_with_a_newline_is_refused():
    cat = local_catalogue()
    skill = replace(cat.skills[0], name="Memory\n[Service]\nExecStartPre=/bin/sh")
    with pytest.raises(ValueError, match="one line"):
        render_units(replace(cat, skills=(skill,)))


def test_an_unusual_path_is_quoted_the_way_systemd_unquotes_it():
    cat = local_catalogue()
    skill = replace(cat.skills[1], source_path='/srv/my "skills"/100% $HOME')
    service = units(replace(cat, skills=(skill,)))["alexa-skill-conversation.service"]
    assert r'serve "/srv/my \"skills\"/100%% $$HOME" --bind' in service


def test_the_admin_runs_gunicorn_as_fenced_in_as_a_skill():
    admin = units(local_catalogue())["appliance-admin.service"]
    service = section(admin, "Service")
    assert ("ExecStart=/opt/appliance/venv/bin/gunicorn appliance.wsgi:application "
            "--bind 127.0.0.1:8000 --workers 2 --timeout 300 --access-logfile -") in service
    assert "User=appliance" in service
    assert "EnvironmentFile=/etc/appliance/admin.env" in service
    assert "WorkingDirectory=/var/lib/appliance" in service
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                 "PrivateTmp=yes", "RestrictSUIDSGID=yes", "Restart=on-failure"):
        assert line in service
    assert section(admin, "Install") == ["WantedBy=multi-user.target"]


def test_only_the_admins_data_folder_is_writable_to_it():
    service = section(units(local_catalogue())["appliance-admin.service"], "Service")
    writable = [line for line in service if line.startswith("ReadWritePaths=")]
    assert writable == ["ReadWritePaths=/var/lib/appliance"]
    assert "sudo" not in "\n".join(service)


def test_no_duckdns_units_without_domains():
    assert not [name for name in units(local_catalogue()) if "duckdns" in name]


def test_duckdns_runs_curl_from_a_timer_and_the_token_stays_in_the_config_file():
    names = units(with_duckdns(local_catalogue()))
    service = section(names["appliance-duckdns.service"], "Service")
    assert "Type=oneshot" in service
    assert ("ExecStart=/usr/bin/curl --silent --show-error --max-time 30 --config "
            "/etc/appliance/duckdns.curl --create-dirs --output "
            "/var/lib/appliance-duckdns/last-result") in service
    assert "NoNewPrivileges=yes" in service
    # It writes its answer as root: only in root's own folder, never in the admin's.
    assert "StateDirectory=appliance-duckdns" in service
    assert not [line for line in service if "/var/lib/appliance/" in line
                or line == "ReadWritePaths=-/var/lib/appliance"]
    timer = names["appliance-duckdns.timer"]
    assert section(timer, "Timer") == ["OnBootSec=1min", "OnUnitActiveSec=5min"]
    assert section(timer, "Install") == ["WantedBy=timers.target"]
    assert "Persistent" not in timer
    assert not [name for name, text in names.items() if TOKEN in text]


def test_all_units_are_plain_files_owned_by_root_and_not_secret():
    for f in render_units(with_duckdns(local_catalogue())):
        assert (f.mode, f.owner, f.group, f.secret) == (0o644, "root", "root", False)


def test_default_paths_render_units_for_the_real_host():
    assert {f.path.rpartition("/")[0] for f in render_units(local_catalogue())} == {
        Paths().systemd_dir}
