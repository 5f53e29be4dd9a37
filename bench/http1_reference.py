"""Reference only (bench/transport_bench.py): the HTTP/1.1 client the proxy carried for plain replies before engine.aio.

Why not httpx here: it was the proxy's bottleneck. Measured with bench/proxy_bench.py
on the 2-core machine (one worker pinned to one core, 16 connections, non-streaming
chat): about 700 requests/s with the engine's httpx AsyncClient, against about 3,600
with this client, under uvicorn and granian alike. A forwarding-only Starlette app
(no engine work) gave 520 requests/s with httpx, 410 with httpx2 and 2,200 with
aiohttp: httpcore's pool and the anyio socket layer cost more than everything else
in a proxied call. This client does only what the proxy needs: one request at a
time per connection, ``Content-Length`` bodies out, any framing back (httptools' C
parser, which uvicorn already brings), TLS via the standard library, idle connections
reused per origin, a per-request timeout, and cancellation that closes the
connection (so the upstream sees the client leave).
Streams, HTTP/2 and proxies stay with httpx (the engine's own transport).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httptools

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_IDLE_PER_ORIGIN = 256


class UpstreamClosed(ConnectionError):
    """The connection closed before a complete response arrived."""


@dataclass
class Reply:
    """A complete upstream response; ``status_code``, ``json()`` and ``text`` read like httpx's Response."""

    status: int
    headers: dict[str, str]  # lower-case names
    content: bytes

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


@cache
def _tls() -> ssl.SSLContext:
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``send`` may be called again once the previous reply completed."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = False
        self._waiter: asyncio.Future[Reply] | None = None
        self._parser: Any = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._started = False

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        if self._parser is None:  # bytes nobody asked for: the connection is unusable
            self.close()
            return
        self._started = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamClosed(f"malformed HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(UpstreamClosed("the upstream closed the connection" + (f": {exc}" if exc else "")))

    # -- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        parser, waiter = self._parser, self._waiter
        self._parser = self._waiter = None
        if not parser.should_keep_alive():
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(Reply(parser.get_status_code(), self._headers, b"".join(self._body)))

    # -- use
    def send(self, request: bytes) -> asyncio.Future[Reply]:
        assert self.transport is not None and self._waiter is None
        self.used = True
        self._started = False
        self._headers, self._body = {}, []
        self._parser = httptools.HttpResponseParser(self)
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._waiter

    @property
    def sent_nothing_back(self) -> bool:
        return not self._started

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter, self._parser = self._waiter, None, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Pool:
    """Idle connections per origin (scheme, host, port), most recently used first."""

    def __init__(self, max_idle: int = MAX_IDLE_PER_ORIGIN) -> None:
        self.max_idle = max_idle
        self._idle: dict[tuple[str, str, int], list[Connection]] = {}

    async def _connect(self, origin: tuple[str, str, int], timeout: float) -> Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = _tls() if scheme == "https" else None
        connect = loop.create_connection(
            Connection, host, port, ssl=tls, server_hostname=host if tls else None
        )
        _, conn = await asyncio.wait_for(connect, timeout)
        return conn

    def _reuse(self, origin: tuple[str, str, int]) -> Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    def _release(self, origin: tuple[str, str, int], conn: Connection) -> None:
        if conn.closed:
            return
        idle = self._idle.setdefault(origin, [])
        if len(idle) < self.max_idle:
            idle.append(conn)
        else:
            conn.close()

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> Reply:
        """Send one request and read the whole reply; a reused connection found dead is retried once on a new one."""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme])
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = _encode(method, target, parts.netloc, headers, body)
        for attempt in (0, 1):
            conn = self._reuse(origin) if attempt == 0 else None
            fresh = conn is None
            if conn is None:
                conn = await self._connect(origin, timeout)
            try:
                reply = await asyncio.wait_for(conn.send(request), timeout)
            except UpstreamClosed:
                conn.close()
                if fresh or not conn.sent_nothing_back:
                    raise
                continue  # a keep-alive connection the upstream had closed: safe to send again
            except BaseException:  # timeout or cancellation: the reply is unread, the connection unusable
                conn.close()
                raise
            self._release(origin, conn)
            return reply
        raise AssertionError("unreachable")

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def _encode(method: str, target: str, host: str, headers: Mapping[str, str], body: bytes | None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"host: {host}"]
    lines += [
        f"{name}: {value}"
        for name, value in headers.items()
        if name.lower() not in ("host", "content-length")
    ]
    lines.append(f"content-length: {len(body) if body is not None else 0}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head
