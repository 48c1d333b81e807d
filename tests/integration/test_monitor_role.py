"""The monitor's service and timer as the appliance role writes them, through Ansible on the
controller alone: systemd's own check finds nothing wrong, the sample runs as the admin's user,
fenced in as the admin's rendered unit is (unix sockets only: the system bus and the helper),
every minute."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from appliance.render.systemd import SKILL_HARDENING

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "appliance"
UNITS = ["appliance-monitor.service", "appliance-monitor.timer"]
ANALYZE = shutil.which("systemd-analyze")


@pytest.fixture(scope="module")
def units(tmp_path_factory) -> Path:
    """The role's two templates rendered with its defaults (the venv: this one, so systemd's
    check finds a real python)."""
    out = tmp_path_factory.mktemp("monitor")
    playbook = out / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars": {"ansible_managed": "managed", "ansible_python_interpreter": sys.executable},
        "tasks": [
            {"name": "Defaults", "ansible.builtin.include_role": {
                "name": "appliance", "tasks_from": "validate", "public": True}},
            {"name": "Units", "loop": UNITS, "ansible.builtin.template": {
                "src": str(ROLE / "templates/etc/systemd/system") + "/{{ item }}.j2",
                "dest": str(out) + "/{{ item }}", "mode": "0644"}},
        ]}]))
    extra = out / "vars.json"
    extra.write_text(json.dumps({"appliance_domain": "example.org",
                                 "appliance_certificate_authority": "internal",
                                 "appliance_venv": sys.prefix}))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
         str(playbook), "-e", f"@{extra}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def settings(unit: Path, section: str) -> list[str]:
    text = unit.read_text()
    body = text[text.index(f"[{section}]") + len(section) + 2:]
    body = body[:body.index("\n[")] if "\n[" in body else body
    return [line for line in body.splitlines() if line and not line.startswith("#")]


def test_the_sample_runs_as_the_admins_user_with_its_environment(units):
    service = settings(units / "appliance-monitor.service", "Service")
    assert "User=appliance" in service and "Type=oneshot" in service
    assert f"ExecStart={sys.prefix}/bin/python -m django monitor_sample" in service
    assert "EnvironmentFile=/etc/appliance/admin.env" in service
    assert "WorkingDirectory=/var/lib/appliance" in service


def test_it_is_fenced_in_as_the_admins_unit_is_with_unix_sockets_only(units):
    service = settings(units / "appliance-monitor.service", "Service")
    admin = [line for line in SKILL_HARDENING if not line.startswith("UMask=")]
    expected = [line if not line.startswith("RestrictAddressFamilies=")
                else "RestrictAddressFamilies=AF_UNIX" for line in admin]
    assert [line for line in service if line in expected or line.startswith(
        ("NoNewPrivileges", "Protect", "Private", "Restrict", "Lock"))] == expected
    assert "ReadWritePaths=/var/lib/appliance" in service


def test_it_samples_every_minute(units):
    timer = settings(units / "appliance-monitor.timer", "Timer")
    assert timer == ["OnBootSec=1min", "OnUnitActiveSec=1min", "AccuracySec=5s"]


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_finds_nothing_wrong_with_them(units):
    done = subprocess.run([ANALYZE, "verify", "--man=no", "--generators=no",
                           *(str(units / name) for name in UNITS)],
                          capture_output=True, text=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    problems = [line for line in output.splitlines() if re.search(
        r"Unknown|Failed to parse|Invalid|Missing|bad unit file|not valid|ignoring|"
        r"not executable|No such file", line)]
    assert problems == [], output
