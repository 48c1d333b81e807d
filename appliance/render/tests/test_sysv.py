"""SysV init scripts: what they run, as whom, where (run for real in test_real_tools)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appliance.render.sysv import render_init_scripts
from appliance.render.tests.samples import ec2_catalogue

pytestmark = pytest.mark.unit


def scripts(cat) -> dict[str, str]:
    return {f.path.rpartition("/")[2]: f.content for f in render_init_scripts(cat)}


def test_one_script_per_enabled_skill_plus_caddy_and_the_admin():
    assert sorted(scripts(ec2_catalogue())) == [
        "alexa-skill-conversation", "alexa-skill-memory-game", "appliance-admin", "caddy"]


def test_scripts_are_executable_and_checked_with_sh():
    for f in render_init_scripts(ec2_catalogue()):
        assert f.path.startswith("/etc/init.d/")
        assert (f.mode, f.owner, f.executable_check, f.secret) == (0o755, "root", "sh", False)


def test_each_script_has_an_lsb_header():
    script = scripts(ec2_catalogue())["alexa-skill-memory-game"]
    assert script.startswith("#!/bin/sh\n")
    for line in ("### BEGIN INIT INFO",
                 "# Provides:          alexa-skill-memory-game",
                 "# Required-Start:    $network $remote_fs",
                 "# Required-Stop:     $network $remote_fs",
                 "# Default-Start:     2 3 4 5",
                 "# Default-Stop:      0 1 6",
                 "# Short-Description: Alexa skill: Memory Game",
                 "### END INIT INFO"):
        assert line + "\n" in script


def test_a_skill_script_starts_the_skill_server_as_its_user_with_its_env_file():
    script = scripts(ec2_catalogue())["alexa-skill-memory-game"]
    assert "DAEMON=/opt/appliance/venv/bin/python\n" in script
    assert "RUN_AS=skill-memory-game\n" in script
    assert 'PIDFILE="$RUN_DIR/$NAME.pid"' in script and "RUN_DIR=/run/appliance\n" in script
    assert 'LOGFILE="$LOG_DIR/$NAME.log"' in script and "LOG_DIR=/var/log/appliance\n" in script
    assert ("-m skills serve /opt/appliance/skills/memory_game --bind 127.0.0.1:9101 "
            "--threads 4 --name memory-game --env-file /etc/appliance/skills/memory-game.env"
            ) in script
    assert "--idle-exit" not in script  # nothing would start it again
    assert '--chuid "$RUN_AS" --umask 077 --output' in script
    assert "--stop --quiet --oknodo --retry TERM/10/KILL/5" in script
    assert 'mkdir -p "$RUN_DIR" "$LOG_DIR"' in script
    # Without systemd's CacheDirectory= the script hands the verifier its cache folder.
    assert ('mkdir -p /var/cache/appliance/skills/memory-game && chown "$RUN_AS" '
            "/var/cache/appliance/skills/memory-game || return 1") in script


def test_caddy_reloads_through_its_admin_endpoint():
    script = scripts(ec2_catalogue())["caddy"]
    assert ("/usr/bin/caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile "
            "--address unix//var/lib/caddy/admin.sock") in script
    assert "run --config /etc/caddy/Caddyfile --adapter caddyfile" in script
    assert "RUN_AS=caddy\n" in script


def test_the_admin_script_loads_its_env_and_runs_gunicorn_in_the_data_folder():
    script = scripts(ec2_catalogue())["appliance-admin"]
    assert "set -a; . /etc/appliance/admin.env; set +a" in script
    assert "--chdir /var/lib/appliance" in script
    assert ("-m gunicorn appliance.wsgi:application --bind 127.0.0.1:8001 --workers 2 "
            "--timeout 300 --access-logfile -") in script
    assert "RUN_AS=appliance\n" in script
    assert "--umask" not in script  # Caddy serves the static files the admin writes


def test_odd_characters_in_paths_are_quoted_for_sh():
    cat = ec2_catalogue()
    skill = replace(cat.skills[0], source_path="/srv/it's $(here)")
    script = scripts(replace(cat, skills=(skill,)))["alexa-skill-memory-game"]
    assert "serve '/srv/it'\"'\"'s $(here)' --bind" in script


def test_a_skill_name_with_a_newline_is_refused():
    cat = ec2_catalogue()
    skill = replace(cat.skills[0], name="Memory\nrm -rf /")
    with pytest.raises(ValueError, match="one line"):
        render_init_scripts(replace(cat, skills=(skill,)))
