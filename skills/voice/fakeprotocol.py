"""The fake AVS's request handling: tokens, one connection per device, the downchannel, and the
events (what AVS refuses, and in which order it wants them). A mixin of
:class:`~skills.voice.fakeavs.FakeAVS`, whose state it keeps; a Recognize goes on to
:mod:`.fakeanswer`.
"""

from __future__ import annotations

import asyncio
import json
import uuid

from . import fakerules, mime
from ._h2server import Stream
from .fakelwa import SERIAL
from .fakerules import Reject, exception_body
from .messages import Directive


class Protocol:
    @staticmethod
    def _token(stream: Stream) -> str:
        header = stream.headers.get("authorization", "")
        return header[7:] if header.startswith("Bearer ") else ""

    def _authorized(self, token: str) -> bool:
        if not token or token in self.revoked:
            return False
        return token in self.access_tokens or bool(self.lwa and self.lwa.access_valid(token))

    def _state(self, stream: Stream, token: str) -> dict:
        """The connection's state; a device's first request on a new connection closes its
        older connection, as AVS does."""
        connection = stream.connection
        state = self._conns.get(connection)
        if state is None:
            serial = (self.lwa.serial_of(token) if self.lwa else None) or SERIAL
            state = self._conns[connection] = {"serial": serial, "downchannel": False,
                                               "synchronized": False}
            for other, known in list(self._conns.items()):
                if other is not connection and known["serial"] == serial and not other.closed:
                    other.goaway()
        return state

    async def _handle(self, stream: Stream) -> None:
        try:
            token = self._token(stream)
            if not self._authorized(token):
                raise Reject(403, "Invalid or expired access token")
            state = self._state(stream, token)
            route = (stream.method, stream.path)
            if route == ("GET", "/v20160207/directives"):
                return await self._downchannel(stream, state)
            if route == ("GET", "/ping"):
                self.pings += 1
                return await stream.respond(204)
            if route == ("POST", "/v20160207/events"):
                return await self._event(stream, state, token)
            raise Reject(404, f"no such resource: {stream.method} {stream.path}")
        except Reject as exc:
            await stream.respond(exc.status, {"content-type": "application/json"},
                                 exception_body(exc.status, exc.description))

    async def _downchannel(self, stream: Stream, state: dict) -> None:
        boundary = mime.new_boundary()
        self.downchannels += 1
        state["downchannel"] = True
        await stream.respond(200, {"content-type": f"multipart/related; boundary={boundary}; "
                                                   'type="application/json"'},
                             mime.stream_start(boundary), end=False)
        self._downchannels.append((stream, boundary))
        await stream.read()  # the GET has no body; the response stays open (never ended)

    async def _close_downchannels(self) -> None:
        for stream, _ in self._downchannels:
            self._conns.get(stream.connection, {})["downchannel"] = False
            if not stream.closed:
                await stream.send(b"", end=True)  # the response ends; the connection stays
        self._downchannels.clear()

    async def _push(self, directive: Directive | dict, serial: str | None = None) -> None:
        message = directive.to_json() if isinstance(directive, Directive) else directive
        body = json.dumps(message).encode()
        for stream, boundary in list(self._downchannels):
            state = self._conns.get(stream.connection) or {}
            if not stream.closed and serial in (None, state.get("serial")):
                await stream.send(mime.stream_part(
                    boundary, mime.Part("application/json; charset=UTF-8", body)))

    async def _event(self, stream: Stream, state: dict, token: str) -> None:
        if self._resets:
            self._resets -= 1
            await stream.read_chunk()  # let the upload start, then cut it
            stream.reset()
            return
        body = await stream.read()
        content_type = stream.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            raise Reject(415, f"Unsupported media type: {content_type or 'none'}")
        try:
            parts = mime.parse(content_type, body, "form-data")
            metadata = parts[0].json() if parts and parts[0].name == "metadata" else None
            header = metadata["event"]["header"]
            name = f"{header['namespace']}.{header['name']}"
        except (mime.MimeError, ValueError, KeyError, TypeError) as exc:
            raise Reject(400, f"Bad multipart message or metadata: {exc}") from None
        if not state["downchannel"]:
            raise Reject(400, f"{name} before the downchannel: open GET /v20160207/directives "
                              "on this connection first")
        self.events.append(name)
        if name == "Alexa.Discovery.AddOrUpdateReport":
            return await self._report(stream, state, metadata["event"], token)
        if name == "System.SynchronizeState":
            state["synchronized"] = True
        elif not state["synchronized"]:
            raise Reject(400, f"{name} before System.SynchronizeState on this connection")
        if name != "SpeechRecognizer.Recognize":
            return await stream.respond(204)
        serial = state["serial"]
        older = self._recognizing.get(serial)
        if older and not older[0].closed and not older[0].ended:
            # AVS handles a device's requests one at a time: the newer Recognize wins.
            self.cancelled += 1
            older[0].reset()
            older[1].cancel()
        self._recognizing[serial] = (stream, asyncio.current_task())
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await self._recognize(stream, metadata, parts, serial)
        finally:
            self.active -= 1
            if self._recognizing.get(serial, (None,))[0] is stream:
                del self._recognizing[serial]

    async def _report(self, stream: Stream, state: dict, event: dict, token: str) -> None:
        """AddOrUpdateReport: accepted (202), kept for the device (across its connections, as
        Alexa keeps it), then confirmed on the downchannel by Alexa.EventProcessed."""
        declared = fakerules.check_report(event, state["serial"], token)
        self.reports.append(event["payload"])
        self.declared[state["serial"]] = declared
        await stream.respond(202)
        if self.confirm_reports:
            await self._push({"directive": {"header": {
                "namespace": "Alexa", "name": "EventProcessed", "messageId": str(uuid.uuid4()),
                "eventCorrelationToken": event["header"]["eventCorrelationToken"],
                "payloadVersion": "3"}, "payload": {}}}, state["serial"])
