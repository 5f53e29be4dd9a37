"""A minimal asyncio HTTP/1.1 server with canned replies: an upstream far faster than what it measures.

It answers ``POST /token`` with an OAuth token reply (so google-auth's real service-account
flow works without verifying anything) and every other request with a canned Vertex AI
generateContent reply. Keep-alive, Content-Length bodies only. Run it in its own process
so it does not share the measured process's GIL:

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


def _reply(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


CHAT_BYTES, TOKEN_BYTES = _reply(CHAT_REPLY), _reply(TOKEN_REPLY)


class Upstream(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
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
            self.transport.write(TOKEN_BYTES if path.startswith("/token") else CHAT_BYTES)  # type: ignore[attr-defined]


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Upstream, "127.0.0.1", port)
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args().port))
