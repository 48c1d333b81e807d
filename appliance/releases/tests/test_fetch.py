"""Fetching a release's code: git over ssh with the skill's deploy key and nothing else of the
admin's, zips checked entry by entry, and the deploy key command.

There is no ssh server on this machine: ``ssh`` is replaced by a stand-in that checks what git
hands it (the key file, its mode, the options) and then runs the remote command here, as sshd
would on the repository's host, so git speaks its real protocol over it."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from appliance.catalogue.models import Skill
from appliance.releases import fetch, keys
from appliance.releases.models import DeployKey

from .conftest import Repository, skill_files

FAKE_SSH = '''#!{python}
"""ssh as git runs it: options, the host, then the command for the remote side."""
import json, os, stat, sys
args = sys.argv[1:]
key = args[args.index("-i") + 1] if "-i" in args else None
record = {{"args": args, "key": open(key).read() if key else None,
          "mode": stat.S_IMODE(os.stat(key).st_mode) if key else None}}
with open({record!r}, "w") as out:
    json.dump(record, out)
if {refuse!r}:
    sys.stderr.write("git@example.org: Permission denied (publickey).\\n")
    sys.exit(255)
os.execvp("sh", ["sh", "-c", args[-1]])
'''


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    def make(refuse: bool = False) -> Path:
        record = tmp_path / "ssh.json"
        program = tmp_path / "ssh"
        program.write_text(FAKE_SSH.format(python=sys.executable, record=str(record),
                                           refuse=refuse))
        program.chmod(0o755)
        monkeypatch.setattr(fetch, "SSH", str(program))
        return record
    return make


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "repo").mkdir()
    repository = Repository(tmp_path / "repo")
    repository.commit(skill_files(), tag="v1")
    return repository


def test_an_ssh_fetch_uses_the_skill_s_deploy_key_only_while_it_runs(db, settings, tmp_path,
                                                                      fake_ssh, repo):
    settings.APPLIANCE_DATA_DIR = tmp_path / "data"
    record = fake_ssh()
    skill = Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8198)
    key, _ = keys.deploy_key(skill)
    commit = fetch.git_fetch(f"ssh://git@example.org{repo.path}", "v1", tmp_path / "code",
                             key_pem=keys.private_key(skill), log=lambda line: None)
    assert commit == repo.git("rev-parse", "v1")
    assert (tmp_path / "code/app.py").is_file() and not (tmp_path / "code/.git").exists()
    seen = json.loads(record.read_text())
    assert seen["key"] == key.private_key and seen["mode"] == 0o600
    for option in ("BatchMode=yes", "IdentitiesOnly=yes", "StrictHostKeyChecking=accept-new"):
        assert option in seen["args"]
    assert "git@example.org" in seen["args"]
    assert not Path(seen["args"][seen["args"].index("-i") + 1]).exists()  # gone afterwards


def test_a_key_the_repository_refuses_is_told(db, settings, tmp_path, fake_ssh, repo):
    settings.APPLIANCE_DATA_DIR = tmp_path / "data"
    fake_ssh(refuse=True)
    with pytest.raises(fetch.FetchError, match="refused the skill's deploy key"):
        fetch.git_fetch("git@example.org:quiz.git", "", tmp_path / "code", key_pem="x",
                        log=lambda line: None)


@pytest.mark.parametrize(("entries", "words"), [
    ({"/etc/cron.d/x": "x"}, "absolute path"),
    ({"quiz/../../x": "x"}, "points outside the skill"),
    ({"C:/x": "x"}, "absolute path"),
])
def test_a_zip_that_would_write_outside_is_refused_whole(tmp_path, entries, words):
    upload = tmp_path / "x.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr("app.py", "")
        for name, text in entries.items():
            archive.writestr(name, text)
    with pytest.raises(fetch.FetchError, match=words):
        fetch.unzip(upload, tmp_path / "code", log=lambda line: None)
    assert not (tmp_path / "code").exists()


def test_a_link_in_a_zip_is_refused(tmp_path):
    upload = tmp_path / "x.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        link = zipfile.ZipInfo("secrets")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/shadow")
    with pytest.raises(fetch.FetchError, match="is a symbolic link"):
        fetch.unzip(upload, tmp_path / "code", log=lambda line: None)


def test_the_deploy_key_command_prints_the_public_half(db):
    Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8199)
    out = io.StringIO()
    call_command("skill_deploy_key", "quiz", stdout=out)
    first, public = out.getvalue().splitlines()
    assert first == "changed: deploy key of quiz" and public.startswith("ssh-ed25519 ")
    assert "PRIVATE" not in out.getvalue()
    out = io.StringIO()
    call_command("skill_deploy_key", "quiz", stdout=out)
    assert out.getvalue().splitlines() == ["unchanged: deploy key of quiz", public]
    call_command("skill_deploy_key", "quiz", "--new", stdout=io.StringIO())
    assert DeployKey.objects.get().public_key != public
    with pytest.raises(CommandError, match="there is no skill nope"):
        call_command("skill_deploy_key", "nope")
    assert os.environ.get("GIT_SSH_COMMAND") is None  # nothing leaked into the admin's own
