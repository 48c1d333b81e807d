"""An ask's answer as AVS sends it: ``multipart/related`` with directives and the audio they
name; and AVS's ``System.Exception`` JSON as the exception type of its HTTP status."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from . import messages, mime
from .errors import AVSException, MalformedResponse, avs_exception
from .messages import AskResult, Directive
from .transport import Response

log = logging.getLogger("skills.voice")

KNOWN = {"SpeechSynthesizer.Speak", "SpeechRecognizer.ExpectSpeech",
         "SpeechRecognizer.StopCapture", "System.SetEndpoint", "Alexa.ApiGateway.SetGateway",
         "Alexa.EventProcessed"}


def exception(status: int, body: bytes) -> AVSException:
    try:
        payload = (json.loads(body) or {}).get("payload") or {}
    except (ValueError, AttributeError):
        payload = {}
    return avs_exception(status, str(payload.get("code") or ""),
                         str(payload.get("description") or ""))


def read(response: Response, dialog_request_id: str,
         out_dir: Callable[[], Path]) -> AskResult:
    """The result of one Recognize; ``out_dir()`` is where the MP3 parts are saved."""
    result = AskResult(dialog_request_id)
    if response.status_code == 204:
        result.heard_nothing = True
        return result
    if response.status_code != 200:
        raise exception(response.status_code, response.content)
    try:
        parts = mime.parse(response.headers.get("content-type", ""), response.content,
                           "related")
    except mime.MimeError as exc:
        # A caller catches VoiceError; a parser's ValueError would escape it.
        raise MalformedResponse(f"AVS sent a malformed answer: {exc}") from None
    attachments = {p.content_id: p.body for p in parts if p.content_id}
    for part in parts:
        if part.content_type != "application/json":
            continue
        try:
            directive = Directive.from_json(part.json())
        except ValueError as exc:
            log.warning("part of Alexa's answer ignored: %s", exc)
            continue
        result.directives.append(directive)
        if directive.qualified == "SpeechSynthesizer.Speak":
            _speak(result, directive, attachments, out_dir)
        elif directive.qualified not in KNOWN:
            log.info("directive %s ignored", directive.qualified)
    return result


def _speak(result: AskResult, directive: Directive, attachments: dict,
           out_dir: Callable[[], Path]) -> None:
    result.captions.append(messages.caption_text(directive.payload.get("caption")))
    url = str(directive.payload.get("url") or "")
    data = attachments.get(url[4:]) if url.startswith("cid:") else None
    if data is None:
        log.warning("Speak names %s, which is not a part of the answer", url or "no audio")
        return
    directory = out_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{result.dialog_request_id}-{len(result.audio) + 1}.mp3"
    path.write_bytes(data)
    result.audio.append(path)
