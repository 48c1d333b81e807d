"""What the UI asks the root helper: service states, start/stop/restart, and log lines.

Every call here tolerates the helper failing: a state becomes "unknown", an action a message in
words. Pages that show many skills ask for their states in parallel, each with a short timeout,
so one slow or hung service cannot make a page hang.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor, wait

from ..deploy.client import HelperError, run_helper

log = logging.getLogger("appliance.console")

STATUS_TIMEOUT = 5.0  # seconds for one "service status"
PAGE_DEADLINE = 6.0  # seconds a page waits for all its states together
LOG_TIMEOUT = 10.0
MAX_PARALLEL = 16
CADDY = "caddy"
UNKNOWN = "unknown"

# The runtime's request line: "request_id=… type=… intent=… outcome=… latency_ms=…".
REQUEST_RE = re.compile(r"request_id=(?P<request_id>\S+) type=(?P<type>\S+) "
                        r"intent=(?P<intent>\S+) outcome=(?P<outcome>\S+) "
                        r"latency_ms=(?P<latency_ms>[0-9.]+)")
LEVELS = ["debug", "info", "warning", "error"]


def state_word(answer: dict, on_demand: bool = False) -> str:
    """systemd's (or LSB's) service state in the UI's words."""
    state = str(answer.get("state") or "").lower()
    if state in ("active", "reloading", "activating", "deactivating"):
        return "running"
    if state == "failed":
        return "failed"
    if state == "inactive":
        # An on-demand skill that is not running waits on its socket for the next request.
        return "idle" if on_demand else "stopped"
    return UNKNOWN


def service_state(unit: str, on_demand: bool = False) -> str:
    try:
        answer = run_helper("service", "status", unit, timeout=STATUS_TIMEOUT)
    except HelperError as exc:
        log.warning("status of %s: %s", unit, exc)
        return UNKNOWN
    return state_word(answer, on_demand)


def service_states(skills) -> dict[str, str]:
    """{slug: state} for ``skills``, one helper call each, run side by side."""
    skills = list(skills)
    if not skills:
        return {}
    pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(skills)))
    futures = {skill.slug: pool.submit(service_state, skill.unit_name, skill.on_demand)
               for skill in skills}
    wait(futures.values(), timeout=PAGE_DEADLINE)
    pool.shutdown(wait=False, cancel_futures=True)  # a late answer is dropped, not awaited
    return {slug: _outcome(future) for slug, future in futures.items()}


def _outcome(future) -> str:
    if not future.done() or future.cancelled() or future.exception() is not None:
        return UNKNOWN
    return future.result()


def service_action(action: str, unit: str) -> tuple[bool, str]:
    """(done, message in words) for start/stop/restart of ``unit``."""
    try:
        run_helper("service", action, unit, timeout=120)
    except HelperError as exc:
        return False, f"Could not {action} {unit}: {exc}"
    past = {"start": "Started", "stop": "Stopped", "restart": "Restarted"}.get(action, action)
    return True, f"{past} {unit}."


def parse_request(message: str) -> dict | None:
    """The runtime's request line as a dict, or None for any other line."""
    match = REQUEST_RE.search(message or "")
    if not match:
        return None
    row = match.groupdict()
    row["latency_ms"] = float(row["latency_ms"])
    for key in ("intent", "request_id"):
        if row[key] in ("-", "None"):
            row[key] = ""
    return row


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
        rows.append({"time": str(entry.get("time") or ""),
                     "level": str(entry.get("level") or "info").lower(),
                     "message": message,
                     "request": parse_request(message)})
    rows.reverse()
    return rows


def filter_logs(rows: list[dict], level: str = "", text: str = "") -> list[dict]:
    """Lines at ``level`` or above whose message contains ``text`` (any case)."""
    minimum = level_rank(level) if level else 0
    needle = (text or "").strip().lower()
    return [row for row in rows
            if level_rank(row["level"]) >= minimum
            and (not needle or needle in row["message"].lower())]
