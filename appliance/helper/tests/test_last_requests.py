"""``last-requests``: each skill's newest request line, from one journalctl (systemd, stubbed:
no systemd runs here) or from each skill's log file (SysV, real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.helper import requestlog
from appliance.helper.install import Failure
from appliance.helper.policy import MAX_UNITS_ASKED
from appliance.render.layout import paths_under

from .fakes import call_helper as run
from .fakes import helper_layout, stub_journalctl

pytestmark = pytest.mark.unit

REQUEST = ("INFO skills.runtime.requests: request_id=amzn1.echo-api.request.{n} "
           "type={type} intent={intent} outcome=ok latency_ms={ms}")


def journal(unit: str, seconds: int, message: str) -> str:
    # What `journalctl -o json --output-fields=...` prints: the asked fields and the cursor's.
    return json.dumps({"__CURSOR": f"s=1;i={seconds}", "__REALTIME_TIMESTAMP":
                       str(seconds * 1_000_000), "__MONOTONIC_TIMESTAMP": "1",
                       "_BOOT_ID": "b", "PRIORITY": "6", "_SYSTEMD_UNIT": unit,
                       "MESSAGE": message})


JOURNAL = "\n".join([  # oldest first, as journalctl prints
    journal("alexa-skill-a.service", 1_700_000_000,
            REQUEST.format(n=1, type="LaunchRequest", intent="-", ms="3.0")),
    journal("alexa-skill-a.service", 1_700_000_001,
            REQUEST.format(n=2, type="IntentRequest", intent="AnswerIntent", ms="12.5")),
    journal("alexa-skill-a.service", 1_700_000_002, "INFO skills.serve: still serving"),
    # Another unit's line, or a line systemd wrote about the unit: not the skill's request.
    journal("init.scope", 1_700_000_003,
            REQUEST.format(n=3, type="SessionEndedRequest", intent="-", ms="1.0")),
    "not json, but request_id=x in it",
    journal("alexa-skill-b.service", 1_700_000_004, "INFO skills.serve: serving b"),
])


@pytest.fixture
def journalctl(monkeypatch):
    return stub_journalctl(monkeypatch, JOURNAL)


def test_the_parsed_request_line_is_the_one_the_logs_page_shows():
    from appliance.console import services

    assert services.parse_request is requestlog.parse_request  # one parser, not two
    assert requestlog.parse_request("request_id=None type=LaunchRequest intent=- outcome=ok "
                                    "latency_ms=3") == {
        "request_id": "", "type": "LaunchRequest", "intent": "", "outcome": "ok",
        "latency_ms": 3.0}
    assert requestlog.parse_request("INFO skills.serve: serving") is None


def test_systemd_reads_one_journal_for_every_skill(tmp_path, journalctl):
    units = ["alexa-skill-a", "alexa-skill-b", "alexa-skill-c"]
    answer = requestlog.last_requests(paths_under(tmp_path), "systemd", units)
    assert answer["ok"] and answer["units"] == {
        "alexa-skill-a": {"request_id": "amzn1.echo-api.request.2", "type": "IntentRequest",
                          "intent": "AnswerIntent", "outcome": "ok", "latency_ms": 12.5,
                          "time": "2023-11-14T22:13:21.000+00:00"},
        "alexa-skill-b": None,
        "alexa-skill-c": None,
    }
    assert journalctl == [["journalctl", "-o", "json", "--no-pager", "-n", "600",
                           "--output-fields=MESSAGE,PRIORITY,_SYSTEMD_UNIT",
                           "--unit=alexa-skill-a", "--unit=alexa-skill-b",
                           "--unit=alexa-skill-c"]]


def test_the_journal_read_is_bounded_and_so_is_each_field(tmp_path, journalctl):
    units = [f"alexa-skill-s{n}" for n in range(MAX_UNITS_ASKED)]
    journalctl.answer = (0, journal("alexa-skill-s7.service", 1, REQUEST.format(
        n="x" * 5000, type="LaunchRequest", intent="-", ms="1")))
    answer = requestlog.last_requests(paths_under(tmp_path), "systemd", units)
    assert journalctl[0][5] == str(requestlog.MAX_JOURNAL_LINES)
    assert len(answer["units"]["alexa-skill-s7"]["request_id"]) == requestlog.FIELD_MAX
    assert len(json.dumps(answer)) < 100_000


def test_a_failing_journalctl_fails_in_words(tmp_path, journalctl):
    journalctl.answer = (1, "Failed to open journal: Permission denied")
    with pytest.raises(Failure, match="journalctl failed: Failed to open journal"):
        requestlog.last_requests(paths_under(tmp_path), "systemd", ["alexa-skill-a"])


def test_sysv_reads_each_skills_log_file(tmp_path):
    paths = paths_under(tmp_path)
    logs = Path(paths.log_dir)
    logs.mkdir(parents=True)
    (logs / "alexa-skill-a.log").write_text(
        REQUEST.format(n=1, type="LaunchRequest", intent="-", ms="3.0") + "\n"
        + REQUEST.format(n=2, type="IntentRequest", intent="AnswerIntent", ms="7") + "\n"
        + "INFO skills.serve: after the request\n")
    # The newest request is further back than the lines the logs page reads: none.
    (logs / "alexa-skill-b.log").write_text(
        REQUEST.format(n=3, type="LaunchRequest", intent="-", ms="1") + "\n"
        + "INFO chatter\n" * requestlog.LINES_PER_UNIT)
    answer = requestlog.last_requests(paths, "sysv", ["alexa-skill-a", "alexa-skill-b",
                                                      "alexa-skill-never"])
    assert answer["units"] == {
        "alexa-skill-a": {"request_id": "amzn1.echo-api.request.2", "type": "IntentRequest",
                          "intent": "AnswerIntent", "outcome": "ok", "latency_ms": 7.0,
                          "time": ""},
        "alexa-skill-b": None,
        "alexa-skill-never": None,
    }


def test_installed_units_are_the_skills_unit_files_or_init_scripts(tmp_path):
    paths = paths_under(tmp_path)
    systemd, initd = Path(paths.systemd_dir), Path(paths.initd_dir)
    systemd.mkdir(parents=True)
    initd.mkdir(parents=True)
    for name in ("alexa-skill-a.service", "alexa-skill-a.socket", "alexa-skill-b.service",
                 "caddy.service", "alexa-skill-..service"):
        (systemd / name).write_text("[Unit]\n")
    for name in ("alexa-skill-c", "alexa-skill-c.dpkg-old", "caddy"):
        (initd / name).write_text("#!/bin/sh\n")
    assert requestlog.installed_units(paths, "systemd") == ["alexa-skill-a", "alexa-skill-b"]
    assert requestlog.installed_units(paths, "sysv") == ["alexa-skill-c"]


# --- the command line ------------------------------------------------------------------------

@pytest.fixture
def host(tmp_path, monkeypatch):
    paths = paths_under(tmp_path / "root")
    helper_layout(tmp_path / "layout.json", paths, monkeypatch)
    Path(paths.log_dir).mkdir(parents=True)
    Path(paths.initd_dir).mkdir(parents=True)
    return paths


@pytest.mark.parametrize("names", [
    ["caddy"], ["alexa-skill-a.service"], ["alexa-skill-a.socket"], ["alexa-skill-Bad"],
    ["alexa-skill-a", "../../etc/shadow"], ["alexa-skill-"], [""],
    [f"alexa-skill-s{n}" for n in range(MAX_UNITS_ASKED + 1)],
])
def test_only_skills_services_may_be_asked_about(capsys, host, names):
    code, answer = run(capsys, "last-requests", *names)
    assert (code, answer["ok"], answer.get("refused")) == (2, False, True)


def test_it_answers_for_the_skills_asked_about_each_once(capsys, host):
    Path(host.log_dir, "alexa-skill-a.log").write_text(
        REQUEST.format(n=1, type="LaunchRequest", intent="-", ms="3.0") + "\n")
    code, answer = run(capsys, "last-requests", "alexa-skill-a", "alexa-skill-b",
                       "alexa-skill-a")
    assert code == 0
    assert list(answer["units"]) == ["alexa-skill-a", "alexa-skill-b"]
    assert answer["units"]["alexa-skill-a"]["type"] == "LaunchRequest"
    assert answer["units"]["alexa-skill-b"] is None


def test_without_names_it_answers_for_every_installed_skill(capsys, host):
    for name in ("alexa-skill-a", "alexa-skill-b", "caddy"):
        Path(host.initd_dir, name).write_text("#!/bin/sh\n")
    code, answer = run(capsys, "last-requests")
    assert (code, answer["units"]) == (0, {"alexa-skill-a": None, "alexa-skill-b": None})


def test_the_usage_names_last_requests(capsys, host):
    assert "last-requests [NAME...]" in run(capsys, "nonsense")[1]["message"]
