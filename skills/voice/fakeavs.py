"""The fake AVS's life and what a test arranges with it; its request handling is
:mod:`.fakeprotocol`, its answers :mod:`.fakeanswer` (import it from :mod:`.testing`)."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import threading
import time
import weakref
from pathlib import Path

from . import _certs, audio
from ._h2server import Connection, H2Server, Stream
from .fakeanswer import COMPLETIONS, GARBLES, Answering
from .fakelwa import CLIENT_ID, PRODUCT_ID, SERIAL, FakeLWA
from .fakeprotocol import Protocol
from .fakerules import SkillVoice
from .messages import Directive
from .store import Device, TokenStore


class FakeAVS(Protocol, Answering):
    """The fake service in a thread of its own; every method here may be called from tests."""

    def __init__(self, skill=None, *, lwa: FakeLWA | None = None, tls: bool = False,
                 delay: float = 0.0):
        self.voice = SkillVoice(skill) if skill is not None else None
        self.lwa = lwa
        self.delay = delay
        self.tls = tls
        self.completion = "event-stream"  # where a voice request's end goes (.fakeanswer)
        self.completion_gap = 0.3
        self.confirm_reports = True  # Alexa.EventProcessed after each AddOrUpdateReport
        self.access_tokens: set[str] = set()  # accepted besides the LWA's
        self.revoked: set[str] = set()
        self.texts: dict[str, str] = {}
        self.events: list[str] = []
        self.recognized: list[str] = []
        self.dialog_request_ids: list[str] = []  # of each Recognize taken, in order
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
        self._garbled: list[str] = []
        self._downchannels: list[tuple[Stream, str]] = []
        self._dialogs: dict[str, str] = {}  # ExpectSpeech token → the token of its Speak
        # Per connection: the device (serial) and whether its downchannel and sync happened.
        self._conns: weakref.WeakKeyDictionary[Connection, dict] = weakref.WeakKeyDictionary()
        self._recognizing: dict[str, tuple[Stream, asyncio.Task]] = {}
        self._tasks: set[asyncio.Task] = set()
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
        for task in list(self._tasks):
            self._soon(task.cancel)
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

    def garble_next(self, times: int = 1, how: str = "delimiter") -> None:
        """Answer the next Recognize with a body that is not the multipart it claims: no
        delimiter of its boundary, a last part never closed, or not multipart at all."""
        if how not in GARBLES:
            raise ValueError(f"garble how? one of {GARBLES}")
        self._garbled += [how] * times

    def complete_on(self, where: str, gap: float | None = None) -> None:
        """Where each voice request's RequestProcessingCompleted goes (:mod:`.fakeanswer`)."""
        if where not in COMPLETIONS:
            raise ValueError(f"complete on? one of {COMPLETIONS}")
        self.completion = where
        if gap is not None:
            self.completion_gap = gap

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

    def push(self, namespace: str, name: str, payload: dict | None = None,
             dialog_request_id: str = "") -> None:
        """Send a directive on every open downchannel (as part of a dialog request, if
        named)."""
        self._call(self._push(Directive(namespace, name, payload or {},
                                        dialog_request_id=dialog_request_id)))

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
            device.expires_at = time.time() + float(tokens["expires_in"])
        return device

    def store(self, path: str | Path, **fields) -> TokenStore:
        store = TokenStore(path)
        store.save(self.device(**fields))
        return store
