"""The helper's ``last-requests``: the newest request line of each skill from one read. The
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
