"""A small HTTP/2 server on h2 and asyncio, for the fake AVS: streams, resets and GOAWAY on call.

Each request's handler starts when its headers arrive and reads the body as it comes, so it can
answer before the upload ends, reset the stream mid-upload, or keep a response open forever
(the downchannel). Flow control is honoured both ways.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

log = logging.getLogger("skills.voice.testing")


class Stream:
    def __init__(self, connection: Connection, stream_id: int, headers: dict[str, str]):
        self.connection = connection
        self.id = stream_id
        self.headers = headers
        self.method = headers.get(":method", "")
        self.path = headers.get(":path", "")
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.window = asyncio.Event()
        self.closed = False  # reset by either side, or the connection ended
        self.ended = False  # the whole response was sent

    async def read(self) -> bytes:
        """The whole request body; ConnectionError if the stream or connection ends first."""
        body = bytearray()
        while (chunk := await self.read_chunk()) is not None:
            body += chunk
        return bytes(body)

    async def read_chunk(self) -> bytes | None:
        chunk = await self._chunks.get()
        if chunk == b"\0closed":
            raise ConnectionError("stream closed")
        return chunk

    async def respond(self, status: int, headers: dict[str, str] | None = None,
                      body: bytes = b"", end: bool = True) -> None:
        await self.connection.send_headers(self.id, status, headers or {}, end and not body)
        if body or not end:
            await self.send(body, end=end)

    async def send(self, data: bytes, end: bool = False) -> None:
        await self.connection.send_data(self, data, end)

    def reset(self, code: h2.errors.ErrorCodes = h2.errors.ErrorCodes.CANCEL) -> None:
        self.connection.reset(self, code)


Handler = Callable[[Stream], Awaitable[None]]


class Connection:
    def __init__(self, server: H2Server, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding="utf-8"))
        self.streams: dict[int, Stream] = {}
        self.tasks: set[asyncio.Task] = set()
        self.closed = False

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def run(self) -> None:
        self.h2.initiate_connection()
        self.flush()
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError as exc:
                    log.warning("fake AVS: protocol error %s", exc)
                    break
                for event in events:
                    self._event(event)
                self.flush()
        except (ConnectionError, OSError):
            pass
        finally:
            self.abort()

    def _event(self, event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            stream = Stream(self, event.stream_id, dict(event.headers))
            self.streams[event.stream_id] = stream
            if event.stream_ended:
                stream._chunks.put_nowait(None)
            task = asyncio.create_task(self._handle(stream))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif isinstance(event, h2.events.DataReceived):
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            stream = self.streams.get(event.stream_id)
            if stream and not stream.closed:
                stream._chunks.put_nowait(event.data)
        elif isinstance(event, h2.events.StreamEnded):
            stream = self.streams.get(event.stream_id)
            if stream:
                stream._chunks.put_nowait(None)
        elif isinstance(event, h2.events.StreamReset):
            self._close_stream(event.stream_id)
        elif isinstance(event, h2.events.WindowUpdated):
            targets = (self.streams.values() if not event.stream_id
                       else [self.streams.get(event.stream_id)])
            for stream in targets:
                if stream:
                    stream.window.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.closed = True

    def _ended(self, stream_id: int) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream:
            stream.ended = True

    def _close_stream(self, stream_id: int) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream and not stream.closed:
            stream.closed = True
            stream._chunks.put_nowait(b"\0closed")
            stream.window.set()

    async def _handle(self, stream: Stream) -> None:
        try:
            await self.server.handler(stream)
        except (ConnectionError, h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            pass
        except Exception:
            log.exception("fake AVS handler failed for %s %s", stream.method, stream.path)
            if not stream.closed and not self.closed:
                stream.reset(h2.errors.ErrorCodes.INTERNAL_ERROR)

    async def send_headers(self, stream_id: int, status: int, headers: dict[str, str],
                           end: bool) -> None:
        if self.closed:
            raise ConnectionError("connection closed")
        self.h2.send_headers(stream_id, [(":status", str(status)), *headers.items()],
                             end_stream=end)
        if end:
            self._ended(stream_id)
        self.flush()
        await self.writer.drain()

    async def send_data(self, stream: Stream, data: bytes, end: bool) -> None:
        view = memoryview(data)
        while True:
            if stream.closed or self.closed:
                raise ConnectionError("stream closed")
            room = min(self.h2.local_flow_control_window(stream.id),
                       self.h2.max_outbound_frame_size, len(view))
            if room <= 0 and len(view):
                stream.window.clear()
                await stream.window.wait()
                continue
            last = room == len(view)
            self.h2.send_data(stream.id, bytes(view[:room]), end_stream=end and last)
            self.flush()
            await self.writer.drain()
            view = view[room:]
            if last:
                if end:
                    self._ended(stream.id)
                return

    def reset(self, stream: Stream, code: h2.errors.ErrorCodes) -> None:
        if not self.closed and not stream.closed:
            self.h2.reset_stream(stream.id, code)
            self.flush()
        self._close_stream(stream.id)

    def goaway(self, code: h2.errors.ErrorCodes = h2.errors.ErrorCodes.NO_ERROR) -> None:
        """GOAWAY, then close: as AVS does to move or end a device's connection."""
        if not self.closed:
            self.h2.close_connection(code)
            self.flush()
        self.abort()

    def abort(self) -> None:
        """Drop the connection without a word, as a lost network would."""
        if self.closed and self.writer.is_closing():
            return
        self.closed = True
        for stream_id in list(self.streams):
            self._close_stream(stream_id)
        self.writer.close()
        self.server.connections.discard(self)


class H2Server:
    """``handler(stream)`` serves every request; ``start()`` listens on 127.0.0.1."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None):
        self.handler = handler
        self.tls = tls
        self.connections: set[Connection] = set()
        self.accepted = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection(self, reader, writer)
        self.connections.add(connection)
        self.accepted += 1
        await connection.run()

    async def stop(self) -> None:
        for connection in list(self.connections):
            connection.abort()
        if self._server:
            self._server.close()
            await self._server.wait_closed()
