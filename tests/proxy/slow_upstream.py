"""A Vertex AI stand-in that holds its answer until told to go on, and notices when the proxy hangs up.

Why not the emulator: the emulator answers at once, so it cannot show that a client
leaving *mid-stream* makes the proxy close its upstream connection, nor that a
graceful shutdown waits for an answer still in progress. This server sends the first
published stream event, then waits for ``release`` or for the peer to close.
Replies are published Vertex AI examples (tests/fixtures/gemini/).
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any


class SlowUpstream:
    """Loopback HTTP/1.1 server; ``closed`` is set when the proxy drops a connection before the answer ended."""

    def __init__(self, events: list[dict[str, Any]], body: dict[str, Any]) -> None:
        self.events = events
        self.body = body
        self.release = threading.Event()
        self.closed = threading.Event()
        self.started = threading.Event()  # a model request arrived
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="slow-upstream")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> SlowUpstream:
        ready = threading.Event()
        self._ready = ready
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        await reader.readexactly(length)
        self.started.set()
        stream = b":streamGenerateContent" in head.split(b"\r\n")[0]
        kind = b"text/event-stream" if stream else b"application/json"
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: " + kind + b"\r\ntransfer-encoding: chunked\r\n\r\n")
        if stream:
            writer.write(_chunk(b"data: " + json.dumps(self.events[0]).encode() + b"\r\n\r\n"))
        await writer.drain()
        if not await self._hold(reader):
            self.closed.set()
            writer.close()
            return
        rest = self.events[1:] if stream else [self.body]
        for event in rest:
            payload = json.dumps(event).encode()
            writer.write(_chunk(b"data: " + payload + b"\r\n\r\n" if stream else payload))
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def _hold(self, reader: asyncio.StreamReader) -> bool:
        """True when released; False when the peer closed the connection first."""
        peer = asyncio.ensure_future(reader.read(1))
        while not self.release.is_set():
            done, _ = await asyncio.wait({peer}, timeout=0.02)
            if done:
                return False
        peer.cancel()
        return True


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"
