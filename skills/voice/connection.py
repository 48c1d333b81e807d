"""The AVS client's connection: one HTTP/2 connection per device, kept by a supervisor task.

The supervisor opens the downchannel (``GET /v20160207/directives``, read until the connection
ends), declares the device's capabilities when Alexa does not have them yet
(:mod:`.capabilities`: SpeechSynthesizer 1.3, whose Speak carries captions, and
InteractionModel 1.2), sends ``System.SynchronizeState``, pings after ``ping_idle`` seconds
without a request, follows ``System.SetEndpoint``, and on connection loss, a failed ping, GOAWAY
or a closed downchannel reconnects with exponential backoff and synchronises again. Directives
of the ask under way that come on the downchannel go to its :class:`~.answer.Answer`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from collections.abc import Callable

from . import answer, messages, mime
from .answer import COMPLETED, KNOWN, Answer
from .capabilities import CONFIRM_TIMEOUT, Capabilities
from .errors import RelinkRequired, Unauthorized, Unreachable, UploadReset, VoiceError
from .lwa import Tokens
from .messages import Directive
from .transport import Response, StreamReset, Transport, TransportError

log = logging.getLogger("skills.voice")

API = "/v20160207"
DIRECTIVES = f"{API}/directives"
EVENTS = f"{API}/events"
PING = "/ping"
PING_IDLE = 300.0  # AVS closes a connection after 5 minutes without traffic
ENDPOINT_DIRECTIVES = {"System.SetEndpoint": "endpoint", "Alexa.ApiGateway.SetGateway": "gateway"}
# Device identities with a connection open in this process: AVS closes the older connection
# when a second one opens with the same product ID and serial number.
_OPEN: set[tuple[str, str]] = set()


class Connection:
    """The device's connection to AVS, kept by a supervisor task; events are sent on it."""

    def __init__(self, tokens: Tokens, *, endpoint: str | None = None,
                 verify: bool | str = True, connect_timeout: float = 10.0,
                 ping_idle: float = PING_IDLE, ping_timeout: float = 10.0,
                 backoff: tuple[float, float] = (0.5, 30.0), throttle_retries: int = 2,
                 throttle_backoff: float = 1.0, declare_timeout: float = CONFIRM_TIMEOUT,
                 on_directive: Callable[[Directive], None] | None = None):
        self.tokens = tokens
        self.endpoint = (endpoint or tokens.device.endpoint).rstrip("/")
        self.verify = verify
        self.connect_timeout = connect_timeout
        self.ping_idle = ping_idle
        self.ping_timeout = ping_timeout
        self.backoff = backoff
        self.throttle_retries = throttle_retries
        self.throttle_backoff = throttle_backoff
        self.capabilities = Capabilities(tokens, declare_timeout)
        self.on_directive = on_directive
        self.downchannel: collections.deque[Directive] = collections.deque(maxlen=100)
        self.connects = 0  # connections opened, for logs and tests
        self.pings = 0
        self._directives: asyncio.Queue[Directive] = asyncio.Queue()
        self._transport: Transport | None = None
        self._supervisor: asyncio.Task | None = None
        self._ready = asyncio.Event()
        self._restart = asyncio.Event()
        self._failed = asyncio.Event()
        self._fatal: VoiceError | None = None
        self._last_error = ""
        self._last_failure: Exception | None = None
        self._last_activity = 0.0
        self._closing = False
        self.speech_token = ""  # of the last Speak: SpeechState names it in the context
        self._answer: Answer | None = None  # the ask under way: its downchannel share

    async def __aenter__(self) -> Connection:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection; Unreachable (or the link's error) when the first try fails."""
        if self._supervisor is None:
            if self.identity in _OPEN:
                raise VoiceError(f"device {self.identity[1]} already has an AVS connection "
                                 "open in this process; AVS would close one of them: share "
                                 "one AVSClient")
            _OPEN.add(self.identity)
            self._supervisor = asyncio.create_task(self._supervise(), name="avs-supervisor")
        ready = asyncio.create_task(self._ready.wait())
        failed = asyncio.create_task(self._failed.wait())
        try:
            await asyncio.wait({ready, failed}, timeout=self.connect_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            failed.cancel()
        if self._fatal:
            await self.close()
            raise self._fatal
        if not self._ready.is_set():
            await self.close()
            if isinstance(self._last_failure, VoiceError):  # AVS answered: say what
                raise self._last_failure
            why = self._last_error or "no answer"
            raise Unreachable(f"AVS at {self.endpoint} is unreachable: {why}")

    @property
    def identity(self) -> tuple[str, str]:
        device = self.tokens.device
        return device.product_id, device.serial_number

    async def close(self) -> None:
        if self._supervisor is not None:
            _OPEN.discard(self.identity)
        self._closing = True
        if self._supervisor:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self._transport:
            await self._transport.close()

    async def _supervise(self) -> None:
        attempt = 0
        while not self._closing:
            transport = Transport(self.endpoint, verify=self.verify,
                                  connect_timeout=self.connect_timeout)
            self._transport = transport
            try:
                downchannel, reader = await self._open(transport)
                attempt = 0
                self._ready.set()
                reason = await self._serve(downchannel, reader)
                log.warning("AVS connection lost (%s); reconnecting", reason)
            except (RelinkRequired, Unauthorized) as exc:
                self._fatal = exc
                self._failed.set()
                self._ready.set()  # wake every waiter: they raise the fatal error
                await transport.close()
                return
            except (TransportError, VoiceError, mime.MimeError) as exc:
                self._last_failure, self._last_error = exc, describe(exc)
                log.warning("AVS connection to %s failed: %s", self.endpoint, self._last_error)
                self._failed.set()
            finally:
                if not self._fatal:
                    self._ready.clear()
            await transport.close()
            delay = min(self.backoff[1], self.backoff[0] * 2 ** attempt)
            attempt += 1
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 (jitter)

    async def _open(self, transport: Transport) -> tuple[Response, asyncio.Task]:
        self._restart.clear()
        token = await self.tokens.access_token()
        response = await transport.open_stream("GET", DIRECTIVES, token)
        if response.status_code == 403:
            await response.aclose()
            token = await self.tokens.access_token(force=True, stale=token)
            response = await transport.open_stream("GET", DIRECTIVES, token)
        if response.status_code != 200:
            body = await response.aread()
            await response.aclose()
            raise answer.exception(response.status_code, body)
        self.connects += 1
        log.info("AVS connected to %s (connection %d)", self.endpoint, self.connects)
        # Read at once: Alexa confirms the capabilities report on the downchannel.
        reader = asyncio.create_task(self._read_downchannel(response))
        try:
            await self.capabilities.declare(
                lambda report, token: self._send(transport, report, None, token),
                self.endpoint, token)
            reply = await self._send(transport, messages.synchronize_state(self.speech_token),
                                     None, token)
            if reply.status_code not in (200, 204):
                raise answer.exception(reply.status_code, reply.content)
        except BaseException:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await response.aclose()
            raise
        self._touch()
        return response, reader

    async def _serve(self, downchannel: Response, reader: asyncio.Task) -> str:
        tasks = {reader, asyncio.create_task(self._ping_loop()),
                 asyncio.create_task(self._wait_restart())}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await downchannel.aclose()
        task = done.pop()
        return task.result() if not task.exception() else describe(task.exception())

    async def _wait_restart(self) -> str:
        await self._restart.wait()
        return "reconnect requested"

    async def _read_downchannel(self, response: Response) -> str:
        parts = mime.PartStream(response.headers.get("content-type", ""))
        async for chunk in response.aiter_bytes():
            for part in parts.feed(chunk):
                self._on_downchannel(part)
        return "the server closed the downchannel"

    def _on_downchannel(self, part: mime.Part) -> None:
        current = self._answer
        if part.content_type != "application/json":
            if current and part.content_id:
                current.add_part(part)  # audio that a Speak of the ask may name
            return
        try:
            directive = Directive.from_json(part.json())
        except ValueError as exc:
            log.warning("downchannel part ignored: %s", exc)
            return
        # Directives of the ask's dialog request may come here too, its end among them (one
        # without a dialogRequestId can only be the ask's: asks go one at a time).
        if current and (directive.dialog_request_id == current.dialog_request_id or (
                directive.qualified == COMPLETED and not directive.dialog_request_id)):
            current.add(directive)
        field = ENDPOINT_DIRECTIVES.get(directive.qualified)
        if directive.qualified == "Alexa.EventProcessed":
            self.capabilities.confirmed(directive)
        elif field:
            endpoint = str(directive.payload.get(field) or "").rstrip("/")
            if endpoint and endpoint != self.endpoint:
                log.info("AVS moved this device to %s", endpoint)
                self.endpoint = endpoint
                self._restart.set()
        elif directive.qualified not in KNOWN:
            log.info("directive %s on the downchannel ignored", directive.qualified)
        self.downchannel.append(directive)
        self._directives.put_nowait(directive)
        if self.on_directive:
            self.on_directive(directive)

    async def _ping_loop(self) -> str:
        loop = asyncio.get_running_loop()
        while True:
            idle = loop.time() - self._last_activity
            if idle < self.ping_idle:
                await asyncio.sleep(self.ping_idle - idle)
                continue
            transport = self._transport
            try:
                token = await self.tokens.access_token()
                reply = await transport.request("GET", PING, token, timeout=self.ping_timeout)
            except TransportError as exc:
                return f"ping failed: {describe(exc)}"
            if reply.status_code not in (200, 204):
                return f"ping answered HTTP {reply.status_code}"
            self.pings += 1
            self._touch()

    def _touch(self) -> None:
        self._last_activity = asyncio.get_running_loop().time()

    async def _connected(self) -> Transport:
        try:
            await asyncio.wait_for(self._ready.wait(), self.connect_timeout)
        except TimeoutError:
            raise Unreachable(f"AVS at {self.endpoint} is unreachable: "
                              f"{self._last_error or 'no connection'}") from None
        if self._fatal:
            raise self._fatal
        return self._transport

    def _connection_lost(self, transport: Transport) -> None:
        if transport is self._transport:
            self._ready.clear()
            self._restart.set()

    # -- events ------------------------------------------------------------------------------

    async def _send(self, transport: Transport, metadata: dict, pcm: bytes | None,
                    token: str | None = None, stream: bool = False) -> Response:
        boundary = mime.new_boundary()
        self._touch()
        return await transport.request(
            "POST", EVENTS, token or await self.tokens.access_token(),
            content=mime.form_data(boundary, metadata, pcm),
            content_type=f"multipart/form-data; boundary={boundary}", stream=stream)

    async def send_event(self, metadata: dict, pcm: bytes | None = None, *,
                         stream: bool = False) -> Response:
        """POST an event on the connection: 403 refreshes the token once, 429 backs off, a
        reset upload or a lost connection is tried once more. With ``stream`` the response
        comes before its body (the caller reads and closes it)."""
        refreshed, throttled, retried = False, 0, False
        while True:
            transport = await self._connected()
            token = await self.tokens.access_token()
            try:
                response = await self._send(transport, metadata, pcm, token, stream)
            except TransportError as exc:
                reset = isinstance(exc, StreamReset)
                if not reset:
                    self._connection_lost(transport)
                if retried:
                    if reset:
                        raise UploadReset("AVS reset the audio upload twice") from None
                    raise Unreachable(f"the connection to AVS was lost twice during a "
                                      f"request: {describe(exc)}") from None
                retried = True
                log.warning("%s; sending again", "AVS reset the upload" if reset
                            else f"connection lost during a request ({describe(exc)})")
                continue
            retry = ((response.status_code == 403 and not refreshed)
                     or (response.status_code == 429 and throttled < self.throttle_retries))
            if retry and stream:
                await response.aread()  # the refusal's body; the stream ends with it
            if response.status_code == 403 and not refreshed:
                refreshed = True
                await self.tokens.access_token(force=True, stale=token)
                continue
            if response.status_code == 429 and throttled < self.throttle_retries:
                delay = _retry_after(response) or self.throttle_backoff * 2 ** throttled
                throttled += 1
                log.warning("AVS throttled the request; trying again in %.1f s", delay)
                await asyncio.sleep(delay)
                continue
            return response


def _retry_after(response: Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__
