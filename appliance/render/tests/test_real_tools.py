"""The rendered files checked by the real tools: caddy, systemd-analyze, sh, visudo, and a
rendered init script that starts, checks and stops a real skill."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests

import skills
from appliance.render.caddyfile import render_caddyfile
from appliance.render.envfiles import render_admin_env, render_skill_env
from appliance.render.layout import paths_under
from appliance.render.snapshot import Catalogue, HostSpec, SkillSpec
from appliance.render.systemd import render_units
from appliance.render.sysv import render_init_scripts
from appliance.render.tests.samples import TOKEN, ec2_catalogue, local_catalogue
from skills.envfile import parse_env_file
from skills.runtime.testing.builders import envelope, launch_request
from skills.runtime.testing.process import free_port

pytestmark = pytest.mark.integration

MEMORY_GAME = Path(skills.__file__).resolve().parent / "memory_game"


def tool(name: str) -> str | None:
    # A user's PATH may leave out the sbin folders.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def with_host(cat, **changes):
    return replace(cat, host=replace(cat.host, **changes))


# --- the real caddy -----------------------------------------------------------------------

CADDY = tool("caddy")
needs_caddy = pytest.mark.skipif(CADDY is None, reason="caddy is not installed")

VARIANTS = {
    "local-internal": local_catalogue(),
    "ec2-letsencrypt": ec2_catalogue(),
    "ec2-staging": with_host(ec2_catalogue(), certificate_authority="letsencrypt-staging"),
    "no-skills": replace(local_catalogue(), skills=()),
}


def caddy(tmp_path, *args):
    # Keep caddy's storage (and its internal CA) out of the real home directory.
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.run([CADDY, *args], capture_output=True, text=True, env=env, timeout=60)


@needs_caddy
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_caddy_fmt_leaves_the_rendered_file_unchanged(tmp_path, name):
    target = tmp_path / "Caddyfile"
    target.write_text(render_caddyfile(VARIANTS[name]).content)
    result = caddy(tmp_path, "fmt", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == target.read_text()


@needs_caddy
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_caddy_validate_accepts_the_rendered_file(tmp_path, name):
    target = tmp_path / "Caddyfile"
    target.write_text(render_caddyfile(VARIANTS[name]).content)
    result = caddy(tmp_path, "validate", "--adapter", "caddyfile", "--config", str(target))
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


# --- systemd's own check ------------------------------------------------------------------

ANALYZE = tool("systemd-analyze")
# What systemd says about a unit it cannot parse: any of these is a rendering bug.
SYNTAX_ERRORS = re.compile(
    r"Unknown key|Unknown section|Unknown lvalue|Failed to parse|Invalid|Missing '='|"
    r"bad unit file setting|fatal error|Assignment outside of section|not valid|ignoring"
)


def analyze(directory: Path) -> str:
    files = sorted(str(p) for p in directory.iterdir())
    result = subprocess.run([ANALYZE, "verify", "--man=no", "--generators=no", *files],
                            capture_output=True, text=True, timeout=120)
    return result.stdout + result.stderr


def write_units(cat, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for f in render_units(cat):
        (directory / Path(f.path).name).write_text(f.content)


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_finds_no_syntax_error_in_the_units(tmp_path):
    # Real binaries (this venv's python and gunicorn, curl) so that check is meaningful too.
    cat = with_host(local_catalogue(), duckdns_domains=("myskills",), duckdns_token=TOKEN)
    odd = replace(cat.skills[1], slug="odd", source_path='/srv/my "skills"/100% $HOME\\')
    cat = replace(cat, skills=(*cat.skills, odd),
                  paths=paths_under(tmp_path / "root", venv=sys.prefix))
    write_units(cat, tmp_path / "units")
    output = analyze(tmp_path / "units")
    problems = [line for line in output.splitlines() if SYNTAX_ERRORS.search(line)]
    assert problems == [], output


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_does_report_a_broken_unit(tmp_path):
    # The check above is only worth something if a broken unit does show up.
    broken = tmp_path / "units"
    broken.mkdir()
    (broken / "broken.service").write_text(
        "[Unit]\nDescriptin=typo\n\n[Service]\nExecStart=/bin/true\nRestartSec=soon\n")
    problems = [line for line in analyze(broken).splitlines() if SYNTAX_ERRORS.search(line)]
    assert len(problems) == 2, problems


# --- real sh and a real skill -------------------------------------------------------------

SSD = tool("start-stop-daemon")


def write_scripts(cat, directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for f in render_init_scripts(cat):
        target = directory / f.path.rpartition("/")[2]
        target.write_text(f.content)
        target.chmod(f.mode)
        written[target.name] = target
    return written


@pytest.mark.parametrize("make", [ec2_catalogue, local_catalogue])
def test_sh_n_accepts_every_script(tmp_path, make):
    cat = make()
    odd = replace(cat.skills[0], slug="odd", source_path="/srv/it's $(here) \"x\" \\")
    for path in write_scripts(replace(cat, skills=(*cat.skills, odd)), tmp_path).values():
        result = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{path.name}: {result.stderr}"


def run(script: Path, action: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(script), action], capture_output=True, text=True, timeout=60)


@pytest.fixture
def skill_under_tmp(tmp_path):
    """The Memory Game's rendered init script and env file, every path under tmp_path."""
    skill = SkillSpec(slug="memory-game", name="Memory Game", fqdn="memory.localhost",
                      port=free_port(), source_path=str(MEMORY_GAME), verify_requests=False)
    cat = Catalogue(host=HostSpec(init_flavour="sysv", skill_user=getpass.getuser()),
                    skills=(skill,), paths=paths_under(tmp_path, venv=sys.prefix))
    env = render_skill_env(cat, skill)
    assert 'ASK_VERIFY_REQUESTS="false"' in env.content
    Path(env.path).parent.mkdir(parents=True)
    Path(env.path).write_text(env.content)
    script = write_scripts(cat, Path(cat.paths.initd_dir))["alexa-skill-memory-game"]
    pidfile = Path(cat.paths.run_dir) / "alexa-skill-memory-game.pid"
    yield script, skill.port, pidfile
    if pidfile.exists():  # a failed test must not leave the skill running
        run(script, "stop")
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


def health(port: int, timeout: float = 20.0) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return requests.get(f"http://127.0.0.1:{port}/_skill/health", timeout=1).json()
        except requests.RequestException:
            time.sleep(0.2)
    return None


@pytest.mark.skipif(SSD is None, reason="start-stop-daemon is not installed (Debian's dpkg)")
def test_the_rendered_script_starts_checks_and_stops_a_real_skill(skill_under_tmp, tmp_path):
    script, port, pidfile = skill_under_tmp
    log = tmp_path / "var/log/appliance/alexa-skill-memory-game.log"

    assert run(script, "status").returncode == 3  # never started
    started = run(script, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    assert pidfile.exists()
    assert (tmp_path / "var/cache/appliance/skills/memory-game").is_dir()
    assert health(port) == {"skill": "memory-game", "status": "ok"}, log.read_text()
    # Unsigned, yet answered: ASK_VERIFY_REQUESTS=false came from the env file (--env-file),
    # since start-stop-daemon passes no environment file of its own.
    answer = requests.post(f"http://127.0.0.1:{port}/", json=envelope(launch_request()),
                           timeout=10)
    assert answer.status_code == 200, answer.text
    assert "outputSpeech" in answer.json()["response"]

    status = run(script, "status")
    assert status.returncode == 0, status.stdout
    assert "is running" in status.stdout
    assert run(script, "start").returncode == 0  # already running is not a failure

    assert run(script, "stop").returncode == 0
    assert not pidfile.exists()
    assert run(script, "status").returncode == 3
    assert run(script, "stop").returncode == 0  # stopping a stopped skill is not a failure
    assert "serving memory-game" in log.read_text()


def test_an_unknown_action_prints_usage_and_exits_2_and_reload_is_unimplemented(tmp_path):
    written = write_scripts(ec2_catalogue(), tmp_path)
    unknown = run(written["alexa-skill-memory-game"], "explode")
    assert unknown.returncode == 2
    assert "Usage:" in unknown.stderr
    assert run(written["alexa-skill-memory-game"], "reload").returncode == 3
    assert "reload|" in run(written["caddy"], "explode").stderr


# --- sh and the admin's env file ---------------------------------------------------------

def test_sh_sourcing_the_admin_env_gets_the_same_values_as_the_parser(tmp_path):
    # The SysV script sources admin.env; it must mean the same to sh as to systemd.
    rendered = render_admin_env(local_catalogue()).content
    target = tmp_path / "admin.env"
    target.write_text(rendered)
    names = list(parse_env_file(rendered))
    script = f'set -a; . "{target}"; set +a; ' + "; ".join(
        f'printf "%s\\n" "${name}"' for name in names)
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == list(parse_env_file(rendered).values())
