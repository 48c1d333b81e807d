"""The helper with the real tools (caddy validate, sh -n, visudo) on a temporary root: install,
backups, removal, restore, and SysV service control with stand-in init scripts."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from appliance.deploy import helper, revisions
from appliance.render.layout import paths_under, write_layout

pytestmark = pytest.mark.integration

CADDYFILE = '{\n\tadmin off\n}\n\nhttp://example.localhost:8080 {\n\trespond "hi"\n}\n'
HEX = "cd" * 32


@pytest.fixture
def host(tmp_path, monkeypatch):
    paths = paths_under(tmp_path / "root", caddy="/usr/bin/caddy")
    layout = tmp_path / "layout.json"
    write_layout(layout, paths, init_flavour="sysv")
    monkeypatch.setenv("APPLIANCE_LAYOUT", str(layout))
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.delenv("SUDO_UID", raising=False)
    return paths


def rec(content, mode=0o644, secret=False, check=""):
    return {"content": content, "mode": mode, "owner": "root", "group": "root",
            "secret": secret, "check": check}


def script(name: str, paths, status: int = 3, start: str = "echo started") -> str:
    """A stand-in init script that records what it was asked to do."""
    marker = f"{paths.run_dir}/{name}.calls"
    return (f"#!/bin/sh\nmkdir -p {paths.run_dir}\necho \"$1\" >> {marker}\n"
            f"case \"$1\" in\nstatus) exit {status} ;;\nstart|restart) {start} ;;\nesac\n")


def base_files(paths) -> dict:
    return {
        paths.caddyfile: rec(CADDYFILE),
        paths.sudoers: rec(f"appliance ALL=(root) NOPASSWD: {paths.helper}\n", 0o440),
        f"{paths.config_dir}/skills/quiz.env": rec('KEY="s3cret"\n', 0o640, secret=True),
        f"{paths.initd_dir}/alexa-skill-quiz": rec(script("alexa-skill-quiz", paths), 0o755,
                                                   check="sh"),
        f"{paths.cache_dir}/skills/quiz/{HEX}.pem": rec("-----BEGIN CERTIFICATE-----\n"),
    }


def call(capsys, *argv) -> tuple[int, dict]:
    code = helper.main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def install(capsys, paths, number, files) -> tuple[int, dict]:
    return call(capsys, "install", revisions.write_staging(paths.data_dir, number, files))


def test_install_backs_up_replaces_removes_and_restores(capsys, host):
    files = base_files(host)
    code, answer = install(capsys, host, 1, files)
    assert code == 0, answer
    assert sorted(answer["added"]) == sorted(files) and answer["removed"] == []
    assert set(answer["validated"]) >= {host.caddyfile, host.sudoers}
    env = Path(f"{host.config_dir}/skills/quiz.env")
    assert env.read_text() == 'KEY="s3cret"\n' and stat.S_IMODE(env.stat().st_mode) == 0o640
    assert stat.S_IMODE(os.stat(host.sudoers).st_mode) == 0o440
    state = Path(host.data_dir, "helper-state.json")
    assert stat.S_IMODE(state.stat().st_mode) == 0o600 and state.stat().st_uid == 0
    assert stat.S_IMODE(Path(host.data_dir, "backups").stat().st_mode) == 0o700

    # Revision 2: the Caddyfile changes, the skill goes away (its script is stopped first).
    second = {host.caddyfile: rec(CADDYFILE.replace("hi", "hello")),
              host.sudoers: files[host.sudoers]}
    code, answer = install(capsys, host, 2, second)
    assert code == 0, answer
    assert answer["changed"] == [host.caddyfile]
    assert sorted(answer["removed"]) == sorted(set(files) - set(second))
    assert answer["notes"] == ["stopped alexa-skill-quiz"]
    assert Path(host.run_dir, "alexa-skill-quiz.calls").read_text() == "stop\n"
    assert not env.exists() and "hello" in Path(host.caddyfile).read_text()
    backup = Path(host.data_dir, "backups/2")
    assert (backup / ("files" + host.caddyfile)).read_text() == CADDYFILE
    assert (backup / ("files" + str(env))).read_text() == 'KEY="s3cret"\n'

    # Unchanged files are not rewritten.
    code, answer = install(capsys, host, 3, second)
    assert (answer["changed"], answer["added"], answer["removed"]) == ([], [], [])

    code, answer = call(capsys, "restore", "2")
    assert code == 0, answer
    assert Path(host.caddyfile).read_text() == CADDYFILE and env.exists()
    assert json.loads(Path(host.data_dir, "helper-state.json").read_text())["revision"] == 1

    code, answer = call(capsys, "restore", "1")  # before revision 1 there was nothing
    assert code == 0 and not Path(host.caddyfile).exists() and not env.exists()
    assert call(capsys, "restore", "99") == (1, {"ok": False,
                                                "message": "there is no backup for revision 99"})


def test_a_caddyfile_caddy_rejects_installs_nothing(capsys, host):
    files = base_files(host)
    files[host.caddyfile] = rec(CADDYFILE + "\nhttp://x.localhost {\n\tno_such_thing\n}\n")
    code, answer = install(capsys, host, 1, files)
    assert code == 1 and answer["tool"] == "caddy validate"
    assert answer["message"].startswith(f"{host.caddyfile} failed caddy validate: ")
    assert "no_such_thing" in answer["message"] and "appliance-caddy" not in answer["message"]
    assert not any(Path(path).exists() for path in files)
    assert not Path(host.data_dir, "backups/1").exists()


def test_a_script_sh_rejects_installs_nothing(capsys, host):
    files = base_files(host)
    path = f"{host.initd_dir}/alexa-skill-quiz"
    files[path] = rec("#!/bin/sh\nif then fi\n", 0o755, check="sh")
    code, answer = install(capsys, host, 1, files)
    assert code == 1 and answer["tool"] == "sh -n" and answer["file"] == path
    assert path in answer["output"] and not Path(host.caddyfile).exists()


def test_state_and_backups_the_admin_could_have_made_are_refused(capsys, host):
    assert install(capsys, host, 1, base_files(host))[0] == 0
    state = Path(host.data_dir, "helper-state.json")
    os.chown(state, 65534, 65534)
    code, answer = install(capsys, host, 2, base_files(host))
    assert code == 1 and "not root's own file" in answer["message"]
    os.chown(state, 0, 0)
    os.chmod(Path(host.data_dir, "backups"), 0o777)
    code, answer = call(capsys, "restore", "1")
    assert code == 1 and "not root's private directory" in answer["message"]


def test_sysv_service_control_and_logs(capsys, host):
    initd = Path(host.initd_dir)
    initd.mkdir(parents=True)
    for name, status, start in (("caddy", 3, "echo started"), ("alexa-skill-quiz", 0, "exit 1")):
        (initd / name).write_text(script(name, host, status, start))
        (initd / name).chmod(0o755)
    assert call(capsys, "service", "status", "alexa-skill-quiz")[1]["state"] == "active"
    assert call(capsys, "service", "status", "caddy")[1]["state"] == "inactive"
    assert call(capsys, "service", "status", "alexa-skill-gone")[1]["state"] == "inactive"
    code, answer = call(capsys, "service", "restart", "alexa-skill-quiz")
    assert code == 1 and answer["message"].startswith("restart alexa-skill-quiz failed (exit 1)")
    code, answer = call(capsys, "service", "enable", "alexa-skill-quiz")
    assert code == 0 and "not linked" in answer["message"]  # scripts outside /etc/init.d
    assert call(capsys, "daemon-reload")[0] == 0
    code, answer = call(capsys, "reload-caddy")
    assert (code, answer["action"]) == (0, "start")  # not running: started
    assert Path(host.run_dir, "caddy.calls").read_text() == "status\nstatus\nstart\n"
    log = Path(host.log_dir, "alexa-skill-quiz.log")
    log.parent.mkdir(parents=True)
    log.write_text("INFO skills.serve: one\nERROR skills.runtime: two\n")
    code, answer = call(capsys, "logs", "alexa-skill-quiz", "--lines", "1")
    assert answer["entries"] == [{"time": "", "level": "error",
                                  "message": "ERROR skills.runtime: two"}]
