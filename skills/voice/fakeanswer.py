"""What the fake AVS does with a Recognize: the checks AVS makes, the words its audio stands
for, the skill's turn, and the answer as AVS streams it: ``Speak`` and its MP3, ``ExpectSpeech``
while the skill's session stays open, then ``InteractionModel.RequestProcessingCompleted`` with
the request's dialogRequestId. A mixin of :class:`~skills.voice.fakeavs.FakeAVS`, whose state it
keeps.

Where the request's end goes is ``FakeAVS.completion``: ``"event-stream"`` (after the Speak, as
the last part of the answer), ``"downchannel-before"`` (on the downchannel, ``completion_gap``
seconds before the answer), ``"downchannel-after"`` (on the downchannel, ``completion_gap``
seconds after the answer ended) or ``"never"``. Like Alexa, the fake ends requests so only for
a device that declared InteractionModel 1.2, and captions Speak only once SpeechSynthesizer 1.3
was declared.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid

from . import fakerules, mime
from ._h2server import Stream
from .fakerules import CAPTIONS_FROM, COMPLETES_FROM, DONT_KNOW, Reject, speech_mp3
from .messages import RECOGNIZE_FORMAT, Directive

COMPLETIONS = ("event-stream", "downchannel-before", "downchannel-after", "never")
GARBLES = ("delimiter", "truncated", "not-multipart")


class Answering:
    async def _recognize(self, stream: Stream, metadata: dict, parts: list,
                         serial: str) -> None:
        event = metadata["event"]
        payload = event.get("payload") or {}
        request_id = event["header"].get("dialogRequestId")
        if not request_id:
            raise Reject(400, "Recognize without a dialogRequestId")
        if payload.get("format") != RECOGNIZE_FORMAT:
            raise Reject(400, f"Unsupported audio format {payload.get('format')!r}")
        initiator = fakerules.check_initiator(payload)
        sound = next((p.body for p in parts if p.name == "audio"), None)
        if not sound or len(sound) % 2 or sound[:4] == b"RIFF":
            raise Reject(400, "The audio part is missing or not 16-bit PCM samples")
        self.dialog_request_ids.append(request_id)
        self.initiators.append(initiator)
        self.profiles.append(payload["profile"])
        said_last = fakerules.speech_state(metadata)
        self.speech_states.append(said_last)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self._planned:
            status, description = self._planned.pop(0)
            if status == 204:
                return await stream.respond(204)
            raise Reject(status, description)
        if self._garbled:
            return await self._garble(stream, self._garbled.pop(0), request_id)
        text = self.texts.get(hashlib.sha256(sound).hexdigest())
        if text is None:
            return await stream.respond(204)  # nothing Alexa could make words of
        self.recognized.append(text)
        token = str(initiator["payload"].get("token") or "")
        speak = self._dialogs.pop(token, None)
        continuing = speak is not None and speak == said_last
        if self.voice is None:
            speech, listens = DONT_KNOW, False
        else:
            speech, listens = await asyncio.to_thread(self.voice.answer, text, continuing)
        await self._answer(stream, request_id, speech, listens, serial)

    async def _answer(self, stream: Stream, request_id: str, speech: str, listens: bool,
                      serial: str) -> None:
        declared = self.declared.get(serial, {})
        cid = f"DeviceTTSRendererV4_{uuid.uuid4()}"
        speak = {"url": f"cid:{cid}", "format": "AUDIO_MPEG", "token": str(uuid.uuid4())}
        if fakerules.declared_at_least(declared, "SpeechSynthesizer", CAPTIONS_FROM):
            speak["caption"] = {"content": f"WEBVTT\n\n1\n00:00.000 --> 00:05.000\n{speech}",
                                "type": "WEBVTT"}
        directives = [Directive("SpeechSynthesizer", "Speak", speak,
                                dialog_request_id=request_id)]
        if listens:
            token = uuid.uuid4().hex
            self._dialogs[token] = speak["token"]
            directives.append(Directive("SpeechRecognizer", "ExpectSpeech", {
                "timeoutInMilliseconds": 8000,
                "initiator": {"type": "EXPECT_SPEECH", "payload": {"token": token}}},
                dialog_request_id=request_id))
        completed = Directive("InteractionModel", "RequestProcessingCompleted", {},
                              dialog_request_id=request_id)
        where = (self.completion
                 if fakerules.declared_at_least(declared, "InteractionModel", COMPLETES_FROM)
                 else "never")
        if where == "event-stream":
            directives.append(completed)
        mp3 = await asyncio.to_thread(speech_mp3, speech)
        parts = [_json_part(d) for d in directives]
        parts.insert(1, mime.Part("application/octet-stream", mp3, content_id=cid))
        if where == "downchannel-before":
            await self._push(completed, serial)
            await asyncio.sleep(self.completion_gap)
        boundary = mime.new_boundary()
        await stream.respond(200, {"content-type": f"multipart/related; boundary={boundary}; "
                                                   'type="application/json"'},
                             mime.related(boundary, parts))
        if where == "downchannel-after":
            task = asyncio.create_task(self._push_later(completed, serial))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _push_later(self, directive: Directive, serial: str) -> None:
        await asyncio.sleep(self.completion_gap)
        await self._push(directive, serial)

    async def _garble(self, stream: Stream, how: str, request_id: str) -> None:
        """A 200 answer that is not the multipart document it claims to be."""
        if how == "not-multipart":
            return await stream.respond(200, {"content-type": "application/json"}, b"{}")
        body = b"--not-b1\r\nnot a part"
        if how == "truncated":  # one whole part, then the stream ends: no closing delimiter
            speak = Directive("SpeechSynthesizer", "Speak", {"token": "t"},
                              dialog_request_id=request_id)
            body = b"--b1\r\nContent-Type: application/json\r\n\r\n" + \
                json.dumps(speak.to_json()).encode() + b"\r\n"
        await stream.respond(200, {"content-type": "multipart/related; boundary=b1"}, body)


def _json_part(directive: Directive) -> mime.Part:
    return mime.Part("application/json; charset=UTF-8", json.dumps(directive.to_json()).encode())
