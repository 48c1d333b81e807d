"""What a turn shows: speech with its SSML rendered readable, reprompt, card and directives."""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import Turn

_TAG_RE = re.compile(r"<[^>]+>")
_SUB_RE = re.compile(r"<sub\b[^>]*\balias\s*=\s*(['\"])(.*?)\1[^>]*>.*?</sub>", re.S | re.I)
_AUDIO_RE = re.compile(r"<audio\b[^>]*\bsrc\s*=\s*(['\"])(.*?)\1[^>]*/?>(?:.*?</audio>)?",
                       re.S | re.I)
_BREAK_RE = re.compile(r"<break\b[^>]*/?>", re.I)
_BLOCK_RE = re.compile(r"</?(?:p|s)\b[^>]*>", re.I)


def ssml_to_text(ssml: str) -> str:
    """SSML as a reader would like it: what is spoken, an audio clip as ``[audio: URL]``.

    ``<sub alias>`` shows the alias (what Alexa says), a ``<break>`` a space, paragraphs and
    sentences are separated; every other tag is dropped and its words kept.
    """
    text = _SUB_RE.sub(lambda m: m.group(2), ssml)
    text = _AUDIO_RE.sub(lambda m: f" [audio: {m.group(2)}] ", text)
    text = _BREAK_RE.sub(" ", text)
    text = _BLOCK_RE.sub(" ", text)
    text = html.unescape(_TAG_RE.sub("", text))
    return re.sub(r"\s+", " ", text).strip()


def speech_text(output_speech: dict | None) -> str | None:
    """The readable text of an ``outputSpeech`` object (PlainText or SSML)."""
    if not isinstance(output_speech, dict):
        return None
    if output_speech.get("type") == "SSML":
        return ssml_to_text(str(output_speech.get("ssml", "")))
    text = output_speech.get("text")
    return None if text is None else str(text)


def card_text(card: dict | None) -> str | None:
    if not card:
        return None
    kind = card.get("type", "?")
    if kind == "LinkAccount":
        return "[card LinkAccount] link your account in the Alexa app"
    if kind == "AskForPermissionsConsent":
        return f"[card permissions] {', '.join(card.get('permissions') or [])}"
    body = card.get("content") if kind == "Simple" else card.get("text")
    image = (card.get("image") or {}).get("largeImageUrl") or (
        card.get("image") or {}).get("smallImageUrl")
    line = f"[card {kind}] {card.get('title', '')}: {body or ''}".rstrip(": ")
    return f"{line} (image {image})" if image else line


def directive_text(directive: dict) -> str:
    kind = directive.get("type", "?")
    detail = ""
    if kind == "Dialog.ElicitSlot":
        detail = f" slot {directive.get('slotToElicit')}"
    elif kind == "Dialog.ConfirmSlot":
        detail = f" slot {directive.get('slotToConfirm')}"
    elif kind == "AudioPlayer.Play":
        stream = (directive.get("audioItem") or {}).get("stream") or {}
        detail = f" {stream.get('url', '')}"
    elif kind == "Connections.SendRequest":
        detail = f" {directive.get('name', '')}"
    elif kind == "Display.RenderTemplate":
        detail = f" {(directive.get('template') or {}).get('type', '')}"
    if kind.startswith("Dialog.") and directive.get("updatedIntent"):
        detail += " (updatedIntent)"
    return f"[directive] {kind}{detail}"


def request_text(request: dict) -> str:
    """The request a turn sent, in one line: ``→ AnswerIntent first=5 second=8 [STARTED]``."""
    kind = request.get("type", "?")
    if kind == "SessionEndedRequest":
        return f"→ SessionEndedRequest ({request.get('reason', '')})"
    intent = request.get("intent")
    if not intent:
        return f"→ {kind}"
    slots = " ".join(f"{name}={_slot_text(body)}" for name, body in
                     (intent.get("slots") or {}).items() if "value" in body)
    extras = [request["dialogState"]] if request.get("dialogState") else []
    if intent.get("confirmationStatus", "NONE") != "NONE":
        extras.append(intent["confirmationStatus"])
    tail = f" [{', '.join(extras)}]" if extras else ""
    return f"→ {intent.get('name')}{' ' + slots if slots else ''}{tail}"


def _slot_text(body: dict) -> str:
    value = json.dumps(body["value"]) if " " in str(body["value"]) else str(body["value"])
    authorities = (body.get("resolutions") or {}).get("resolutionsPerAuthority") or []
    if authorities:
        values = authorities[0].get("values") or []
        if values:
            found = values[0]["value"]
            return f"{value}→{found.get('name')}({found.get('id')})"
        return f"{value}(no match)"
    return value


def render_turn(turn: Turn, *, requests: bool = True) -> str:
    """Everything the turn showed, one item a line, for the REPL."""
    lines = [f"  {request_text(r)}" for r in turn.requests] if requests else []
    if turn.error:
        lines.append(f"  ! {turn.error}")
    if turn.speech:
        who = "Alexa" if turn.spoken_by == "skill" else f"Alexa ({turn.spoken_by})"
        lines.append(f"{who}: {turn.speech}")
    if turn.reprompt:
        lines.append(f"  (reprompt) {turn.reprompt}")
    card = card_text(turn.card)
    if card:
        lines.append(f"  {card}")
    lines.extend(f"  {directive_text(d)}" for d in turn.directives)
    if turn.requests or turn.error or turn.speech:
        lines.append("  (session ended)" if turn.ends_session else "  (listening)")
    return "\n".join(lines)
