"""Incremental server-sent-events decoding.

Network reads split events anywhere (inside a line, inside a multi-byte UTF-8
character, between ``\\r`` and ``\\n``), so the decoder buffers bytes and yields an
event only once its terminating blank line has arrived.

Why it is written this way: it sits on the per-chunk path of every stream. One read
usually holds many events (the transport coalesces what arrived), so each ``feed``
decodes all complete lines with one ``decode`` and one ``split`` instead of slicing
the buffer line by line (which copied the rest of the buffer for every line).
"""

from __future__ import annotations

from typing import NamedTuple

MAX_LINE_BYTES = 64 * 2**20  # a line longer than this without its end is refused (an upstream gone wrong)


class Event(NamedTuple):
    event: str | None
    data: str


class SSEError(ValueError):
    """The stream cannot be SSE (a line beyond :data:`MAX_LINE_BYTES`)."""


class SSEDecoder:
    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[Event]:
        """The events completed by ``chunk``, in order."""
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            # A trailing CR may be the first half of CRLF: keep it for the next read.
            held = b"\r" if buffer.endswith(b"\r") else b""
            if held:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        else:
            held = b""
        end = buffer.rfind(b"\n")
        if end < 0:
            self._buffer = buffer + held
            if len(self._buffer) > MAX_LINE_BYTES:
                raise SSEError(f"a server-sent-events line longer than {MAX_LINE_BYTES} bytes")
            return []
        self._buffer = buffer[end + 1 :] + held
        return self._lines(buffer[:end].decode("utf-8").split("\n"))

    def close(self) -> list[Event]:
        """End of stream: a final event without its blank line still counts."""
        rest = self._buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").decode("utf-8", errors="replace")
        self._buffer = b""
        return self._lines([*(rest.split("\n") if rest else []), ""])

    def _lines(self, lines: list[str]) -> list[Event]:
        events: list[Event] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(Event(self._event, data[0] if len(data) == 1 else "\n".join(data)))
                    data = self._data = []
                self._event = None
            elif line.startswith("data:"):
                data.append(line[6:] if line.startswith(" ", 5) else line[5:])
            elif line[0] != ":":
                name, _, value = line.partition(":")
                if name == "event":
                    self._event = value[1:] if value.startswith(" ") else value
                elif name == "data":  # "data" without a colon: an empty data line
                    data.append("")
        return events
