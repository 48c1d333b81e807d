"""Reading systemd's accounting: every value systemd may print, and systemctl itself run as a
process (a stand-in on PATH where the real one is, since systemd cannot run here)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from pathlib import Path

import pytest

from appliance.monitor import systemd

from . import show_samples

pytestmark = pytest.mark.unit

NOW = dt.datetime(2024, 12, 2, 4, 0, tzinfo=dt.UTC)
MONOTONIC = 5000.0 + 3 * 3600  # seconds: the service became active 3 hours ago
UNITS = ["alexa-skill-memory-game.service", "alexa-skill-lazy.service",
         "alexa-skill-gone.service", "alexa-skill-broken.service"]


def parsed() -> dict[str, systemd.Reading]:
    return systemd.parse(show_samples.ALL, UNITS, NOW, MONOTONIC)


def test_a_running_service_has_its_memory_cpu_restarts_and_start():
    running = parsed()["alexa-skill-memory-game.service"]
    assert running == systemd.Reading(
        load_state="loaded", active_state="active", sub_state="running", memory=44040192,
        memory_peak=None, cpu_ns=1520000000, restarts=2,
        active_since=NOW - dt.timedelta(hours=3))


def test_not_set_and_empty_values_are_none_never_a_number():
    stopped, gone = parsed()["alexa-skill-lazy.service"], parsed()["alexa-skill-gone.service"]
    assert (stopped.memory, stopped.cpu_ns, stopped.active_since) == (None, None, None)
    assert stopped.restarts == 0 and not stopped.active
    assert gone.load_state == "not-found" and gone.memory is None


def test_a_service_between_restarts_has_no_start_time():
    broken = parsed()["alexa-skill-broken.service"]
    assert (broken.active_state, broken.sub_state, broken.restarts) == (
        "activating", "auto-restart", 7)
    assert broken.active_since is None


def test_systemd_254_reports_its_own_peak():
    reading = systemd.parse(show_samples.WITH_PEAK, UNITS[:1], NOW, MONOTONIC)[UNITS[0]]
    assert (reading.memory, reading.memory_peak) == (44040192, 73400320)


def test_without_a_monotonic_start_the_wall_clock_start_is_read():
    text = show_samples.RUNNING.replace("ActiveEnterTimestampMonotonic=5000000000",
                                        "ActiveEnterTimestampMonotonic=0")
    reading = systemd.parse(text, UNITS[:1], NOW, MONOTONIC)[UNITS[0]]
    assert reading.active_since == dt.datetime(2024, 12, 2, 3, 7, tzinfo=dt.UTC)


@pytest.mark.parametrize("value", ["[not set]", "", "infinity", "18446744073709551615", "-1",
                                   "12abc", "9" * 40, " "])
def test_odd_values_read_as_none(value):
    assert systemd.number(value) is None


def test_a_unit_systemd_did_not_mention_reads_empty():
    readings = systemd.parse(show_samples.RUNNING, ["alexa-skill-other.service"], NOW, MONOTONIC)
    assert readings == {"alexa-skill-other.service": systemd.Reading()}


# --- systemctl as a process ------------------------------------------------------------------

@pytest.fixture
def fake_systemctl(tmp_path, monkeypatch):
    """A systemctl on PATH that records its argv and TZ and prints ``answer``."""
    answer = tmp_path / "answer"
    script = tmp_path / "bin" / "systemctl"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\necho \"$TZ $*\" > {tmp_path}/argv\ncat {answer}\n"
                      f"exit ${{EXIT:-0}}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    answer.write_text(show_samples.ALL)
    return tmp_path


def test_one_systemctl_call_for_every_unit(fake_systemctl):
    readings = systemd.read(UNITS)
    argv = (fake_systemctl / "argv").read_text().split()
    assert argv[0] == "UTC"  # the wall-clock timestamps come in UTC
    assert argv[1:] == ["show", "--property=" + ",".join(systemd.PROPERTIES), *UNITS]
    assert readings["alexa-skill-memory-game.service"].memory == 44040192
    assert readings["alexa-skill-gone.service"].load_state == "not-found"


def test_no_units_no_call(fake_systemctl):
    assert systemd.read([]) == {}
    assert not (fake_systemctl / "argv").exists()


def test_a_failing_systemctl_is_an_error_in_words(fake_systemctl, monkeypatch):
    (fake_systemctl / "answer").write_text("Failed to connect to bus: No such file or directory\n")
    monkeypatch.setenv("EXIT", "1")
    with pytest.raises(systemd.SystemdError, match="systemctl show failed: Failed to connect"):
        systemd.read(UNITS)


def test_no_systemctl_at_all_is_an_error_in_words(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(systemd.SystemdError, match="does not run systemd"):
        systemd.read(UNITS)


@pytest.mark.skipif(Path("/run/systemd/system").is_dir() or not shutil.which("systemctl"),
                    reason="the real systemctl without systemd running: only where it does not")
def test_the_real_systemctl_without_systemd_is_an_error_in_words():
    with pytest.raises(systemd.SystemdError, match="systemctl show failed"):
        systemd.read(UNITS)
