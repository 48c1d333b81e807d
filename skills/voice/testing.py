"""A fake Alexa Voice Service for tests and demos: HTTP/2 on loopback, and a fake LWA.

    with FakeLWA() as lwa, FakeAVS("skills/memory_game", lwa=lwa) as avs:
        avs.hear("open memory game")   # the audio espeak-ng makes of it now stands for it
        ...point an AVSClient at avs.url (and its device's lwa_url at lwa.url)...

It speaks AVS's protocol and is strict where Amazon is: a bad multipart body or metadata → 400,
an audio format other than ``AUDIO_L16_RATE_16000_CHANNELS_1`` → 400, a body that is not
``multipart/form-data`` → 415, a missing, wrong or expired token → 403, each with the
``System.Exception`` JSON. Audio is mapped to text by the SHA-256 of its samples (tests register
what each audio stands for); unknown audio is heard as nothing (204). The text goes to the skill
through the local dialog engine (:class:`skills.dialog.session.Dialog`, signed requests), and the
answer comes back as AVS sends it: a ``Speak`` directive with a WebVTT caption and an MP3 part
(``espeak-ng`` + ``lame`` when both are installed, otherwise a few silent MPEG frames),
followed by ``ExpectSpeech`` while the skill's session stays open.

On demand: a fixed delay, System.Exception answers, 204, reset uploads, GOAWAY, a dropped
connection, a closed downchannel, directives pushed on the downchannel.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

from . import audio, mime
from ._h2server import H2Server, Stream
from .fakelwa import CLIENT_ID, PRODUCT_ID, SERIAL, FakeLWA
from .messages import RECOGNIZE_FORMAT, Directive
from .store import Device, TokenStore

DONT_KNOW = "Sorry, I don't know that."
PROFILES = {"CLOSE_TALK", "NEAR_FIELD", "FAR_FIELD"}
CODES = {400: "INVALID_REQUEST_EXCEPTION", 403: "UNAUTHORIZED_REQUEST_EXCEPTION",
         415: "INVALID_REQUEST_EXCEPTION", 429: "THROTTLING_EXCEPTION",
         500: "INTERNAL_SERVICE_EXCEPTION", 503: "N/A"}
# One MPEG-1 layer III frame, 32 kbit/s, 44.1 kHz, mono, no CRC: header, then silence.
SILENT_FRAME = bytes([0xFF, 0xFB, 0x10, 0xC0]) + bytes(100)


_MP3_LOCK = threading.Lock()


def speech_mp3(text: str) -> bytes:
    """``text`` spoken as MP3: espeak-ng + lame when installed, else silent valid frames.

    Made once per text: ten answers at once must not run ten encoders at once."""
    with _MP3_LOCK:
        return _speech_mp3(text)


@functools.lru_cache(maxsize=256)
def _speech_mp3(text: str) -> bytes:
    if not (shutil.which("espeak-ng") and shutil.which("lame")):
        return SILENT_FRAME * 10
    with tempfile.TemporaryDirectory(prefix="fake-avs-") as tmp:
        wav, mp3 = Path(tmp) / "a.wav", Path(tmp) / "a.mp3"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "--stdin"],
                       input=text.encode(), capture_output=True, check=True, timeout=60)
        subprocess.run(["lame", "--quiet", "-b", "32", str(wav), str(mp3)],
                       capture_output=True, check=True, timeout=60)
        return mp3.read_bytes()


def exception_body(status: int, description: str, code: str | None = None) -> bytes:
    return json.dumps({"header": {"namespace": "System", "name": "Exception",
                                  "messageId": str(uuid.uuid4())},
                       "payload": {"code": code or CODES.get(status, "N/A"),
                                   "description": description}}).encode()


class Reject(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


class SkillVoice:
    """What Alexa does with the words it heard: open the skill, or go on with its session."""

    def __init__(self, skill):
        from skills.dialog.session import Dialog

        if isinstance(skill, Dialog):
            self.dialog = skill
        elif isinstance(skill, str) and skill.startswith(("http://", "https://")):
            raise ValueError("for a running skill pass Dialog.for_url(url, model)")
        else:
            self.dialog = Dialog.for_skill(skill)
        self._lock = threading.Lock()

    def answer(self, text: str, continuing: bool) -> tuple[str, bool]:
        """(what Alexa says, whether it then listens for an answer)."""
        from skills.dialog.session import parse_invocation

        with self._lock:
            dialog = self.dialog
            if not continuing and parse_invocation(text, dialog.model.invocation_name) is None:
                return DONT_KNOW, False  # Alexa does not know words outside a skill's session
            turn = dialog.say(text)
            if turn.error and not turn.speech:
                return "There was a problem with the requested skill's response", False
            return turn.speech or "", turn.expects_answer


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
        self.pings = 0
        self.downchannels = 0
        self.active = 0
        self.max_active = 0
        self.ca_bundle: str | None = None
        self._planned: list[tuple[int, str]] = []  # (status, description); 204 heard nothing
        self._resets = 0
        self._downchannels: list[tuple[Stream, str]] = []
        self._dialogs: dict[str, bool] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-avs-")
        self.loop = asyncio.new_event_loop()
        self.server = H2Server(self._handle, self._tls_context() if tls else None)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def _tls_context(self):
        import ssl

        from ._certs import self_signed

        cert, key = self_signed(Path(self._tmp.name))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.set_alpn_protocols(["h2"])
        self.ca_bundle = str(cert)
        return context

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

    def _authorized(self, stream: Stream) -> bool:
        header = stream.headers.get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        if not token or token in self.revoked:
            return False
        return token in self.access_tokens or bool(self.lwa and self.lwa.access_valid(token))

    async def _handle(self, stream: Stream) -> None:
        try:
            if not self._authorized(stream):
                raise Reject(403, "Invalid or expired access token")
            route = (stream.method, stream.path)
            if route == ("GET", "/v20160207/directives"):
                return await self._downchannel(stream)
            if route == ("GET", "/ping"):
                self.pings += 1
                return await stream.respond(204)
            if route == ("POST", "/v20160207/events"):
                return await self._event(stream)
            raise Reject(404, f"no such resource: {stream.method} {stream.path}")
        except Reject as exc:
            await stream.respond(exc.status, {"content-type": "application/json"},
                                 exception_body(exc.status, exc.description))

    async def _downchannel(self, stream: Stream) -> None:
        boundary = mime.new_boundary()
        self.downchannels += 1
        await stream.respond(200, {"content-type": f"multipart/related; boundary={boundary}; "
                                                   'type="application/json"'},
                             mime.stream_start(boundary), end=False)
        self._downchannels.append((stream, boundary))
        await stream.read()  # the GET has no body; the response stays open (never ended)

    async def _close_downchannels(self) -> None:
        for stream, _ in self._downchannels:
            if not stream.closed:
                await stream.send(b"", end=True)  # the response ends; the connection stays
        self._downchannels.clear()

    async def _push(self, directive: Directive) -> None:
        body = json.dumps(directive.to_json()).encode()
        for stream, boundary in list(self._downchannels):
            if not stream.closed:
                await stream.send(mime.stream_part(
                    boundary, mime.Part("application/json; charset=UTF-8", body)))

    async def _event(self, stream: Stream) -> None:
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
        self.events.append(name)
        if name != "SpeechRecognizer.Recognize":
            return await stream.respond(204)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await self._recognize(stream, metadata, parts)
        finally:
            self.active -= 1

    async def _recognize(self, stream: Stream, metadata: dict, parts: list) -> None:
        event = metadata["event"]
        payload = event.get("payload") or {}
        request_id = event["header"].get("dialogRequestId")
        if not request_id:
            raise Reject(400, "Recognize without a dialogRequestId")
        if payload.get("format") != RECOGNIZE_FORMAT:
            raise Reject(400, f"Unsupported audio format {payload.get('format')!r}")
        if payload.get("profile") not in PROFILES:
            raise Reject(400, f"Unknown ASR profile {payload.get('profile')!r}")
        sound = next((p.body for p in parts if p.name == "audio"), None)
        if not sound or len(sound) % 2 or sound[:4] == b"RIFF":
            raise Reject(400, "The audio part is missing or not 16-bit PCM samples")
        initiator = payload.get("initiator") or {}
        self.initiators.append(initiator)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self._planned:
            status, description = self._planned.pop(0)
            if status == 204:
                return await stream.respond(204)
            raise Reject(status, description)
        text = self.texts.get(hashlib.sha256(sound).hexdigest())
        if text is None:
            return await stream.respond(204)  # nothing Alexa could make words of
        self.recognized.append(text)
        token = str((initiator.get("payload") or {}).get("token") or "")
        continuing = self._dialogs.pop(token, False)
        if self.voice is None:
            speech, listens = DONT_KNOW, False
        else:
            speech, listens = await asyncio.to_thread(self.voice.answer, text, continuing)
        await self._answer(stream, request_id, speech, listens)

    async def _answer(self, stream: Stream, request_id: str, speech: str, listens: bool):
        cid = f"DeviceTTSRendererV4_{uuid.uuid4()}"
        caption = f"WEBVTT\n\n1\n00:00.000 --> 00:05.000\n{speech}"
        directives = [Directive("SpeechSynthesizer", "Speak", {
            "url": f"cid:{cid}", "format": "AUDIO_MPEG", "token": str(uuid.uuid4()),
            "caption": {"content": caption, "type": "WEBVTT"}}, dialog_request_id=request_id)]
        if listens:
            token = uuid.uuid4().hex
            self._dialogs[token] = True
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
