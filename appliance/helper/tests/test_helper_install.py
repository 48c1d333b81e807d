"""The helper with the real tools (caddy validate, sh -n) on a temporary root: install from a
catalogue, backups, removal, restore, and SysV service control with stand-in init scripts."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from appliance.helper import cli as helper
from appliance.helper import install, wire
from appliance.render import render_all
from appliance.render.layout import paths_under, write_layout

from .fakes import ask_helper, wire_catalogue

pytestmark = pytest.mark.integration

LAYOUT = {"init_flavour": "sysv", "admin_user": "root", "skill_user": "root"}


@pytest.fixture
def host(tmp_path, monkeypatch):
    paths = paths_under(tmp_path / "root", caddy="/usr/bin/caddy")
    layout = tmp_path / "layout.json"
    write_layout(layout, paths, **LAYOUT)
    monkeypatch.setenv("APPLIANCE_LAYOUT", str(layout))
    return paths


def script(name: str, paths, status: int = 3, start: str = "echo started") -> str:
    """A stand-in init script that records what it was asked to do."""
    marker = f"{paths.run_dir}/{name}.calls"
    return (f"#!/bin/sh\nmkdir -p {paths.run_dir}\necho \"$1\" >> {marker}\n"
            f"case \"$1\" in\nstatus) exit {status} ;;\nstart|restart) {start} ;;\nesac\n")


def call(capsys, *argv) -> tuple[int, dict]:
    code = helper.main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def catalogue(**skill_fields) -> dict:
    data = wire_catalogue()
    data["skills"][0].update(skill_fields)
    return data


def send(capsys, monkeypatch, number, data, catalogue_id="c1") -> tuple[int, dict]:
    return ask_helper(capsys, monkeypatch, {"args": ["install", str(number)],
                                            "catalogue": data, "catalogue_id": catalogue_id})


def rendered(data, paths) -> dict[str, str]:
    cat = wire.from_wire(data, paths, LAYOUT, install.bundled_skills())
    return {f.path: f.content for f in render_all(cat)}


def test_install_writes_what_the_renderers_make_backs_up_removes_and_restores(
        capsys, monkeypatch, host):
    first = catalogue(templates="welcome: Hi!\n", secrets=[["API_KEY", "s3cret"]])
    code, answer = send(capsys, monkeypatch, 1, first)
    assert code == 0, answer
    files = rendered(first, host)
    assert sorted(answer["added"]) == sorted(files) and answer["removed"] == []
    for path, content in files.items():
        assert Path(path).read_text() == content  # byte for byte what the renderers make
    assert host.caddyfile in answer["validated"]
    env = Path(f"{host.config_dir}/skills/memory-game.env")
    assert 'API_KEY="s3cret"' in env.read_text() and stat.S_IMODE(env.stat().st_mode) == 0o640
    templates = Path(f"{host.config_dir}/skills/memory-game/templates.yaml")
    assert templates.read_text() == "welcome: Hi!\n"
    state = Path(host.data_dir, "helper-state.json")
    assert stat.S_IMODE(state.stat().st_mode) == 0o600 and state.stat().st_uid == 0
    assert stat.S_IMODE(Path(host.data_dir, "backups").stat().st_mode) == 0o700

    # Revision 2: the skill goes away; its folder of templates with it.
    second = {**first, "skills": []}
    code, answer = send(capsys, monkeypatch, 2, second)
    assert code == 0, answer
    assert answer["changed"] == [host.caddyfile]
    assert set(answer["removed"]) == set(files) - set(rendered(second, host))
    assert not env.exists() and not templates.parent.exists()
    backup = Path(host.data_dir, "backups/2")
    assert (backup / ("files" + str(env))).read_text() == files[str(env)]

    # Unchanged files are not rewritten.
    code, answer = send(capsys, monkeypatch, 3, second)
    assert (answer["changed"], answer["added"], answer["removed"]) == ([], [], [])

    code, answer = call(capsys, "restore", "2")
    assert code == 0, answer
    assert env.read_text() == files[str(env)] and templates.exists()
    assert call(capsys, "state")[1]["revision"] == 1

    code, answer = call(capsys, "restore", "1")  # before revision 1 there was nothing
    assert code == 0 and not Path(host.caddyfile).exists() and not env.exists()
    assert not templates.parent.exists()
    assert call(capsys, "restore", "99") == (1, {"ok": False,
                                                "message": "there is no backup for revision 99"})


def test_a_caddyfile_caddy_rejects_installs_nothing(capsys, monkeypatch, host, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    write_layout(tmp_path / "layout.json", host, **LAYOUT, caddy_storage=str(blocked))
    code, answer = send(capsys, monkeypatch, 1, catalogue())
    assert code == 1 and answer["tool"] == "caddy validate", answer
    assert answer["message"].startswith(f"{host.caddyfile} failed caddy validate: ")
    assert str(blocked) in answer["message"] and "appliance-caddy" not in answer["message"]
    assert not Path(host.caddyfile).exists() and not Path(host.initd_dir).exists()
    assert not Path(host.data_dir, "backups/1").exists()


def test_a_script_sh_rejects_is_refused_by_validation(host):
    path = f"{host.initd_dir}/alexa-skill-quiz"
    entry = {"path": path, "mode": 0o755, "owner": "root", "group": "root", "sha256": "",
             "check": "sh"}
    with pytest.raises(install.Failure) as caught:
        install.validate([entry], {path: b"#!/bin/sh\nif then fi\n"}, host)
    assert caught.value.details["tool"] == "sh -n" and caught.value.details["file"] == path
    assert path in caught.value.details["output"] and not Path(path).exists()


def test_state_and_backups_the_admin_could_have_made_are_refused(capsys, monkeypatch, host):
    assert send(capsys, monkeypatch, 1, catalogue())[0] == 0
    state = Path(host.data_dir, "helper-state.json")
    os.chown(state, 65534, 65534)
    code, answer = send(capsys, monkeypatch, 2, catalogue())
    assert code == 1 and "not root's own file" in answer["message"]
    os.chown(state, 0, 0)
    os.chmod(Path(host.data_dir, "backups"), 0o777)
    code, answer = call(capsys, "restore", "1")
    assert code == 1 and "not root's private directory" in answer["message"]


def test_a_backup_another_catalogue_made_is_kept(capsys, monkeypatch, host):
    """A reset database numbers its revisions from 1 again: revision 1 of the new catalogue
    must not cost the old catalogue's backup of revision 1."""
    assert send(capsys, monkeypatch, 1, catalogue(), catalogue_id="old")[0] == 0
    assert send(capsys, monkeypatch, 1, catalogue(threads=2), catalogue_id="new")[0] == 0
    backups = Path(host.data_dir, "backups")
    kept = [p for p in backups.iterdir() if p.name.startswith("1.kept-")]
    assert len(kept) == 1
    assert json.loads((kept[0] / "manifest.json").read_text())["catalogue"] == "old"
    assert json.loads((backups / "1/manifest.json").read_text())["catalogue"] == "new"
    # The same catalogue's revision again (an interrupted run) replaces its own leftover.
    assert send(capsys, monkeypatch, 1, catalogue(threads=3), catalogue_id="new")[0] == 0
    assert len([p for p in backups.iterdir() if p.name.startswith("1.kept-")]) == 1


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
