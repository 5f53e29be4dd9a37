"""Incremental server-sent-events decoding.

Network reads split events anywhere (inside a line, inside a multi-byte UTF-8
character, between ``\\r`` and ``\\n``), so the decoder buffers bytes and yields an
event only once its terminating blank line has arrived.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Event:
    event: str | None
    data: str


class SSEDecoder:
    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> Iterator[Event]:
        self._buffer += chunk
        while True:
            line, sep, rest = _split_line(self._buffer)
            if not sep:
                return
            self._buffer = rest
            yield from self._line(line.decode("utf-8"))

    def close(self) -> Iterator[Event]:
        """End of stream: a final event without its blank line still counts."""
        if self._buffer:
            yield from self._line(self._buffer.decode("utf-8", errors="replace"))
            self._buffer = b""
        yield from self._line("")

    def _line(self, line: str) -> Iterator[Event]:
        if line == "":
            if self._data:
                yield Event(self._event, "\n".join(self._data))
            self._event, self._data = None, []
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value


def _split_line(buffer: bytes) -> tuple[bytes, bytes, bytes]:
    """Split at the first CRLF, LF or CR; a trailing CR waits for a possible LF."""
    lf, cr = buffer.find(b"\n"), buffer.find(b"\r")
    if cr == -1 or (lf != -1 and lf < cr):
        return (buffer[:lf], b"\n", buffer[lf + 1 :]) if lf != -1 else (buffer, b"", b"")
    if cr + 1 == len(buffer):
        return buffer, b"", b""
    if buffer[cr + 1] == 0x0A:
        return buffer[:cr], b"\r\n", buffer[cr + 2 :]
    return buffer[:cr], b"\r", buffer[cr + 1 :]
