"""A minimal asyncio HTTP/1.1 server with canned replies: an upstream far faster than what it measures.

It answers ``POST /token`` with an OAuth token reply (so google-auth's real service-account
flow works without verifying anything), ``...:streamGenerateContent`` with a chunked
``text/event-stream`` of ``--events`` Vertex AI stream events (spread over
``--stream-seconds``, default at once), and every other request with a canned Vertex AI
generateContent reply. Keep-alive; request bodies by Content-Length. Run it in its own
process so it does not share the measured process's GIL:

    python bench/fast_upstream.py --port 0   # prints "listening on http://127.0.0.1:PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

# A generateContent reply shaped like Google's published example (see tests/fixtures/gemini/generate_content_text.json).
CHAT_REPLY = json.dumps(
    {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "Mountain View, California"}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 4, "totalTokenCount": 12},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "bench-response",
    }
).encode()
TOKEN_REPLY = json.dumps({"access_token": "ya29.bench", "expires_in": 3600, "token_type": "Bearer"}).encode()


def stream_events(count: int) -> list[bytes]:
    """``count`` SSE events shaped like tests/fixtures/gemini/generate_content_stream.json, each one HTTP chunk."""
    events = []
    for i in range(count):
        event: dict[str, object] = {
            "candidates": [{"content": {"role": "model", "parts": [{"text": f"token {i} "}]}}],
            "usageMetadata": {"trafficType": "ON_DEMAND"},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "bench-stream",
        }
        if i == count - 1:
            event["candidates"][0]["finishReason"] = "STOP"  # type: ignore[index]
            event["usageMetadata"] = {
                "promptTokenCount": 8,
                "candidatesTokenCount": count * 2,
                "totalTokenCount": 8 + count * 2,
            }
        data = b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\r\n\r\n"
        events.append(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    return events


def _reply(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


CHAT_BYTES, TOKEN_BYTES = _reply(CHAT_REPLY), _reply(TOKEN_REPLY)
STREAM_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
END = b"0\r\n\r\n"


class Upstream(asyncio.Protocol):
    events: list[bytes] = []
    stream_seconds = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""
        self.busy: asyncio.TimerHandle | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy is not None:
            self.busy.cancel()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.busy is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            path = head.split(" ", 2)[1]
            if path.startswith("/token"):
                self.transport.write(TOKEN_BYTES)  # type: ignore[attr-defined]
            elif ":streamGenerateContent" in path:
                self._stream()
            else:
                self.transport.write(CHAT_BYTES)  # type: ignore[attr-defined]

    def _stream(self) -> None:
        if not self.stream_seconds:
            self.transport.write(STREAM_HEAD + b"".join(self.events) + END)  # type: ignore[attr-defined]
            return
        self.transport.write(STREAM_HEAD)  # type: ignore[attr-defined]
        step = self.stream_seconds / max(len(self.events), 1)
        loop = asyncio.get_running_loop()

        def send(i: int) -> None:
            if self.transport.is_closing():  # type: ignore[attr-defined]
                self.busy = None
                return
            last = i == len(self.events) - 1
            self.transport.write(self.events[i] + (END if last else b""))  # type: ignore[attr-defined]
            if last:
                self.busy = None
                if self.buffer:
                    self.data_received(b"")
            else:
                self.busy = loop.call_later(step, send, i + 1)

        self.busy = loop.call_later(step, send, 0)


async def serve(port: int, events: int, stream_seconds: float) -> None:
    Upstream.events = stream_events(events)
    Upstream.stream_seconds = stream_seconds
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Upstream, "127.0.0.1", port, backlog=4096)
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--events", type=int, default=20, help="events per streamed reply")
    parser.add_argument("--stream-seconds", type=float, default=0.0, help="spread each stream over this long")
    parser.add_argument("--uvloop", action="store_true", help="serve on uvloop (for many slow streams)")
    args = parser.parse_args()
    runner = asyncio.run
    if args.uvloop:
        import uvloop

        runner = uvloop.run  # type: ignore[assignment]
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve(args.port, args.events, args.stream_seconds))
