"""Sending through a channel with apprise, without its URL ever leaving this module in words.

A channel's URL holds its tokens. apprise logs as it sends (its DEBUG lines name the URL it
posts to, a failure names the host), so while it works its logger is kept from the admin's
log, and what it said is kept here, with every part of the URL blanked out, as the reason a
delivery failed.

apprise is imported when a channel is checked or used, not with the admin: loading its
plugins costs each gunicorn worker about 18 MB, which pages that never send need not pay.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
from urllib.parse import unquote_plus

APP_ID = "Alexa appliance"
MASK = "••••"
# Parts of a URL that may be a token, a password, a topic or a host.
_PARTS_RE = re.compile(r"[/:@?&=#,;+\s]+")


class ChannelURLError(ValueError):
    """Not a URL apprise can send to; ``str()`` says why, without repeating the URL."""


@dataclasses.dataclass(frozen=True)
class Delivery:
    ok: bool
    reason: str = ""  # why not, in words, with the URL's parts blanked out


def _plugin(url: str):
    from apprise import Apprise

    if not url or url != url.strip() or any(ch.isspace() for ch in url):
        raise ChannelURLError("One apprise URL, without spaces (e.g. ntfy://ntfy.sh/TOPIC, "
                              "mailtos://user:password@example.org, json://host/path).")
    with _quiet_apprise() as said:
        plugin = Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        scheme = url.partition("://")[0] if "://" in url else ""
        hint = redact(said[-1], url) if said else "it is not in a form apprise knows"
        raise ChannelURLError(
            f"apprise cannot send to this URL ({hint})." if scheme else
            "Not an apprise URL: it starts with the service, e.g. ntfy://, tgram://, "
            "slack://, mailtos://, json://.")
    return plugin


def service_name(url: str) -> str:
    """apprise's name for the service the URL sends to ("ntfy", "Slack", "JSON"...), or
    ChannelURLError."""
    return str(_plugin(url).service_name)


def send(url: str, title: str, body: str, *, failure: bool = False) -> Delivery:
    """Send one message through one channel; never raises for a failed delivery."""
    from apprise import Apprise, AppriseAsset, NotifyType

    try:
        plugin = _plugin(url)
    except ChannelURLError as exc:
        return Delivery(False, str(exc))
    kind = NotifyType.FAILURE if failure else NotifyType.SUCCESS
    with _quiet_apprise() as said:
        try:
            sender = Apprise(asset=AppriseAsset(app_id=APP_ID, app_desc=APP_ID))
            sender.add(plugin)
            ok = bool(sender.notify(body=body, title=title, notify_type=kind))
        except Exception as exc:
            said.append(f"{type(exc).__name__}: {exc}")
            ok = False
    if ok:
        return Delivery(True)
    reason = "; ".join(dict.fromkeys(redact(line, url) for line in said if line.strip()))
    return Delivery(False, reason[:400] or "the service did not accept the message")


def redact(text: str, url: str) -> str:
    """``text`` with the URL and each of its parts (but the scheme) blanked out."""
    scheme, _, rest = url.partition("://")
    # Each part as written and as decoded (apprise logs a password's %40 as @).
    pieces = {piece for part in _PARTS_RE.split(rest) for piece in (part, unquote_plus(part))}
    parts = sorted((piece for piece in pieces if len(piece) >= 3 and piece != scheme),
                   key=len, reverse=True)
    text = text.replace(url, f"{scheme}://{MASK}")
    for part in parts:
        text = text.replace(part, MASK)
    return text


class _Collect(logging.Handler):
    """apprise's warnings and errors, and the exception behind a failure (which it tells at
    DEBUG only: a certificate not trusted, a name that does not resolve)."""

    def __init__(self, lines: list[str]):
        super().__init__(logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            message = record.getMessage()
            if record.levelno >= logging.WARNING or "Exception:" in message:
                self.lines.append(message)


# urllib3 (under requests, under apprise) logs each request's path at DEBUG: a webhook's
# token is often there.
QUIETED = ("apprise", "urllib3")


@contextlib.contextmanager
def _quiet_apprise():
    """apprise's (and urllib3's) log lines while it works, collected instead of reaching the
    admin's log."""
    lines: list[str] = []
    handler = _Collect(lines)
    loggers = [logging.getLogger(name) for name in QUIETED]
    saved = [(logger.propagate, logger.level) for logger in loggers]
    for logger in loggers:
        logger.propagate = False
        logger.setLevel(logging.DEBUG)  # seen by this handler alone: its lines name the URL
        logger.addHandler(handler)
    try:
        yield lines
    finally:
        for logger, (propagate, level) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.propagate = propagate
            logger.setLevel(level)
