"""``status-all``: every managed service's state from one helper call.

systemd's side is parsed from ``systemctl show`` output as systemd 252 prints it (no systemd runs
here: the samples stand in for it); the SysV side reads real pid files of real processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.helper import services as services_module
from appliance.helper.install import Failure
from appliance.helper.services import Services, fold_states, parse_show, pid_file_state
from appliance.render.layout import paths_under

from .fakes import call_helper as main
from .fakes import helper_layout

pytestmark = pytest.mark.unit

# `systemctl show --property=Id,LoadState,ActiveState,SubState,UnitFileState caddy.service ...`
# One block per unit, an empty line between blocks; properties in the bus's order.
SHOW = """\
Id=appliance-admin.service
LoadState=loaded
ActiveState=active
SubState=running
UnitFileState=enabled

Id=appliance-duckdns.timer
LoadState=loaded
ActiveState=active
SubState=waiting
UnitFileState=enabled

Id=caddy.service
LoadState=loaded
ActiveState=reloading
SubState=reload
UnitFileState=enabled

Id=alexa-skill-memory-game.service
LoadState=loaded
ActiveState=active
SubState=running
UnitFileState=enabled

Id=alexa-skill-broken.service
LoadState=loaded
ActiveState=failed
SubState=failed
UnitFileState=enabled

Id=alexa-skill-lazy.service
LoadState=loaded
ActiveState=inactive
SubState=dead
UnitFileState=static

Id=alexa-skill-lazy.socket
LoadState=loaded
ActiveState=active
SubState=listening
UnitFileState=enabled

Id=alexa-skill-looping.service
LoadState=loaded
ActiveState=activating
SubState=auto-restart
UnitFileState=enabled

Id=alexa-skill-off.service
LoadState=loaded
ActiveState=inactive
SubState=dead
UnitFileState=disabled

Id=alexa-skill-off.socket
LoadState=loaded
ActiveState=inactive
SubState=dead
UnitFileState=disabled

Id=alexa-skill-gone.service
LoadState=not-found
ActiveState=inactive
SubState=dead
UnitFileState=
"""


def test_parse_show_reads_one_block_per_unit():
    units = parse_show(SHOW)
    assert len(units) == 11
    assert units["caddy.service"] == {"Id": "caddy.service", "LoadState": "loaded",
                                      "ActiveState": "reloading", "SubState": "reload",
                                      "UnitFileState": "enabled"}
    assert units["alexa-skill-gone.service"]["UnitFileState"] == ""


def test_parse_show_tolerates_warnings_a_missing_blank_line_and_any_property_order():
    output = ("Warning: The unit file, source configuration file or drop-ins of caddy.service "
              "changed on disk. Run 'systemctl daemon-reload' to reload units.\n"
              "ActiveState=active\nId=caddy.service\nSubState=running\n"
              "Id=alexa-skill-a.service\nActiveState=failed\n"  # no empty line before it
              "\n\n"
              "SomethingElse=1\nActiveState=inactive\n"  # a block without an Id: dropped
              "\nId=alexa-skill-b.service\nActiveState=inactive")  # no final newline
    units = parse_show(output)
    assert units == {
        "caddy.service": {"Id": "caddy.service", "ActiveState": "active", "SubState": "running"},
        "alexa-skill-a.service": {"Id": "alexa-skill-a.service", "ActiveState": "failed"},
        "alexa-skill-b.service": {"Id": "alexa-skill-b.service", "ActiveState": "inactive"},
    }


def test_a_unit_named_twice_keeps_its_first_block():
    # A literal name and a glob may both name a unit.
    output = "Id=caddy.service\nActiveState=active\n\nId=caddy.service\nActiveState=failed\n"
    assert parse_show(output)["caddy.service"]["ActiveState"] == "active"


def test_fold_states_in_the_uis_words():
    assert fold_states(parse_show(SHOW)) == {
        "alexa-skill-broken": "failed",
        "alexa-skill-gone": "stopped",
        "alexa-skill-lazy": "idle",
        "alexa-skill-looping": "failed",
        "alexa-skill-memory-game": "running",
        "alexa-skill-off": "stopped",
        "appliance-admin": "running",
        "appliance-duckdns.timer": "running",
        "caddy": "running",
    }


def test_a_failed_socket_is_a_failed_skill_and_a_running_service_wins_over_its_socket():
    def unit(uid, active, sub=""):
        return {uid: {"Id": uid, "ActiveState": active, "SubState": sub}}

    units = {**unit("alexa-skill-a.service", "inactive", "dead"),
             **unit("alexa-skill-a.socket", "failed", "failed"),
             **unit("alexa-skill-b.service", "active", "running"),
             **unit("alexa-skill-b.socket", "active", "running"),
             **unit("alexa-skill-c.socket", "active", "listening")}  # service not loaded
    assert fold_states(units) == {"alexa-skill-a": "failed", "alexa-skill-b": "running",
                                  "alexa-skill-c": "idle"}


def test_units_the_helper_does_not_manage_are_left_out():
    units = parse_show("Id=sshd.service\nActiveState=active\n\n"
                       "Id=alexa-skill-Bad_Name.service\nActiveState=active\n\n"
                       "Id=alexa-skill-a.mount\nActiveState=active\n\n"
                       "Id=alexa-skill-x.service\nActiveState=maintenance\n")
    assert fold_states(units) == {"alexa-skill-x": "unknown"}


# --- the backend, systemd side (systemctl stubbed) ------------------------------------------

def systemd_services(tmp_path, monkeypatch, answer):
    paths = paths_under(tmp_path / "root")
    systemd_dir = tmp_path / "root/etc/systemd/system"
    systemd_dir.mkdir(parents=True)
    for name in ("alexa-skill-memory-game.service", "alexa-skill-lazy.service",
                 "alexa-skill-lazy.socket", "appliance-admin.service", "README",
                 "alexa-skill-..service"):
        (systemd_dir / name).write_text("[Unit]\n")
    (systemd_dir / "multi-user.target.wants").mkdir()
    calls = []

    def run_tool(argv, timeout=60, **kwargs):
        calls.append(argv)
        return answer

    monkeypatch.setattr(services_module, "run_tool", run_tool)
    return Services(paths, {"init_flavour": "systemd"}), calls


def test_systemd_status_all_is_one_systemctl_show(tmp_path, monkeypatch):
    services, calls = systemd_services(tmp_path, monkeypatch, (0, SHOW))
    answer = services.status_all()
    assert answer["ok"] and answer["units"]["alexa-skill-lazy"] == "idle"
    assert answer["units"]["caddy"] == "running"
    assert len(calls) == 1
    argv = calls[0]
    assert argv[:3] == ["systemctl", "show",
                        "--property=Id,LoadState,ActiveState,SubState,UnitFileState"]
    assert argv[3:] == ["appliance-admin.service", "appliance-duckdns.timer", "caddy.service",
                        "alexa-skill-lazy.service", "alexa-skill-lazy.socket",
                        "alexa-skill-memory-game.service",
                        "alexa-skill-*.service", "alexa-skill-*.socket"]


def test_systemd_status_all_fails_in_words_when_systemctl_does(tmp_path, monkeypatch):
    services, _ = systemd_services(tmp_path, monkeypatch, (
        1, "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
           "Failed to connect to bus: Host is down"))
    with pytest.raises(Failure, match=r"systemctl show failed \(exit 1\): System has not been"):
        services.status_all()


# --- the backend, SysV side (real pid files, real processes) --------------------------------

@pytest.fixture
def sysv(tmp_path):
    paths = paths_under(tmp_path / "root")
    initd, run = tmp_path / "root/etc/init.d", tmp_path / "root/run/appliance"
    initd.mkdir(parents=True)
    run.mkdir(parents=True)
    for name in ("caddy", "appliance-admin", "alexa-skill-alive", "alexa-skill-dead",
                 "alexa-skill-never", "alexa-skill-zombie", "rsync"):
        (initd / name).write_text("#!/bin/sh\n")
    return paths, run


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sysv_status_all_reads_the_pid_files(sysv, tmp_path):
    paths, run = sysv
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # exits, not reaped: a zombie
    try:
        deadline = time.monotonic() + 10
        while b") Z" not in Path(f"/proc/{zombie.pid}/stat").read_bytes():
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.02)
        (run / "caddy.pid").write_text(f"{os.getpid()}\n")
        (run / "alexa-skill-alive.pid").write_text(f"{os.getpid()}\n")
        (run / "alexa-skill-dead.pid").write_text(f"{dead_pid()}\n")
        (run / "alexa-skill-zombie.pid").write_text(f"{zombie.pid}\n")
        (run / "alexa-skill-gone.pid").write_text(f"{os.getpid()}\n")  # script already removed
        (run / "alexa-skill-garbage.pid").write_text("12ab\n")
        (run / "sshd.pid").write_text(f"{os.getpid()}\n")
        answer = Services(paths, {"init_flavour": "sysv"}).status_all()
    finally:
        zombie.wait()
    assert answer["units"] == {
        "alexa-skill-alive": "running",
        "alexa-skill-dead": "failed",
        "alexa-skill-garbage": "failed",
        "alexa-skill-gone": "running",
        "alexa-skill-never": "stopped",
        "alexa-skill-zombie": "failed",
        "appliance-admin": "stopped",
        "appliance-duckdns.timer": "stopped",
        "caddy": "running",
    }


def test_sysv_duckdns_runs_when_its_cron_file_is_there(sysv, tmp_path):
    paths, _ = sysv
    cron = tmp_path / "root/etc/cron.d"
    cron.mkdir(parents=True)
    (cron / "appliance-duckdns").write_text("*/5 * * * * root true\n")
    units = Services(paths, {"init_flavour": "sysv"}).status_all()["units"]
    assert units["appliance-duckdns.timer"] == "running"


def test_a_host_with_nothing_installed_yet_answers_with_the_timer_only(tmp_path):
    paths = paths_under(tmp_path / "empty")
    assert Services(paths, {"init_flavour": "sysv"}).status_all()["units"] == {
        "appliance-duckdns.timer": "stopped"}


def test_a_pid_file_that_is_not_a_file_is_unknown(tmp_path):
    os.symlink("/etc/hostname", tmp_path / "x.pid")  # never followed
    assert pid_file_state(str(tmp_path / "x.pid")) == "unknown"
    assert pid_file_state(str(tmp_path / "none.pid")) == "stopped"


# --- the command line ------------------------------------------------------------------------

@pytest.fixture
def layout(sysv, tmp_path, monkeypatch):
    paths, run = sysv
    helper_layout(tmp_path / "layout.json", paths, monkeypatch)
    return run


@pytest.mark.parametrize("extra", [["caddy"], ["--all"], [""], ["alexa-skill-*"]])
def test_status_all_takes_no_argument(capsys, layout, extra):
    code, answer = main(capsys, "status-all", *extra)
    assert (code, answer["ok"], answer.get("refused")) == (2, False, True)
    assert "wrong number of arguments" in answer["message"]


def test_status_all_answers_one_json_object(capsys, layout):
    (layout / "caddy.pid").write_text(f"{os.getpid()}\n")
    code, answer = main(capsys, "status-all")
    assert code == 0 and answer["ok"]
    assert answer["units"]["caddy"] == "running"
    assert answer["units"]["alexa-skill-alive"] == "stopped"


def test_the_usage_names_status_all(capsys, layout):
    assert "status-all" in main(capsys, "nonsense")[1]["message"]
