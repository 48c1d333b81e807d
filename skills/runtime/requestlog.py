"""The runtime's one log line per request: written and read here only.

The admin (logs page, dashboard, voice check, the root helper's ``last-requests``) imports
``parse_request`` from this module, so what it reads is exactly what the runtime writes::

    request_id=amzn1.echo-api.request.1 type=LaunchRequest intent=- outcome=ok latency_ms=3.2
    request_id=- type=- intent=- outcome=refused latency_ms=0.4 reason="Signature-256 is empty"

A value made only of safe characters is written as it is; anything else (spaces, quotes, ``=``,
newlines, non-ASCII) as a JSON string, so no value can end its field or its line early. The
parser takes the fields in this order from the start of the message to its end, never from
somewhere inside it: a quoted header value cannot pass for a request line.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

LOGGER = "skills.runtime.requests"
FIELD_MAX = 200  # characters kept of one value
OK, ERROR, REFUSED = "ok", "error", "refused"

log = logging.getLogger(LOGGER)

_BARE = re.compile(r"[A-Za-z0-9._:-]+")
_MISSING = "-"
# "None" was written for a missing request id before values were quoted; read it as missing.
_READ_AS_MISSING = frozenset({_MISSING, "None"})
_VALUE = r'(?:"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"|[^\s"=]+)'
# The CLI's format is "%(levelname)s %(name)s: %(message)s"; the helper may hand over either.
_LINE = re.compile(
    rf"(?:[A-Z]+ {re.escape(LOGGER)}: )?"
    rf"request_id=(?P<request_id>{_VALUE}) type=(?P<type>{_VALUE}) "
    rf"intent=(?P<intent>{_VALUE}) outcome=(?P<outcome>{_VALUE}) "
    rf"latency_ms=(?P<latency_ms>[0-9]{{1,12}}(?:\.[0-9]{{1,6}})?)"
    rf"(?: reason=(?P<reason>{_VALUE}))?"
)


def quote(value: Any) -> str:
    """One value as the line holds it: bare when safe, else a JSON string (ASCII, one line)."""
    if value is None or value == "":
        return _MISSING
    text = str(value)[:FIELD_MAX]
    if _BARE.fullmatch(text) and text not in _READ_AS_MISSING:
        return text
    return json.dumps(text, ensure_ascii=True)


def _unquote(token: str) -> str:
    if token.startswith('"'):
        return json.loads(token)
    return "" if token in _READ_AS_MISSING else token


def format_request(request_id: Any, type: Any, intent: Any, outcome: str,
                   latency_ms: float, reason: str | None = None) -> str:
    line = (f"request_id={quote(request_id)} type={quote(type)} intent={quote(intent)} "
            f"outcome={quote(outcome)} latency_ms={max(0.0, float(latency_ms)):.1f}")
    return line if reason is None else f"{line} reason={quote(reason)}"


def parse_request(message: str) -> dict | None:
    """The fields of a request line (``reason`` only when it has one), or None for any other."""
    match = _LINE.fullmatch((message or "").rstrip("\r\n"))
    if not match:
        return None
    row = {key: _unquote(value) for key, value in match.groupdict().items()
           if value is not None and key != "latency_ms"}
    row["latency_ms"] = float(match["latency_ms"])
    return row


def _fields(payload: Any) -> tuple[Any, Any, Any]:
    request = payload.get("request") if isinstance(payload, dict) else None
    if not isinstance(request, dict):
        return None, None, None
    intent = request.get("intent")
    name = intent.get("name") if isinstance(intent, dict) else None
    return request.get("requestId"), request.get("type"), name


def log_request(payload: Any, outcome: str, latency_ms: float, reason: str | None = None) -> None:
    """Log one request: an answered one at INFO, a refused one (with why) at WARNING."""
    level = logging.WARNING if outcome == REFUSED else logging.INFO
    if log.isEnabledFor(level):
        log.log(level, "%s", format_request(*_fields(payload), outcome, latency_ms, reason))
