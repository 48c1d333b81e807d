"""The appliance role's backup and restore variables, through Ansible on the controller alone: its
checks (meta/argument_specs.yml, tasks/validate.yml, as site.yml's preflight runs them) name a bad
variable before anything changes, and the layout.json it writes is one the root helper accepts,
with the timer the role installs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyrage
import pytest
import yaml

from appliance.helper import backup_store

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "appliance"
RECIPIENT = str(pyrage.x25519.Identity.generate().to_public())


def play(tmp_path: Path, **variables) -> subprocess.CompletedProcess:
    """validate.yml with the role's arguments checked, then the role's layout and backup units
    rendered into ``tmp_path``."""
    units = ["appliance-backup.service", "appliance-backup.timer"]
    tasks = [
        # public: the role's defaults and vars, for the templates after it
        {"name": "Check", "ansible.builtin.include_role": {
            "name": "appliance", "tasks_from": "validate", "public": True}},
        {"name": "Layout", "ansible.builtin.template": {
            "src": str(ROLE / "templates/etc/appliance/layout.json.j2"),
            "dest": str(tmp_path / "layout.json"), "mode": "0644"}},
        {"name": "Units", "loop": units, "ansible.builtin.template": {
            "src": str(ROLE / "templates/etc/systemd/system") + "/{{ item }}.j2",
            "dest": str(tmp_path) + "/{{ item }}", "mode": "0644"}},
    ]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars": {"ansible_managed": "managed", "ansible_python_interpreter": sys.executable},
        "tasks": tasks}]))
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({"appliance_domain": "example.org",
                                 "appliance_certificate_authority": "internal", **variables}))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
         str(playbook), "-e", f"@{extra}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_layout_the_role_writes_is_one_the_helper_accepts(tmp_path):
    done = play(tmp_path, appliance_backup_recipients=[RECIPIENT], appliance_backup_keep=3,
                appliance_backup_s3_bucket="my-backups", appliance_backup_s3_prefix="web/",
                appliance_backup_on_calendar="*-*-* 03:30")
    assert done.returncode == 0, done.stdout + done.stderr
    layout = json.loads((tmp_path / "layout.json").read_text())
    assert backup_store.settings(layout) == backup_store.Settings(
        dir="/var/backups/appliance", recipients=(RECIPIENT,), passphrase_file="", keep=3,
        s3_bucket="my-backups", s3_prefix="web/")
    timer = (tmp_path / "appliance-backup.timer").read_text()
    assert "OnCalendar=*-*-* 03:30\n" in timer and "Persistent=true\n" in timer
    service = (tmp_path / "appliance-backup.service").read_text()
    assert "User=appliance\n" in service and "-m django backup\n" in service
    assert "s3://my-backups/web/" in service


def test_without_a_recipient_the_helper_says_backups_are_off(tmp_path):
    done = play(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    layout = json.loads((tmp_path / "layout.json").read_text())
    with pytest.raises(backup_store.Failure, match="backups are off"):
        backup_store.settings(layout)


def test_a_passphrase_is_named_by_its_root_only_file_never_written_into_the_layout(tmp_path):
    done = play(tmp_path, appliance_backup_passphrase="correct horse battery staple")
    assert done.returncode == 0, done.stdout + done.stderr
    text = (tmp_path / "layout.json").read_text()
    assert "correct horse" not in text and "correct horse" not in done.stdout
    assert backup_store.settings(json.loads(text)).passphrase_file == \
        "/etc/appliance/backup-passphrase"


@pytest.mark.parametrize(("variables", "named"), [
    ({"appliance_backup_recipients": ["age1notakey"]}, "appliance_backup_recipients"),
    ({"appliance_backup_recipients": RECIPIENT}, "appliance_backup_recipients"),
    ({"appliance_backup_keep": 0}, "appliance_backup_keep"),
    ({"appliance_backup_keep": "often"}, "appliance_backup_keep"),
    ({"appliance_backup_s3_bucket": "Not_A_Bucket"}, "appliance_backup_s3_bucket"),
    ({"appliance_backup_s3_prefix": "/leading"}, "appliance_backup_s3_prefix"),
    ({"appliance_backup_passphrase": "short"}, "appliance_backup_passphrase"),
    ({"appliance_backup_passphrase": "correct horse battery staple",
      "appliance_backup_recipients": [RECIPIENT]}, "appliance_backup_passphrase"),
    ({"appliance_restore_from": "/nonexistent/backup.age",
      "appliance_restore_identity": "AGE-SECRET-KEY-1X"}, "appliance_restore_from"),
])
def test_a_bad_backup_or_restore_variable_is_named(tmp_path, variables, named):
    done = play(tmp_path, **variables)
    assert done.returncode != 0
    assert f"{named}:" in done.stdout or f"{named} " in done.stdout, done.stdout
    assert not (tmp_path / "layout.json").exists()


def test_a_restore_needs_its_identity_and_never_shows_it(tmp_path):
    archive = tmp_path / "backup.age"
    archive.write_bytes(b"age-encryption.org/v1\n")
    done = play(tmp_path, appliance_restore_from=str(archive))
    assert done.returncode != 0 and "appliance_restore_identity" in done.stdout
    done = play(tmp_path, appliance_restore_from=str(archive),
                appliance_restore_identity="AGE-SECRET-KEY-1SHOULDNEVERBESHOWN")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SHOULDNEVERBESHOWN" not in done.stdout + done.stderr
