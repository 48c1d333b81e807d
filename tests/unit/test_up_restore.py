"""``up.py --restore FILE``: the backup's path reaches site.yml as appliance_restore_from (the
identity never on the command line: it is Vault's), and a missing file stops it before any host
is booted or launched."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "provisioning"))

import up  # provisioning/ is not a package

pytestmark = pytest.mark.unit


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "my backups" / "appliance-web-20250101T000000.000000Z.tar.gz.age"
    path.parent.mkdir()
    path.write_bytes(b"age-encryption.org/v1\n")
    return path


def test_a_missing_backup_stops_before_any_host_is_touched(monkeypatch, tmp_path):
    def never(*args, **kwargs):
        raise AssertionError("a host was booted or launched")

    monkeypatch.setattr(up, "up_local", never)
    monkeypatch.setattr(up, "up_aws", never)
    for target in ("local", "aws"):
        with pytest.raises(SystemExit, match=r"--restore .*nope\.age: no such file"):
            up.main(["--target", target, "--restore", str(tmp_path / "nope.age")])


def test_the_local_host_gets_the_backups_absolute_path(monkeypatch, archive):
    seen = {}
    monkeypatch.setattr(up, "up_local", lambda args, rest, restore: seen.update(restore) or 0)
    monkeypatch.chdir(archive.parent)
    assert up.main(["--restore", archive.name, "-v"]) == 0
    assert seen == {"appliance_restore_from": str(archive)}


def test_aws_passes_it_as_one_extra_variable_before_the_operators_own(monkeypatch, archive):
    commands = []
    monkeypatch.setattr(up, "run_playbook", lambda command: commands.append(command) or 0)
    assert up.main(["--target", "aws", "--restore", str(archive), "-e", "@vault.yml"]) == 0
    (command,) = commands
    first = command.index("-e")
    assert json.loads(command[first + 1]) == {"appliance_restore_from": str(archive)}
    assert command[first + 2:] == ["-e", "@vault.yml", "-e", "appliance_target=aws"]
    assert "AGE-SECRET-KEY" not in " ".join(command)
