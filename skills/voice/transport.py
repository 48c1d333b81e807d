"""The thin layer between the AVS client and HTTP/2: one connection, many streams, on ``h2``.

Written on h2 rather than httpx because httpcore's HTTP/2 stalls when several uploads wait for
flow-control credit while another stream (the downchannel) holds the connection's read lock:
ten asks at once hung. Here one reader task owns the socket and wakes whoever waits (response
headers, body bytes, window credit), so uploads, answers and the downchannel never wait on each
other. Cleartext URLs (the fakes) use HTTP/2 with prior knowledge; HTTPS offers only ``h2``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

# hpack logs every header it encodes at DEBUG, the bearer token included: keep it quieter.
logging.getLogger("hpack").setLevel(logging.INFO)

WINDOW = 16 * 1024 * 1024  # what we let the server send unacknowledged: answers are small


class TransportError(Exception):
    """Base of the transport's failures."""


class ConnectFailed(TransportError):
    """No connection: refused, no route, TLS failed, or the server does not speak h2."""


class ConnectionLost(TransportError):
    """The connection ended (dropped, GOAWAY) before the stream did."""


class StreamReset(TransportError):
    """The server reset this stream; the connection lives on."""


class Response:
    """An HTTP/2 response, with the parts of httpx's interface the client uses."""

    def __init__(self, stream: _Stream, status: int, headers: dict[str, str]):
        self._stream = stream
        self.status_code = status
        self.headers = headers
        self.content = b""

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        while (chunk := await self._stream.next_chunk()) is not None:
            yield chunk

    async def aread(self) -> bytes:
        self.content = b"".join([chunk async for chunk in self.aiter_bytes()])
        return self.content

    def json(self):
        return json.loads(self.content)

    async def aclose(self) -> None:
        self._stream.connection.cancel(self._stream)


class _Stream:
    def __init__(self, connection: Transport, stream_id: int):
        self.connection = connection
        self.id = stream_id
        self.response: asyncio.Future = asyncio.get_running_loop().create_future()
        self.chunks: asyncio.Queue = asyncio.Queue()
        self.window = asyncio.Event()
        self.error: TransportError | None = None

    async def next_chunk(self) -> bytes | None:
        item = await self.chunks.get()
        if isinstance(item, TransportError):
            raise item
        return item

    def fail(self, error: TransportError) -> None:
        if self.error is None:
            self.error = error
            if not self.response.done():
                self.response.set_exception(error)
                self.response.exception()  # retrieved: no "never retrieved" warning
            self.chunks.put_nowait(error)
            self.window.set()


class Transport:
    """One HTTP/2 connection to ``base_url``, opened on first use."""

    def __init__(self, base_url: str, *, verify: bool | str = True,
                 connect_timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        url = urlsplit(self.base_url)
        self.tls = url.scheme == "https"
        self.host = url.hostname or "localhost"
        self.port = url.port or (443 if self.tls else 80)
        self.verify = verify
        self.connect_timeout = connect_timeout
        self.closed = False
        self._h2: h2.connection.H2Connection | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task | None = None
        self._streams: dict[int, _Stream] = {}
        self._connect_lock = asyncio.Lock()
        self._slot = asyncio.Event()  # a stream ended: room for another

    async def _connection(self) -> h2.connection.H2Connection:
        async with self._connect_lock:
            if self.closed:
                raise ConnectionLost("the connection is closed")
            if self._h2 is None:
                await self._connect()
            return self._h2

    async def _connect(self) -> None:
        context = None
        if self.tls:
            context = ssl.create_default_context(
                cafile=self.verify if isinstance(self.verify, str) else None)
            if self.verify is False:
                context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            context.set_alpn_protocols(["h2"])
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=context,
                                        server_hostname=self.host if context else None),
                self.connect_timeout)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: "
                                f"{exc.__class__.__name__} {exc}".strip()) from None
        if context and writer.get_extra_info("ssl_object").selected_alpn_protocol() != "h2":
            writer.close()
            raise ConnectFailed(f"{self.host}:{self.port} does not speak HTTP/2 (ALPN)")
        connection = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8"))
        connection.local_settings = h2.settings.Settings(
            client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW,
                                         h2.settings.SettingCodes.ENABLE_PUSH: 0})
        connection.initiate_connection()
        connection.increment_flow_control_window(WINDOW - 65535)
        self._h2, self._writer = connection, writer
        self._flush()
        self._reader_task = asyncio.create_task(self._read(reader), name="h2-reader")

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        error: TransportError = ConnectionLost("the server closed the connection")
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for event in self._h2.receive_data(data):
                    self._event(event)
                self._flush()
                if isinstance(self.closed, TransportError):
                    error = self.closed
                    break
        except (OSError, h2.exceptions.ProtocolError) as exc:
            error = ConnectionLost(f"connection lost: {exc.__class__.__name__} {exc}".strip())
        self._lose(error)

    def _event(self, event) -> None:
        stream = self._streams.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, h2.events.ResponseReceived) and stream:
            headers = dict(event.headers)
            if not stream.response.done():
                stream.response.set_result((int(headers.pop(":status", 0)), headers))
        elif isinstance(event, h2.events.DataReceived):
            # Everything is kept in memory anyway: give the credit back at once.
            self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if stream:
                stream.chunks.put_nowait(event.data)
        elif isinstance(event, h2.events.StreamEnded) and stream:
            stream.chunks.put_nowait(None)
            self._streams.pop(stream.id, None)
            self._slot.set()
        elif isinstance(event, h2.events.StreamReset) and stream:
            self._streams.pop(stream.id, None)
            self._slot.set()
            stream.fail(StreamReset(f"the server reset stream {stream.id} "
                                    f"({event.error_code!r})"))
        elif isinstance(event, h2.events.WindowUpdated):
            targets = self._streams.values() if not event.stream_id else [stream]
            for each in targets:
                if each:
                    each.window.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.closed = ConnectionLost(f"the server sent GOAWAY ({event.error_code!r})")

    def _lose(self, error: TransportError) -> None:
        self.closed = self.closed or error
        for stream in list(self._streams.values()):
            stream.fail(error)
        self._streams.clear()
        self._slot.set()
        if self._writer:
            self._writer.close()

    async def _send_body(self, stream: _Stream, body: AsyncIterator[bytes] | bytes) -> None:
        chunks = body if not isinstance(body, bytes) else _once(body)
        async for chunk in chunks:
            view = memoryview(chunk)
            while view:
                if stream.error:
                    raise stream.error
                room = min(self._h2.local_flow_control_window(stream.id),
                           self._h2.max_outbound_frame_size, len(view))
                if room <= 0:
                    stream.window.clear()
                    await stream.window.wait()
                    continue
                self._h2.send_data(stream.id, bytes(view[:room]))
                self._flush()
                await self._writer.drain()
                view = view[room:]
        if stream.error:
            raise stream.error
        self._h2.end_stream(stream.id)
        self._flush()

    async def _start(self, method: str, path: str, token: str, content, content_type):
        connection = await self._connection()
        # Past the server's limit of concurrent streams, wait for one to end.
        while connection.open_outbound_streams >= connection.remote_settings.max_concurrent_streams:
            if self.closed:
                raise ConnectionLost("the connection is closed")
            self._slot.clear()
            await self._slot.wait()
        stream = _Stream(self, connection.get_next_available_stream_id())
        self._streams[stream.id] = stream
        headers = [(":method", method), (":scheme", "https" if self.tls else "http"),
                   (":authority", f"{self.host}:{self.port}"), (":path", path),
                   ("authorization", f"Bearer {token}")]
        if content_type:
            headers.append(("content-type", content_type))
        try:
            connection.send_headers(stream.id, headers, end_stream=content is None)
        except h2.exceptions.ProtocolError as exc:
            raise ConnectionLost(f"cannot open a stream: {exc}") from None
        self._flush()
        if content is not None:
            try:
                await self._send_body(stream, content)
            except (h2.exceptions.StreamClosedError, StreamReset):
                raise stream.error or StreamReset("the server reset the upload") from None
        status, response_headers = await stream.response
        return Response(stream, status, response_headers)

    async def open_stream(self, method: str, path: str, token: str) -> Response:
        """A request whose response body is read as it comes (the caller closes it)."""
        return await self._start(method, path, token, None, None)

    async def request(self, method: str, path: str, token: str, *,
                      content: AsyncIterator[bytes] | bytes | None = None,
                      content_type: str | None = None, timeout: float | None = None,
                      stream: bool = False) -> Response:
        """The response, read whole; with ``stream``, as soon as its headers came (the
        caller reads the body as it arrives, and closes it)."""
        async def whole() -> Response:
            response = await self._start(method, path, token, content, content_type)
            if not stream:
                await response.aread()
            return response

        if timeout is None:
            return await whole()
        try:  # asyncio.timeout: 3.11's wait_for can swallow a cancel that meets the answer
            async with asyncio.timeout(timeout):
                return await whole()
        except TimeoutError:
            raise ConnectionLost(f"no answer within {timeout:g} s") from None

    def cancel(self, stream: _Stream) -> None:
        if stream.id in self._streams and self._h2 and not self.closed:
            self._streams.pop(stream.id, None)
            try:
                self._h2.reset_stream(stream.id)
                self._flush()
            except h2.exceptions.ProtocolError:
                pass

    async def close(self) -> None:
        if self._h2 is not None and not self.closed:
            try:
                self._h2.close_connection()
                self._flush()
            except h2.exceptions.ProtocolError:
                pass
        self._lose(ConnectionLost("the client closed the connection"))
        if self._reader_task:
            self._reader_task.cancel()
            await asyncio.gather(self._reader_task, return_exceptions=True)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
