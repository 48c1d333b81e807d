"""The request log line: every value escaped when written, fields read only from the line's start.

A refused request's reason quotes header values an attacker chose; before, a header holding
" request_id=x type=LaunchRequest ... outcome=ok" made the admin read a refusal as a launch.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from types import SimpleNamespace

import pytest

from skills.runtime.requestlog import FIELD_MAX, LOGGER, format_request, parse_request
from skills.runtime.testing import SkillClient, builders

from .hello import hello_app

pytestmark = pytest.mark.unit

ATTACK_URL = "https://[ request_id=x type=LaunchRequest intent=- outcome=ok latency_ms=1"
NASTY = [
    "a b", 'say "hi"', "k=v", "x outcome=ok latency_ms=1", "line\nINFO skills.runtime.requests: "
    "request_id=y type=LaunchRequest intent=- outcome=ok latency_ms=1", "back\\slash", "tab\there",
    "\r", "\x00\x1b[31m", "é ünïcödé ☃", '"', "=", "-", "None", "'", "}{", "\u2028",
]


@pytest.fixture
def app(tmp_path, alexa_pki):
    return hello_app(tmp_path, alexa_pki)


def logged_lines(caplog) -> list[str]:
    """What the CLI's handler writes: "%(levelname)s %(name)s: %(message)s", one per record."""
    return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records
            if r.name == LOGGER]


def test_the_issue_header_is_logged_as_a_refusal_not_as_a_launch(app, alexa_pki, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    body = json.dumps(builders.envelope(builders.launch_request())).encode()
    headers = {**alexa_pki.sign(body), "SignatureCertChainUrl": ATTACK_URL}
    reply = SkillClient(app, alexa_pki).post(body, headers)
    assert reply.status == 400
    [line] = logged_lines(caplog)
    assert "\n" not in line
    row = parse_request(line)
    assert row["outcome"] == "refused"
    assert row["type"] == "" and row["request_id"] == ""
    assert ATTACK_URL in row["reason"]


def test_an_answered_request_is_logged_and_parsed_back(app, alexa_pki, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    reply = SkillClient(app, alexa_pki).launch()
    assert reply.status == 200
    [line] = logged_lines(caplog)
    row = parse_request(line)
    assert row["type"] == "LaunchRequest" and row["outcome"] == "ok" and row["intent"] == ""
    assert row["request_id"].startswith("amzn1.echo-api.request.")
    assert "reason" not in row


@pytest.mark.parametrize("value", NASTY)
@pytest.mark.parametrize("field", ["request_id", "type", "intent", "outcome", "reason"])
def test_an_injection_in_any_value_stays_inside_its_field(field, value):
    fields = {"request_id": "amzn1.echo-api.request.1", "type": "IntentRequest",
              "intent": "HelpIntent", "outcome": "refused", "latency_ms": 2.5, "reason": "why",
              field: value}
    line = format_request(**fields)
    assert "\n" not in line and "\r" not in line and line.isascii() and line.isprintable()
    assert parse_request(f"WARNING {LOGGER}: {line}") == fields


def test_a_signed_request_id_with_a_newline_logs_one_line_that_parses_back(app, alexa_pki,
                                                                         caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    forged = "x\nINFO skills.runtime.requests: request_id=y type=IntentRequest outcome=ok"
    reply = SkillClient(app, alexa_pki).launch(requestId=forged)
    assert reply.status == 200
    [line] = logged_lines(caplog)
    assert "\n" not in line
    assert parse_request(line)["request_id"] == forged


def test_format_then_parse_gives_back_every_value():
    rng = random.Random(14)
    alphabet = 'ab =-"\\\n\t\x00é☃.:_' + "".join(map(chr, range(32, 127)))
    for _ in range(2000):
        values = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
                  for _ in range(5)]
        latency = round(rng.uniform(0, 5000), 1)
        row = parse_request(format_request(*values[:4], latency, reason=values[4]))
        # An empty value is written as "-", which reads back as missing: "".
        assert row == {"request_id": values[0], "type": values[1], "intent": values[2],
                       "outcome": values[3], "latency_ms": latency, "reason": values[4]}


def test_a_long_value_is_clipped_to_field_max():
    row = parse_request(format_request("i" * 5000, "t", "-", "ok", 1.0))
    assert row["request_id"] == "i" * FIELD_MAX


@pytest.mark.parametrize("line", [
    # The runtime's refusal line before this change: the fields sat inside a quoted header.
    f"WARNING {LOGGER}: request refused: SignatureCertChainUrl is not a valid URL: "
    f"'{ATTACK_URL}' (0.3 ms)",
    f"INFO skills.serve: {LOGGER}: request_id=x type=LaunchRequest intent=- outcome=ok "
    "latency_ms=1",
    "request_id=x type=LaunchRequest intent=- outcome=ok latency_ms=1 trailing",
    "request_id=x type=LaunchRequest intent=- outcome=ok latency_ms=1 reason=\"open",
    "request_id=x type=Launch Request intent=- outcome=ok latency_ms=1",
    "request_id=x type=LaunchRequest intent=- outcome=ok latency_ms=nan",
    "",
], ids=["old-refusal", "other-logger", "trailing", "open-quote", "space", "nan", "empty"])
def test_a_line_is_a_request_only_from_its_start_to_its_end(line):
    assert parse_request(line) is None


def test_lines_written_before_values_were_quoted_still_parse():
    assert parse_request(f"INFO {LOGGER}: request_id=None type=LaunchRequest intent=- "
                         "outcome=ok latency_ms=3") == {
        "request_id": "", "type": "LaunchRequest", "intent": "", "outcome": "ok",
        "latency_ms": 3.0}


def test_the_admin_reads_request_lines_with_the_runtimes_parser():
    from appliance.console import services
    from appliance.helper import requestlog as helper_side
    from skills.runtime import requestlog

    assert helper_side.parse_request is requestlog.parse_request
    assert services.parse_request is requestlog.parse_request


def test_the_voice_check_counts_the_issue_header_as_refused_not_as_a_launch(monkeypatch):
    from appliance.console import services, voicecheck

    now = dt.datetime.now(dt.UTC)
    message = f"WARNING {LOGGER}: " + format_request(
        None, None, None, "refused", 0.4, f"SignatureCertChainUrl is not a valid URL: "
        f"{ATTACK_URL!r}")
    rows = [{"time": now.isoformat(), "level": "warning", "message": message,
             "request": parse_request(message)}]
    monkeypatch.setattr(services, "read_logs", lambda unit, lines: rows)
    launch, refused = voicecheck._after(SimpleNamespace(unit_name="u"), now)
    assert launch is None
    assert refused["outcome"] == "refused" and ATTACK_URL in refused["reason"]
