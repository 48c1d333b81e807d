"""``manage.py backup`` through the real helper (run as a child process, as root in the tests):
it prints what was made, and the helper's refusal becomes the command's error."""

from __future__ import annotations

import re
from io import StringIO

import pyrage
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appliance.deploy.management.commands.backup import size_words
from appliance.helper.tests.backup_fixtures import BackupHost, populate

pytestmark = pytest.mark.unit


@pytest.fixture
def host(tmp_path, monkeypatch, settings):
    made = BackupHost(tmp_path, tmp_path / "layout.json", monkeypatch, keep=1)
    settings.APPLIANCE_LAYOUT = str(made.layout_file)
    settings.APPLIANCE_HELPER = ["direct"]
    db = populate(made)
    yield made
    db.close()


def backup() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("backup", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_the_archive_made_and_its_size(host):
    out, err = backup()
    first = out.splitlines()[0]
    name = re.fullmatch(r"changed: (appliance-[a-z0-9-]+-\S+\.tar\.gz\.age) \((.+)\)", first)
    assert name, out
    archive = host.backups / name[1]
    assert size_words(archive.stat().st_size) == name[2]
    assert pyrage.decrypt(archive.read_bytes(), [host.identity])
    assert f"in {host.backups}/: 12 files" in out
    assert err == f"  left out {host.data}/console/stolen.pem: a link, or not readable\n"


def test_it_names_the_older_archive_it_removed(host):
    first, _ = backup()
    second, _ = backup()
    old = first.split()[1]
    assert f"  removed the older {old}" in second.splitlines()
    assert host.archives() == [second.split()[1]]


def test_the_helpers_refusal_is_the_commands_error(host):
    host.write_layout(recipients=[])
    with pytest.raises(CommandError, match="no backup was made: backups are off on this host"):
        backup()


@pytest.mark.parametrize(("size", "words"), [
    (512, "512 bytes"), (2048, "2.0 KiB"), (5 * 1024 * 1024 + 1, "5.0 MiB"),
    (3 << 30, "3.0 GiB")])
def test_sizes_are_in_words(size, words):
    assert size_words(size) == words
