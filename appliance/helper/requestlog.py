"""The helper's ``last-requests``: the newest request line of each skill from one read; and
``request-lines``: every request line since the monitor's last look (its journal cursor). The
lines are written and parsed by ``skills.runtime.requestlog`` only (no Django there either)."""

from __future__ import annotations

import json

from skills.runtime.requestlog import parse_request

from ..render.snapshot import Paths
from .install import Failure, run_tool, tail
from .policy import skill_of_unit
from .services import _listdir, journal_entry, last_lines, log_line_entry, skill_unit_files

# Per skill, the newest request among its last lines: as many as the logs page reads (what the
# dashboard's one call per skill read); all skills' lines together are capped.
LINES_PER_UNIT = 200
MAX_JOURNAL_LINES = 20000
JOURNAL_TIMEOUT = 15
# A skill writes its own log lines: its fields are clipped so the answer stays small.
FIELD_MAX = 200
# request-lines: at most this many journal lines a call (a minute of ~800 requests a second);
# the next call goes on from where this one stopped.
MAX_REQUEST_LINES = 50000


def installed_units(paths: Paths, flavour: str) -> list[str]:
    """Every skill service with a unit file (systemd) or an init script (SysV)."""
    if flavour == "systemd":
        names = {entry.rpartition(".")[0]
                 for entry in skill_unit_files(paths.on_disk(paths.systemd_dir))}
    else:
        names = {name for name in _listdir(paths.on_disk(paths.initd_dir))
                 if skill_of_unit(name)}
    return sorted(names)


def last_requests(paths: Paths, flavour: str, units: list[str]) -> dict:
    """{"units": {unit: the newest request line's fields and time, or None}}."""
    if flavour == "systemd":
        found = _from_journal(units)
    else:
        found = {unit: _newest(log_line_entry(line) for line in reversed(last_lines(
            paths.on_disk(f"{paths.log_dir}/{unit}.log"), LINES_PER_UNIT))) for unit in units}
    newest = {unit: found.get(unit) for unit in units}
    seen = sum(1 for row in newest.values() if row)
    return {"ok": True, "units": newest,
            "message": f"last requests of {len(units)} skills ({seen} with one)"}


def _request(entry: dict | None) -> dict | None:
    request = parse_request(entry["message"]) if entry else None
    if request is None:
        return None
    row = {**request, "time": entry["time"]}
    return {key: value[:FIELD_MAX] if isinstance(value, str) else value
            for key, value in row.items()}


def _newest(entries) -> dict | None:
    """The first request line of ``entries`` (newest first)."""
    return next((row for row in map(_request, entries) if row), None)


def _from_journal(units: list[str]) -> dict[str, dict]:
    """One journalctl for every unit; its lines are told apart by the unit that wrote them."""
    if not units:
        return {}
    lines = min(MAX_JOURNAL_LINES, LINES_PER_UNIT * len(units))
    code, output = run_tool(["journalctl", "-o", "json", "--no-pager", "-n", str(lines),
                             "--output-fields=MESSAGE,PRIORITY,_SYSTEMD_UNIT",
                             *(f"--unit={unit}" for unit in units)], timeout=JOURNAL_TIMEOUT)
    if code != 0:
        raise Failure(f"journalctl failed: {tail(output)}")
    wanted, found = set(units), {}
    for line in reversed(output.splitlines()):
        # Most lines are no request: skip them before parsing any JSON.
        if "request_id=" not in line:
            continue
        try:
            unit = str(json.loads(line).get("_SYSTEMD_UNIT", "")).removesuffix(".service")
        except (ValueError, AttributeError):
            continue
        if unit in wanted and unit not in found:
            row = _request(journal_entry(line))
            if row:
                found[unit] = row
                if len(found) == len(wanted):
                    break
    return found


def request_lines(flavour: str, units: list[str], *, after: str = "", since: int = 0) -> dict:
    """{"units": {unit: [[epoch seconds, outcome, latency_ms], ...]}, "cursor": where the read
    stopped} for the journal's request lines after ``after`` (a cursor this command answered
    before) or, without one, since ``since`` (epoch seconds). Only what the monitor needs is
    sent: no request IDs, intents or reasons."""
    found: dict[str, list] = {unit: [] for unit in units}
    if flavour != "systemd":
        return {"ok": True, "units": found, "cursor": after, "truncated": False,
                "message": "request figures come from the journal: this host runs SysV init "
                           "scripts, whose log lines carry no time"}
    if not units:
        return {"ok": True, "units": found, "cursor": after, "truncated": False,
                "message": "no skills"}
    start = [f"--after-cursor={after}"] if after else [f"--since=@{int(since)}"]
    code, output = run_tool(["journalctl", "-o", "json", "--no-pager", *start,
                             "-n", str(MAX_REQUEST_LINES),
                             "--output-fields=MESSAGE,_SYSTEMD_UNIT",
                             *(f"--unit={unit}" for unit in units)], timeout=JOURNAL_TIMEOUT)
    if code != 0:
        raise Failure(f"journalctl failed: {tail(output)}")
    cursor, read = after, 0
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a warning of journalctl's, merged into its output
        if not isinstance(record, dict):
            continue
        read += 1
        cursor = str(record.get("__CURSOR") or cursor)
        message = record.get("MESSAGE")
        unit = str(record.get("_SYSTEMD_UNIT", "")).removesuffix(".service")
        if unit not in found or not isinstance(message, str) or "request_id=" not in message:
            continue
        request = parse_request(message)
        try:
            when = int(record["__REALTIME_TIMESTAMP"]) / 1e6
        except (KeyError, TypeError, ValueError):
            continue
        if request is not None:
            found[unit].append([round(when, 3), request["outcome"][:16],
                                request["latency_ms"]])
    count = sum(len(rows) for rows in found.values())
    return {"ok": True, "units": found, "cursor": cursor,
            "truncated": read >= MAX_REQUEST_LINES,
            "message": f"{count} requests of {len(units)} skills in {read} journal lines"}
