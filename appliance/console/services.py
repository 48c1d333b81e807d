"""What the UI asks the root helper: service states, start/stop/restart, and log lines.

Every call here tolerates the helper failing: a state becomes "unknown", an action a message in
words. A page's states all come from one ``status-all`` call, whose answer is kept a few seconds
in the cache (per host), so a page showing 100 skills costs at most one helper call, and most
pages none; starting or stopping a service and every apply make the next page ask again.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache

from ..catalogue.models import Revision
from ..deploy.client import HelperError, layout_file, run_helper
from ..helper.policy import MAX_UNITS_ASKED
from ..helper.requestlog import parse_request
from . import caddylog

log = logging.getLogger("appliance.console")

STATES_TIMEOUT = 5.0  # seconds the helper may take for "status-all"
STATES_TTL = 5  # seconds a status-all answer is reused (a failure too: no retry storm)
LOG_TIMEOUT = 10.0
LAST_REQUESTS_TIMEOUT = 20.0  # one journalctl over every skill's lines
CADDY = "caddy"
UNKNOWN = "unknown"
STATES = frozenset({"running", "stopped", "failed", "idle", UNKNOWN})
_KEY_PREFIX = "appliance:status-all:"

LEVELS = ["debug", "info", "warning", "error"]


def _states_key() -> str:
    """Per host (its layout file); a new revision, or one that finished, changes the key, so
    an apply from any process (another worker, the command line) is seen at once."""
    newest = Revision.objects.order_by("-pk").values_list("pk", "outcome").first()
    host = hashlib.sha256(layout_file().encode()).hexdigest()[:16]
    return f"{_KEY_PREFIX}{host}:{newest[0] if newest else 0}:{newest[1] if newest else ''}"


def _ask_helper() -> dict:
    try:
        answer = run_helper("status-all", timeout=STATES_TIMEOUT)
    except HelperError as exc:
        log.warning("status-all: %s", exc)
        return {"ok": False}
    units = answer.get("units")
    if not isinstance(units, dict):
        log.warning("status-all answered without units: %s", answer.get("message"))
        return {"ok": False}
    return {"ok": True, "units": {str(name): state if state in STATES else UNKNOWN
                                  for name, state in units.items()}}


def host_states() -> dict[str, str] | None:
    """{service: state} for every service on the host, or None when the helper failed."""
    answer = cache.get_or_set(_states_key(), _ask_helper, STATES_TTL)
    return answer.get("units") if isinstance(answer, dict) and answer.get("ok") else None


def forget_states() -> None:
    """The next page asks the helper again (after a start, stop or restart)."""
    cache.delete(_states_key())


def state_of(unit: str, states: dict[str, str] | None) -> str:
    # A service the host does not have (a skill never applied) is not running: stopped.
    return UNKNOWN if states is None else states.get(unit, "stopped")


def service_state(unit: str) -> str:
    """running / stopped / failed / idle / unknown."""
    return state_of(unit, host_states())


def service_states(skills) -> dict[str, str]:
    """{slug: state} for ``skills``, from the one cached status-all answer."""
    states = host_states()
    return {skill.slug: state_of(skill.unit_name, states) for skill in skills}


def service_action(action: str, unit: str) -> tuple[bool, str]:
    """(done, message in words) for start/stop/restart of ``unit``."""
    try:
        run_helper("service", action, unit, timeout=120)
    except HelperError as exc:
        return False, f"Could not {action} {unit}: {exc}"
    finally:
        forget_states()
    past = {"start": "Started", "stop": "Stopped", "restart": "Restarted"}.get(action, action)
    return True, f"{past} {unit}."


def level_rank(level: str) -> int:
    level = (level or "info").lower()
    level = {"warn": "warning", "critical": "error", "fatal": "error"}.get(level, level)
    return LEVELS.index(level) if level in LEVELS else 1


def read_logs(unit: str, lines: int = 200) -> list[dict]:
    """The unit's last ``lines`` log lines, newest first; HelperError when unreadable."""
    answer = run_helper("logs", unit, "--lines", str(lines), timeout=LOG_TIMEOUT)
    entries = answer.get("entries") or answer.get("lines") or []
    rows = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        message = str(entry.get("message", ""))
        row = {"time": str(entry.get("time") or ""),
               "level": str(entry.get("level") or "info").lower(),
               "message": message, "request": parse_request(message), "access": None}
        caddy = caddylog.record(message) if unit == CADDY else None
        if caddy is not None:
            # The journal calls every Caddy line "info": its JSON says what it is.
            row.update(level=caddylog.level(caddy, row["level"]),
                       time=row["time"] or caddylog.when(caddy),
                       message=caddylog.describe(caddy), access=caddylog.access(caddy))
        rows.append(row)
    rows.reverse()
    return rows


def last_requests(units: list[str]) -> dict[str, dict | None]:
    """{unit: its newest request (time, type, intent, outcome, latency_ms) or None}, all from
    one helper call (one per MAX_UNITS_ASKED units); HelperError when unreadable."""
    found = {}
    for start in range(0, len(units), MAX_UNITS_ASKED):
        answer = run_helper("last-requests", *units[start:start + MAX_UNITS_ASKED],
                            timeout=LAST_REQUESTS_TIMEOUT)
        found.update(answer.get("units") or {})
    return {unit: _last_request(found.get(unit)) for unit in units}


def _last_request(row: object) -> dict | None:
    if not isinstance(row, dict):
        return None
    try:
        latency = float(row.get("latency_ms"))
    except (TypeError, ValueError):
        return None
    return {"time": str(row.get("time") or ""), "type": str(row.get("type") or ""),
            "intent": str(row.get("intent") or ""), "outcome": str(row.get("outcome") or ""),
            "latency_ms": latency}


def filter_logs(rows: list[dict], level: str = "", text: str = "") -> list[dict]:
    """Lines at ``level`` or above whose message contains ``text`` (any case)."""
    minimum = level_rank(level) if level else 0
    needle = (text or "").strip().lower()
    return [row for row in rows
            if level_rank(row["level"]) >= minimum
            and (not needle or needle in row["message"].lower())]
