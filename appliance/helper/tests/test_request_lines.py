"""``request-lines``: every request line since the monitor's last look, from one journalctl
(stubbed: no systemd runs here) that goes on from the cursor it answered the time before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.helper import requestlog
from appliance.helper.install import Failure
from appliance.render.layout import paths_under

from .fakes import call_helper as run
from .fakes import helper_layout, stub_journalctl

pytestmark = pytest.mark.unit

REQUEST = ("INFO skills.runtime.requests: request_id=amzn1.echo-api.request.{n} "
           "type=IntentRequest intent=AnswerIntent outcome={outcome} latency_ms={ms}")
CURSOR = "s=8f2a1c;i={i:x};b=4e1d;m=2f1;t=62a5b0c1d2e3f;x=9c0d"


def journal(unit: str, micros: int, message, i: int) -> str:
    # `journalctl -o json --output-fields=MESSAGE,_SYSTEMD_UNIT`: the asked fields, the cursor's
    # and the timestamps.
    return json.dumps({"__CURSOR": CURSOR.format(i=i), "__REALTIME_TIMESTAMP": str(micros),
                       "__MONOTONIC_TIMESTAMP": "1", "_BOOT_ID": "b",
                       "_SYSTEMD_UNIT": unit, "MESSAGE": message})


JOURNAL = "\n".join([
    journal("alexa-skill-a.service", 1_700_000_000_250_000,
            REQUEST.format(n=1, outcome="ok", ms="3.0"), 1),
    journal("alexa-skill-a.service", 1_700_000_061_000_000,
            REQUEST.format(n=2, outcome="error", ms="812.5"), 2),
    journal("alexa-skill-a.service", 1_700_000_062_000_000, "INFO skills.serve: serving", 3),
    journal("alexa-skill-b.service", 1_700_000_063_000_000,
            "WARNING skills.runtime.requests: request_id=- type=- intent=- outcome=refused "
            'latency_ms=0.4 reason="Signature-256 is empty"', 4),
    # journald sends a message that is no UTF-8 as bytes; another unit's line is not a skill's.
    journal("alexa-skill-b.service", 1_700_000_064_000_000, [255, 254], 5),
    journal("init.scope", 1_700_000_065_000_000, REQUEST.format(n=3, outcome="ok", ms="1"), 6),
    "Warning: journal has been rotated since unit was started, output may be incomplete.",
])


@pytest.fixture
def journalctl(monkeypatch):
    return stub_journalctl(monkeypatch, JOURNAL)


def test_every_request_line_since_a_time_with_where_the_read_stopped(journalctl):
    answer = requestlog.request_lines("systemd", ["alexa-skill-a", "alexa-skill-b"],
                                      since=1_699_999_990)
    assert answer["units"] == {
        "alexa-skill-a": [[1_700_000_000.25, "ok", 3.0], [1_700_000_061.0, "error", 812.5]],
        "alexa-skill-b": [[1_700_000_063.0, "refused", 0.4]],
    }
    assert answer["cursor"] == CURSOR.format(i=6) and answer["truncated"] is False
    assert journalctl == [["journalctl", "-o", "json", "--no-pager", "--since=@1699999990",
                           "-n", str(requestlog.MAX_REQUEST_LINES),
                           "--output-fields=MESSAGE,_SYSTEMD_UNIT",
                           "--unit=alexa-skill-a", "--unit=alexa-skill-b"]]


def test_it_goes_on_after_the_cursor_and_keeps_it_when_nothing_is_new(journalctl):
    journalctl.answer = (0, "")
    cursor = CURSOR.format(i=6)
    answer = requestlog.request_lines("systemd", ["alexa-skill-a"], after=cursor)
    assert journalctl[0][4] == f"--after-cursor={cursor}"
    assert (answer["cursor"], answer["units"]) == (cursor, {"alexa-skill-a": []})


def test_a_full_read_says_it_was_cut(journalctl, monkeypatch):
    monkeypatch.setattr(requestlog, "MAX_REQUEST_LINES", 3)
    answer = requestlog.request_lines("systemd", ["alexa-skill-a"], since=1_699_999_990)
    assert answer["truncated"] is True


def test_a_failing_journalctl_fails_in_words(journalctl):
    journalctl.answer = (1, "Failed to seek to cursor: Invalid argument")
    with pytest.raises(Failure, match="journalctl failed: Failed to seek to cursor"):
        requestlog.request_lines("systemd", ["alexa-skill-a"], after=CURSOR.format(i=1))


def test_sysv_hosts_have_no_request_figures_and_say_why(journalctl):
    answer = requestlog.request_lines("sysv", ["alexa-skill-a"], since=1_699_999_990)
    assert answer["ok"] and answer["units"] == {"alexa-skill-a": []}
    assert "SysV" in answer["message"] and journalctl == []


# --- the command line ------------------------------------------------------------------------

@pytest.fixture
def host(tmp_path, monkeypatch):
    paths = paths_under(tmp_path / "root")
    helper_layout(tmp_path / "layout.json", paths, monkeypatch, flavour="systemd")
    Path(paths.systemd_dir).mkdir(parents=True)
    return paths


def test_it_answers_on_the_command_line(capsys, host, journalctl):
    code, answer = run(capsys, "request-lines", "--after", CURSOR.format(i=1), "alexa-skill-a")
    assert code == 0 and answer["units"]["alexa-skill-a"][1] == [1_700_000_061.0, "error", 812.5]


def test_without_names_it_reads_every_installed_skill(capsys, host, journalctl):
    Path(host.systemd_dir, "alexa-skill-a.service").write_text("[Unit]\n")
    code, answer = run(capsys, "request-lines", "--since", "1699999990")
    assert code == 0 and list(answer["units"]) == ["alexa-skill-a"]
    assert journalctl[0][-1] == "--unit=alexa-skill-a"


@pytest.mark.parametrize("args", [
    [], ["--after"], ["--since", "yesterday"], ["--since", "-60"], ["--since", "0"],
    ["--after", "s=1;i=2 --no-tail"], ["--after", "--output=cat"], ["--after", "x" * 500],
    ["--until", "1699999990"], ["--since", "1699999990", "caddy"],
    ["--since", "1699999990", "alexa-skill-a.service"],
])
def test_only_a_cursor_or_a_time_and_skills_services_are_taken(capsys, host, journalctl, args):
    code, answer = run(capsys, "request-lines", *args)
    assert (code, answer.get("refused")) == (2, True)
    assert journalctl == []


def test_the_usage_names_request_lines(capsys, host):
    assert "request-lines --after CURSOR" in run(capsys, "nonsense")[1]["message"]
