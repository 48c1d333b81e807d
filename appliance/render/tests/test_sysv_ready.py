"""A SysV script's start waits until its daemon listens (or is gone), not a fixed second."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import skills
from appliance.render.envfiles import render_skill_env
from appliance.render.layout import paths_under
from appliance.render.snapshot import Catalogue, HostSpec, SkillSpec
from appliance.render.sysv import render_init_scripts
from appliance.render.tests.samples import ec2_catalogue
from skills.runtime.testing.process import free_port

MEMORY_GAME = Path(skills.__file__).resolve().parent / "memory_game"
SSD = shutil.which("start-stop-daemon") or shutil.which("start-stop-daemon",
                                                         path="/usr/sbin:/sbin")


def scripts(cat) -> dict[str, str]:
    return {f.path.rpartition("/")[2]: f.content for f in render_init_scripts(cat)}


@pytest.mark.unit
def test_each_daemon_names_the_address_it_listens_on_once_started():
    rendered = scripts(ec2_catalogue())
    assert "READY_ADDRESS=127.0.0.1:9101\n" in rendered["alexa-skill-memory-game"]
    assert "READY_ADDRESS=127.0.0.1:8001\n" in rendered["appliance-admin"]
    # Its API's socket, there once its config is loaded.
    assert "READY_ADDRESS=/var/lib/caddy/admin.sock\n" in rendered["caddy"]
    for script in rendered.values():
        assert "\tsleep 1\n" not in script
        assert "listening && break" in script


def start_script(tmp_path: Path, source: Path) -> tuple[Path, int, Path]:
    skill = SkillSpec(slug="memory-game", name="Memory Game", fqdn="memory.localhost",
                      port=free_port(), source_path=str(source), verify_requests=False)
    cat = Catalogue(host=HostSpec(init_flavour="sysv", skill_user=getpass.getuser()),
                    skills=(skill,), paths=paths_under(tmp_path, venv=sys.prefix))
    env = render_skill_env(cat, skill)
    Path(env.path).parent.mkdir(parents=True)
    Path(env.path).write_text(env.content)
    script = next(f for f in render_init_scripts(cat) if f.path.endswith("/" + skill.unit))
    path = Path(script.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script.content)
    path.chmod(0o755)
    return path, skill.port, Path(cat.paths.run_dir) / f"{skill.unit}.pid"


@pytest.fixture
def cleanup():
    pid_files: list[Path] = []
    yield pid_files
    for pid_file in pid_files:  # a failed test must not leave a skill running
        if pid_file.exists():
            with contextlib.suppress(ValueError, OSError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def run(script: Path, action: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(script), action], capture_output=True, text=True, timeout=60)


@pytest.mark.integration
@pytest.mark.skipif(SSD is None, reason="start-stop-daemon is not installed (Debian's dpkg)")
def test_start_returns_once_the_skill_listens(tmp_path, cleanup):
    script, port, pid_file = start_script(tmp_path, MEMORY_GAME)
    cleanup.append(pid_file)
    started = run(script, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    # No waiting here: start only returned once the port was listening.
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert run(script, "stop").returncode == 0


@pytest.mark.integration
@pytest.mark.skipif(SSD is None, reason="start-stop-daemon is not installed (Debian's dpkg)")
def test_a_skill_that_dies_at_start_is_a_failed_start(tmp_path, cleanup):
    script, _, pid_file = start_script(tmp_path, tmp_path / "no_such_skill")
    cleanup.append(pid_file)
    began = time.monotonic()
    started = run(script, "start")
    assert started.returncode == 1, started.stdout + started.stderr
    assert "failed to start" in started.stderr
    assert not pid_file.exists()
    assert time.monotonic() - began < 9  # told from its death, not from the 10 s limit
