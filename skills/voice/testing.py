"""A fake Alexa Voice Service for tests and demos: HTTP/2 on loopback, and a fake LWA.

    with FakeLWA() as lwa, FakeAVS("skills/memory_game", lwa=lwa) as avs:
        avs.hear("open memory game")   # the audio espeak-ng makes of it now stands for it
        ...point an AVSClient at avs.url (and its device's lwa_url at lwa.url)...

It speaks AVS's protocol and is strict where Amazon is, each refusal with the
``System.Exception`` JSON: a bad multipart body or metadata → 400, an audio format other than
``AUDIO_L16_RATE_16000_CHANNELS_1`` → 400, an initiator without its ``payload`` or on the wrong
profile → 400, an event before the connection's downchannel, or before SynchronizeState → 400,
a body that is not ``multipart/form-data`` → 415 ``UNSUPPORTED_MEDIA_TYPE``, a missing, wrong or
expired token → 403. A device is known by its token's serial number: its second connection
closes the first (GOAWAY), and its new Recognize cancels (resets) one still open.

Audio is mapped to text by the SHA-256 of its samples (tests register what each stands for);
unknown audio is heard as nothing (204). The text goes to the skill through the dialog engine,
and the answer comes back as AVS sends it: ``Speak`` and its MP3 (:mod:`.fakerules`), then
``ExpectSpeech`` while the skill's session stays open. Speak has a WebVTT caption only once the
device declared SpeechSynthesizer 1.3+ (``Alexa.Discovery.AddOrUpdateReport``); the session goes
on only with ExpectSpeech's initiator and the SpeechState token of the Speak that asked.

On demand: a fixed delay, System.Exception answers, 204, a malformed answer, reset uploads,
GOAWAY, a dropped connection, a closed downchannel, directives pushed on the downchannel.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
import threading
import uuid
import weakref
from pathlib import Path

from . import _certs, audio, fakerules, mime
from ._h2server import Connection, H2Server, Stream
from .fakelwa import CLIENT_ID, PRODUCT_ID, SERIAL, FakeLWA
from .fakerules import DONT_KNOW, Reject, SkillVoice, exception_body, speech_mp3
from .messages import RECOGNIZE_FORMAT, Directive
from .store import Device, TokenStore

__all__ = ["DONT_KNOW", "FakeAVS", "FakeLWA", "SkillVoice", "exception_body", "speech_mp3"]



class FakeAVS:
    """The fake service in a thread of its own; every method here may be called from tests."""

    def __init__(self, skill=None, *, lwa: FakeLWA | None = None, tls: bool = False,
                 delay: float = 0.0):
        self.voice = SkillVoice(skill) if skill is not None else None
        self.lwa = lwa
        self.delay = delay
        self.tls = tls
        self.access_tokens: set[str] = set()  # accepted besides the LWA's
        self.revoked: set[str] = set()
        self.texts: dict[str, str] = {}
        self.events: list[str] = []
        self.recognized: list[str] = []
        self.initiators: list[dict] = []
        self.profiles: list[str] = []
        self.speech_states: list[str] = []  # SpeechState's token in each Recognize's context
        self.reports: list[dict] = []  # AddOrUpdateReport payloads
        self.declared: dict[str, dict[str, str]] = {}  # serial → {interface: version}
        self.cancelled = 0  # Recognize streams reset because a newer one came
        self.pings = 0
        self.downchannels = 0
        self.active = 0
        self.max_active = 0
        self._planned: list[tuple[int, str]] = []  # (status, description); 204 heard nothing
        self._resets = 0
        self._garbled = 0
        self._downchannels: list[tuple[Stream, str]] = []
        self._dialogs: dict[str, str] = {}  # ExpectSpeech token → the token of its Speak
        # Per connection: the device (serial) and whether its downchannel and sync happened.
        self._conns: weakref.WeakKeyDictionary[Connection, dict] = weakref.WeakKeyDictionary()
        self._recognizing: dict[str, tuple[Stream, asyncio.Task]] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-avs-")
        self.loop = asyncio.new_event_loop()
        context, self.ca_bundle = (_certs.server_context(Path(self._tmp.name), ["h2"]) if tls
                                   else (None, None))
        self.server = H2Server(self._handle, context)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    # -- life ------------------------------------------------------------------------------

    def start(self) -> FakeAVS:
        self._thread.start()
        self._call(self.server.start())
        return self

    def stop(self) -> None:
        self._call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self._tmp.cleanup()

    __enter__ = start

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server.port}"

    @property
    def connections(self) -> int:
        """Connections accepted since start."""
        return self.server.accepted

    def _call(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _soon(self, fn, *args) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    # -- what a test arranges ----------------------------------------------------------------

    def register(self, pcm: bytes, text: str) -> bytes:
        self.texts[hashlib.sha256(pcm).hexdigest()] = text
        return pcm

    def hear(self, text: str) -> bytes:
        """Make ``text`` into speech as the client would, and have it understood as ``text``."""
        return self.register(audio.text_to_pcm(text), text)

    def fail_next(self, status: int, description: str = "planned failure", times: int = 1):
        self._planned += [(status, description)] * times

    def heard_nothing_next(self, times: int = 1) -> None:
        self._planned += [(204, "")] * times

    def garble_next(self, times: int = 1) -> None:
        """Answer the next Recognize with a body that is not the multipart it claims."""
        self._garbled += times

    def reset_uploads(self, times: int = 1) -> None:
        self._resets += times

    def revoke_access_tokens(self) -> None:
        """AVS stops taking the tokens issued so far (the next refresh gives a good one)."""
        self.revoked |= set(self.lwa.access_tokens if self.lwa else self.access_tokens)

    def goaway(self) -> None:
        for connection in list(self.server.connections):
            self._soon(connection.goaway)

    def drop(self) -> None:
        for connection in list(self.server.connections):
            self._soon(connection.abort)

    def close_downchannel(self) -> None:
        self._call(self._close_downchannels())

    def push(self, namespace: str, name: str, payload: dict | None = None) -> None:
        """Send a directive on every open downchannel."""
        self._call(self._push(Directive(namespace, name, payload or {})))

    def set_endpoint(self, url: str) -> None:
        self.push("System", "SetEndpoint", {"endpoint": url})

    def device(self, tokens: dict | None = None, **fields) -> Device:
        """A linked device pointing at this fake (and its LWA), tokens from the fake LWA."""
        tokens = tokens or (self.lwa.issue() if self.lwa else {})
        device = Device(CLIENT_ID, PRODUCT_ID, SERIAL, avs_url=self.url,
                        lwa_url=self.lwa.url if self.lwa else "",
                        refresh_token=tokens.get("refresh_token", ""),
                        access_token=tokens.get("access_token", ""), **fields)
        if "expires_in" in tokens and "expires_at" not in fields:
            import time

            device.expires_at = time.time() + float(tokens["expires_in"])
        return device

    def store(self, path: str | Path, **fields) -> TokenStore:
        store = TokenStore(path)
        store.save(self.device(**fields))
        return store

    # -- the protocol ------------------------------------------------------------------------

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
        if older and not older[0].closed:
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
        declared = fakerules.check_report(event, state["serial"], token)
        self.reports.append(event["payload"])
        self.declared[state["serial"]] = declared
        await stream.respond(202)
        await self._push({"directive": {"header": {
            "namespace": "Alexa", "name": "EventProcessed", "messageId": str(uuid.uuid4()),
            "eventCorrelationToken": event["header"]["eventCorrelationToken"],
            "payloadVersion": "3"}, "payload": {}}}, state["serial"])

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
            self._garbled -= 1
            return await stream.respond(200, {"content-type": "multipart/related; boundary=b1"},
                                        b"--not-b1\r\nnot a part")
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
        captions = fakerules.captions_declared(self.declared.get(serial, {}))
        await self._answer(stream, request_id, speech, listens, captions)

    async def _answer(self, stream: Stream, request_id: str, speech: str, listens: bool,
                      captions: bool):
        cid = f"DeviceTTSRendererV4_{uuid.uuid4()}"
        speak = {"url": f"cid:{cid}", "format": "AUDIO_MPEG", "token": str(uuid.uuid4())}
        if captions:
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
        mp3 = await asyncio.to_thread(speech_mp3, speech)
        boundary = mime.new_boundary()
        parts = [mime.Part("application/json; charset=UTF-8", json.dumps(d.to_json()).encode())
                 for d in directives]
        parts.insert(1, mime.Part("application/octet-stream", mp3, content_id=cid))
        await stream.respond(200, {"content-type": f"multipart/related; boundary={boundary}; "
                                                   'type="application/json"'},
                             mime.related(boundary, parts))


def main(argv: list[str] | None = None) -> int:
    """``python -m skills.voice.testing SKILL``: a fake LWA and AVS for a manual round trip."""
    import argparse
    import time

    parser = argparse.ArgumentParser(prog="python -m skills.voice.testing",
                                     description=main.__doc__)
    parser.add_argument("skill", help="a skill directory")
    parser.add_argument("--config", help="write a linked device for the fakes here (0600)")
    parser.add_argument("--hear", action="append", default=[], metavar="TEXT",
                        help="text whose espeak-ng audio the fake understands (repeatable)")
    parser.add_argument("--delay", type=float, default=0.0,
                        help="seconds the fake takes to answer each ask")
    args = parser.parse_args(argv)
    with FakeLWA() as lwa, FakeAVS(args.skill, lwa=lwa, delay=args.delay) as avs:
        for text in args.hear:
            avs.hear(text)
        if args.config:
            avs.store(args.config)
        print(f"fake LWA {lwa.url}\nfake AVS {avs.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
