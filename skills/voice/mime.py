"""MIME for AVS: ``multipart/form-data`` out, ``multipart/related`` in.

Bodies are parsed by the standard library's ``email`` parser with the boundary from the
Content-Type header. The downchannel never ends, so :class:`PartStream` only finds where each
part ends (the RFC 2046 delimiter) and hands every complete part to the same parser.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser

CHUNK = 3200  # 100 ms of 16 kHz 16-bit audio per write, as a microphone would send it


class MimeError(ValueError):
    """The body is not the multipart document its Content-Type announces."""


@dataclass
class Part:
    content_type: str
    body: bytes
    name: str = ""  # form-data field name
    content_id: str = ""  # without the angle brackets

    def json(self):
        return json.loads(self.body)


def new_boundary() -> str:
    return f"avs-{uuid.uuid4().hex}"


def _part_head(name: str, content_type: str) -> bytes:
    return (f'Content-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode()


async def form_data(boundary: str, metadata: dict, audio: bytes | None = None,
                    chunk: int = CHUNK) -> AsyncIterator[bytes]:
    """An event as AVS takes it: a ``metadata`` JSON part, then the ``audio`` part in chunks."""
    delimiter = f"--{boundary}\r\n".encode()
    yield delimiter + _part_head("metadata", "application/json; charset=UTF-8") + \
        json.dumps(metadata).encode() + b"\r\n"
    if audio is not None:
        yield delimiter + _part_head("audio", "application/octet-stream")
        for start in range(0, len(audio), chunk):
            yield audio[start:start + chunk]
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def related(boundary: str, parts: list[Part]) -> bytes:
    """A ``multipart/related`` body (the fake server's answers)."""
    out = bytearray()
    for part in parts:
        out += f"--{boundary}\r\nContent-Type: {part.content_type}\r\n".encode()
        if part.content_id:
            out += f"Content-ID: <{part.content_id}>\r\n".encode()
        out += b"\r\n" + part.body + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def stream_start(boundary: str) -> bytes:
    return f"--{boundary}\r\n".encode()


def stream_part(boundary: str, part: Part) -> bytes:
    """One part of a never-ending stream (after :func:`stream_start`): it ends with the next
    delimiter, so the reader knows at once that the part is complete."""
    head = f"Content-Type: {part.content_type}\r\n"
    if part.content_id:
        head += f"Content-ID: <{part.content_id}>\r\n"
    return head.encode() + b"\r\n" + part.body + f"\r\n--{boundary}\r\n".encode()


def _message(content_type: str, body: bytes) -> Message:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    return BytesParser(policy=policy.HTTP).parsebytes(head + body)


def boundary_of(content_type: str, subtype: str) -> str:
    message = _message(content_type, b"")
    if message.get_content_type() != f"multipart/{subtype}":
        raise MimeError(f"expected multipart/{subtype}, got {message.get_content_type()}")
    boundary = message.get_boundary()
    if not boundary:
        raise MimeError(f"multipart/{subtype} without a boundary")
    return boundary


def parse(content_type: str, body: bytes, subtype: str) -> list[Part]:
    """The parts of a complete multipart body of type ``multipart/<subtype>``."""
    boundary = boundary_of(content_type, subtype)
    if f"--{boundary}".encode() not in body:
        raise MimeError("the body has no part delimited by its boundary")
    message = _message(content_type, body)
    if message.defects:
        raise MimeError(f"malformed multipart body: {message.defects[0].__class__.__name__}")
    parts = []
    for sub in message.iter_parts():
        payload = sub.get_payload(decode=True)
        cid = (sub.get("Content-ID") or "").strip().strip("<>")
        parts.append(Part(sub.get_content_type() if sub.get("Content-Type") else "",
                          payload if isinstance(payload, bytes) else b"",
                          sub.get_param("name", header="content-disposition") or "", cid))
    return parts


class PartStream:
    """Parts of a never-ending ``multipart/related`` stream, each one once it is complete."""

    def __init__(self, content_type: str):
        self.content_type = content_type
        self.boundary = boundary_of(content_type, "related")
        self._delimiter = f"\r\n--{self.boundary}".encode()
        self._buffer = b"\r\n"  # so the first delimiter looks like every later one
        self.closed = False

    def feed(self, data: bytes) -> list[Part]:
        self._buffer += data
        parts = []
        while True:
            start = self._buffer.find(self._delimiter)
            if start < 0:
                return parts
            end = self._buffer.find(self._delimiter, start + len(self._delimiter))
            if end < 0:
                if self._buffer[start + len(self._delimiter):].startswith(b"--"):
                    self.closed = True
                return parts
            chunk = self._buffer[start + 2:end]  # "--boundary ... " without the final CRLF
            self._buffer = self._buffer[end:]
            parts.extend(parse(self.content_type, chunk + f"\r\n--{self.boundary}--".encode(),
                               "related"))
