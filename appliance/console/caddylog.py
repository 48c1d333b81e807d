"""Caddy's own log lines: JSON objects ({"level", "ts", "logger", "msg", …}).

Under systemd a line reaches the console whole as the journal's MESSAGE (whose priority is
always "info": Caddy writes everything to stderr), so the level is read from the JSON. A SysV
host's log reader already split ``level``, ``ts`` and ``msg`` off and left "msg {rest}", which
is read back here too. Access log entries (logger ``http.log.access…``, one per request to a
skill's site) become request rows: time, host, method, URI, status, duration.
"""

from __future__ import annotations

import datetime as dt
import json

ACCESS_LOGGER = "http.log.access"
LEVELS = {"warn": "warning", "dpanic": "error", "panic": "error", "fatal": "error"}
FIELD_MAX = 300  # a host or URI is the client's text: kept short


def record(message: str) -> dict | None:
    """Caddy's JSON record behind a log message, or None for any other line."""
    text = (message or "").strip()
    if text.startswith("{"):
        return _object(text)
    # "msg {rest}": the rest is the longest JSON object that ends the line.
    start = text.find(' {"')
    while start != -1:
        rest = _object(text[start + 1:])
        if rest is not None:
            return {"msg": text[:start], **rest}
        start = text.find(' {"', start + 1)
    return None


def _object(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def level(found: dict, default: str) -> str:
    word = str(found.get("level") or default).lower()
    return LEVELS.get(word, word)


def when(found: dict) -> str:
    """Caddy's own timestamp (seconds since the epoch) as ISO 8601 UTC, or ""."""
    ts = found.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return ""
    try:
        return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError):
        return ""


def access(found: dict | None) -> dict | None:
    """An access log entry as a request row, or None for any other record."""
    if not found or not str(found.get("logger") or "").startswith(ACCESS_LOGGER):
        return None
    request = found.get("request") if isinstance(found.get("request"), dict) else {}
    try:
        duration_ms = round(float(found.get("duration") or 0) * 1000, 1)
    except (TypeError, ValueError):
        duration_ms = 0.0
    status = found.get("status")
    return {"host": str(request.get("host") or "")[:FIELD_MAX],
            "method": str(request.get("method") or "")[:16],
            "uri": str(request.get("uri") or "")[:FIELD_MAX],
            "remote": str(request.get("remote_ip") or "")[:64],
            "status": status if isinstance(status, int) else 0,
            "duration_ms": duration_ms}


def describe(found: dict) -> str:
    """One readable line: the request for an access entry, else logger, message and fields."""
    row = access(found)
    if row is not None:
        return (f"{row['method']} {row['host']}{row['uri']} → {row['status']} in "
                f"{row['duration_ms']} ms from {row['remote'] or '?'}")
    extra = {key: value for key, value in found.items()
             if key not in ("level", "ts", "logger", "msg")}
    head = f"{found['logger']}: " if found.get("logger") else ""
    return f"{head}{found.get('msg', '')}" + (f" {json.dumps(extra)}" if extra else "")


def host_only(host: str) -> str:
    """"memory.example.org:8443" → "memory.example.org" (what a skill's host is compared to)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if host.count(":") == 1 else host
