"""An ask's answer as AVS sends it, and AVS's ``System.Exception`` JSON as an exception type.

Alexa answers a Recognize with ``multipart/related`` on the event's own stream: directives, and
the audio they name. Since InteractionModel 1.2 the directives are streamed as Alexa makes them,
and the dialog request ends with ``InteractionModel.RequestProcessingCompleted`` carrying its
dialogRequestId, on the event stream or on the downchannel (so may directives of the request).
An :class:`Answer` gathers what came on both, and knows when the request is complete.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path

from . import messages, mime
from .errors import AVSException, MalformedResponse, avs_exception
from .messages import AskResult, Directive
from .transport import Response

log = logging.getLogger("skills.voice")

COMPLETED = "InteractionModel.RequestProcessingCompleted"
MARKERS = {COMPLETED, "InteractionModel.RequestProcessingStarted"}  # not acted on: not kept
KNOWN = {"SpeechSynthesizer.Speak", "SpeechRecognizer.ExpectSpeech",
         "SpeechRecognizer.StopCapture", "System.SetEndpoint", "Alexa.ApiGateway.SetGateway",
         "Alexa.EventProcessed", *MARKERS}


def exception(status: int, body: bytes) -> AVSException:
    try:
        payload = (json.loads(body) or {}).get("payload") or {}
    except (ValueError, AttributeError):
        payload = {}
    return avs_exception(status, str(payload.get("code") or ""),
                         str(payload.get("description") or ""))


class Answer:
    """The directives and audio of one dialog request, from the event stream and the
    downchannel; ``completed`` is set once Alexa says the request is processed."""

    def __init__(self, dialog_request_id: str):
        self.dialog_request_id = dialog_request_id
        self.directives: list[Directive] = []
        self.attachments: dict[str, bytes] = {}
        self.completed = asyncio.Event()
        self.heard_nothing = False

    def add_part(self, part: mime.Part) -> Directive | None:
        """A part of the answer: audio is kept by its Content-ID, a directive added."""
        if part.content_type != "application/json":
            if part.content_id:
                self.attachments[part.content_id] = part.body
            return None
        try:
            directive = Directive.from_json(part.json())
        except ValueError as exc:
            log.warning("part of Alexa's answer ignored: %s", exc)
            return None
        self.add(directive)
        return directive

    def add(self, directive: Directive) -> None:
        if directive.qualified == COMPLETED:
            self.completed.set()
        elif directive.qualified not in MARKERS:
            if directive.qualified not in KNOWN:
                log.info("directive %s ignored", directive.qualified)
            self.directives.append(directive)

    async def read(self, response: Response) -> None:
        """The event stream's share of the answer, part by part as it arrives; it stops at
        RequestProcessingCompleted or the end of the stream."""
        try:
            if response.status_code == 204:  # Alexa heard nothing to act on: nothing follows
                self.heard_nothing = True
                self.completed.set()
                return
            if response.status_code != 200:
                raise exception(response.status_code, await response.aread())
            try:
                parts = mime.PartStream(response.headers.get("content-type", ""))
                async for chunk in response.aiter_bytes():
                    for part in parts.feed(chunk):
                        if _ends(self.add_part(part)):
                            return  # the request's last directive: nothing else belongs to it
                if not parts.closed:
                    raise mime.MimeError("the answer ended before its closing delimiter")
            except mime.MimeError as exc:
                # A caller catches VoiceError; a parser's ValueError would escape it.
                raise MalformedResponse(f"AVS sent a malformed answer: {exc}") from None
        finally:
            await response.aclose()

    def result(self, out_dir: Callable[[], Path]) -> AskResult:
        """What Alexa answered; ``out_dir()`` is where the Speak audio is saved."""
        result = AskResult(self.dialog_request_id, list(self.directives),
                           heard_nothing=self.heard_nothing)
        for directive in result.directives:
            if directive.qualified == "SpeechSynthesizer.Speak":
                self._speak(result, directive, out_dir)
        return result

    def _speak(self, result: AskResult, directive: Directive,
               out_dir: Callable[[], Path]) -> None:
        result.captions.append(messages.caption_text(directive.payload.get("caption")))
        url = str(directive.payload.get("url") or "")
        data = self.attachments.get(url[4:]) if url.startswith("cid:") else None
        if data is None:
            log.warning("Speak names %s, which is not a part of the answer",
                        url or "no audio")
            return
        directory = out_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{result.dialog_request_id}-{len(result.audio) + 1}.mp3"
        path.write_bytes(data)
        result.audio.append(path)


def _ends(directive: Directive | None) -> bool:
    return directive is not None and directive.qualified == COMPLETED
