"""Incremental server-sent-events decoding.

Network reads split events anywhere (inside a line, inside a multi-byte UTF-8
character, between ``\\r`` and ``\\n``), so the decoder buffers bytes and yields an
event only once its terminating blank line has arrived.

Why it is written this way: it sits on the per-chunk path of every stream. One read
usually holds many events (the transport coalesces what arrived), so each ``feed``
splits all complete lines with one ``bytes.splitlines`` (LF, CR and CRLF, SSE's line
ends, without first rewriting CRLF, which cost more than the split) and decodes only the
data values, not the blank lines between events.
"""

from __future__ import annotations

from typing import NamedTuple

MAX_LINE_BYTES = 64 * 2**20  # a line longer than this without its end is refused (an upstream gone wrong)


class Event(NamedTuple):
    event: str | None
    data: str


_new = tuple.__new__  # builds an Event without NamedTuple's Python-level __new__ (one per streamed event)


class SSEError(ValueError):
    """The stream cannot be SSE (a line beyond :data:`MAX_LINE_BYTES`, or one that is not UTF-8)."""


class SSEDecoder:
    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[Event]:
        """The events completed by ``chunk``, in order."""
        buffer = self._buffer + chunk if self._buffer else chunk
        # A trailing CR may be the first half of CRLF: keep it for the next read.
        held = b""
        if buffer.endswith(b"\r"):
            held, buffer = b"\r", buffer[:-1]
        end = buffer.rfind(b"\n")
        if b"\r" in buffer:
            end = max(end, buffer.rfind(b"\r"))
        if end < 0:
            self._buffer = buffer + held
            if len(self._buffer) > MAX_LINE_BYTES:
                raise SSEError(f"a server-sent-events line longer than {MAX_LINE_BYTES} bytes")
            return []
        self._buffer = buffer[end + 1 :] + held
        # bytes.splitlines ends lines at LF, CR and CRLF only (SSE's three), unlike str.splitlines.
        try:
            return self._lines(buffer[: end + 1].splitlines())
        except UnicodeDecodeError as exc:  # a whole line that is not UTF-8: not an event stream
            raise SSEError(f"a server-sent-events line that is not UTF-8 ({exc.reason})") from None

    def close(self) -> list[Event]:
        """End of stream: a final event without its blank line still counts."""
        rest, self._buffer = self._buffer, b""
        return self._lines([*rest.splitlines(), b""], errors="replace")

    def _lines(self, lines: list[bytes], errors: str = "strict") -> list[Event]:
        events: list[Event] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    text = data[0] if len(data) == 1 else "\n".join(data)
                    events.append(_new(Event, (self._event, text)))
                    data = self._data = []
                self._event = None
            elif line.startswith(b"data:"):
                data.append((line[6:] if line.startswith(b" ", 5) else line[5:]).decode("utf-8", errors))
            elif line[0] != 58:  # not a ":" comment
                name, _, value = line.partition(b":")
                if name == b"event":
                    self._event = (value[1:] if value.startswith(b" ") else value).decode("utf-8", errors)
                elif name == b"data":  # "data" without a colon: an empty data line
                    data.append("")
        return events
