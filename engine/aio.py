"""The engine's async HTTP/1.1 transport: every async call, every stream and the proxy send through it.

Why not httpx or aiohttp: measured with bench/transport_bench.py (32 concurrent callers,
one event loop, the fast loopback upstream; README "Benchmarks" has the table), httpx's
async pool gave about 550 plain requests/s, aiohttp about 7,400-9,000 and httpx over the
``httpx-aiohttp`` transport 2,200-3,800, against 15,000 (asyncio) and 50,000 (uvloop) for
this client: an asyncio ``Protocol`` feeding httptools' C parser (which uvicorn already
brings), no task, no stream object and no per-chunk allocation between the socket and the
caller. Through the whole proxy the difference is the gap between meeting the issue's
targets and missing them, so the engine carries these ~400 lines instead of a library.

What it does, because a real upstream does it:

- any response framing (``Content-Length``, chunked, read-to-close), SSE bodies delivered
  as they arrive, several reads coalesced into one chunk when the reader is behind;
- keep-alive per origin, a stale idle connection retried once on a fresh one (only when
  the upstream sent nothing back);
- TLS with certificate and host-name verification (certifi's bundle, or ``SSL_CERT_FILE``);
- HTTP proxies from the environment (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``, ``NO_PROXY``):
  ``CONNECT`` tunnels for https, absolute-form requests for http, ``user:pass@`` as
  Basic ``Proxy-Authorization``; other proxy schemes (socks) are refused with a clear error;
- per-phase timeouts from the call's ``httpx.Timeout``: ``connect`` (TCP, proxy tunnel and
  TLS handshake), ``write`` (the request still unsent in the socket buffer: an upstream that
  stopped reading), ``read`` (the longest silence while waiting for bytes; both checked every
  ``TICK`` = 50 ms by one ticker per pool, no timer per request), ``pool`` (waiting
  for a free connection when ``max_connections`` are open);
- a size limit on non-streamed replies (``max_response_bytes``) and read-ahead limit on
  streams (``stream_buffer``: past it the socket stops being read, so a slow consumer
  pushes back on the upstream instead of growing memory);
- cancellation: a caller cancelled or closing a stream early closes the connection, so
  the upstream sees the client leave.

Failures are raised as httpx's exception classes (``ConnectError``, ``ReadTimeout``,
``RemoteProtocolError``, ...) so the engine maps them exactly as on the sync path.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import os
import ssl
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, fields
from functools import cache, lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import proxy_bypass_environment

import httpx

from engine import fastjson

try:  # the C parser uvicorn brings; the `speedups` and `proxy` extras install it
    import httptools
except ImportError:  # pragma: no cover - exercised by a test that hides it
    httptools = None  # type: ignore[assignment]

DEFAULT_PORTS = {"http": 80, "https": 443}
_timeout = getattr(asyncio, "timeout", None)
TICK = 0.05  # seconds between read-timeout checks: a read timeout fires up to this much late
PROXY_VARS = ("https_proxy", "http_proxy", "all_proxy", "no_proxy")


@dataclass
class Limits:
    """Transport limits; change them with :func:`configure` (they apply to connections opened afterwards)."""

    max_connections: int = 16_384  # open upstream connections per event loop; beyond: wait up to ``pool``
    max_idle_per_origin: int = 1_024  # idle keep-alive connections kept per origin
    idle_expiry: float = 30.0  # seconds an idle connection may be reused after its last reply
    max_response_bytes: int = 512 * 2**20  # a larger non-streamed reply is refused
    stream_buffer: int = 256 * 2**10  # bytes read ahead of a stream's reader before reading pauses


LIMITS = Limits()


def configure(**changes: Any) -> Limits:
    """Change transport limits, e.g. ``engine.aio.configure(max_connections=50_000)``; unknown names raise."""
    names = {f.name for f in fields(Limits)}
    for name, value in changes.items():
        if name not in names:
            raise ValueError(f"unknown transport limit {name!r} (known: {', '.join(sorted(names))})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"transport limit {name!r} must be a positive number")
        setattr(LIMITS, name, type(getattr(LIMITS, name))(value))
    return LIMITS


class Request:
    """What :meth:`Transport.send` sends; built by :meth:`Transport.build_request` (httpx's signature)."""

    __slots__ = ("content", "headers", "method", "timeout", "url")

    def __init__(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None, timeout: httpx.Timeout
    ) -> None:
        self.method, self.url, self.headers, self.content, self.timeout = (
            method,
            url,
            headers,
            content,
            timeout,
        )


class Reply:
    """One upstream response: status and headers at once, the body whole or as it streams.

    Reads like the parts of ``httpx.Response`` the engine uses: ``status_code``, ``headers``
    (lower-case names), ``content``, ``text``, ``json()``, ``aread()``, ``aiter_bytes()``, ``aclose()``.
    """

    __slots__ = (
        "_buffered",
        "_chunks",
        "_conn",
        "_error",
        "_head",
        "_limit",
        "_wakeup",
        "complete",
        "headers",
        "status_code",
        "stream",
    )

    def __init__(self, conn: Connection, stream: bool) -> None:
        self._conn: Connection | None = conn
        self.stream = stream
        self.status_code = 0
        self.headers: dict[str, str] = {}
        self.complete = False
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._limit = LIMITS.stream_buffer if stream else LIMITS.max_response_bytes
        self._error: BaseException | None = None
        self._head: asyncio.Future[Reply] | None = None  # resolved with headers (stream) or the whole reply
        self._wakeup: asyncio.Future[None] | None = None  # a stream reader waiting for bytes

    # -- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        conn = self._conn
        assert conn is not None and conn.parser is not None
        self.status_code = conn.parser.get_status_code()
        if self.stream:
            self._resolve()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > self._limit:
            conn = self._conn
            if not self.stream:
                self.fail(
                    httpx.RemoteProtocolError(
                        f"the reply is larger than the transport's limit of {self._limit} bytes"
                    )
                )
                if conn is not None:
                    conn.close()
                return
            if conn is not None:
                conn.pause()
        if self._wakeup is not None:
            self._wake()

    def on_message_complete(self) -> None:
        if self.complete:  # bytes after a complete reply: a second message nobody asked for
            return
        self.complete = True
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.finished(self)
        if self.stream:
            self._wake()
        else:
            self._resolve()

    # -- engine side
    def _resolve(self) -> None:
        head = self._head
        if head is not None and not head.done():
            head.set_result(self)

    def _wake(self) -> None:
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def fail(self, error: BaseException) -> None:
        """The connection broke (or timed out) before the reply was complete."""
        if self.complete or self._error is not None:
            return
        self._error = error
        self._conn = None
        head = self._head
        if head is not None and not head.done():
            head.set_exception(error)
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None and not wakeup.done():
            wakeup.set_exception(error)

    @property
    def content(self) -> bytes:
        if not self.complete and self._error is None:
            raise httpx.ResponseNotRead()
        if len(self._chunks) != 1:
            self._chunks = [b"".join(self._chunks)]
        return self._chunks[0]

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return fastjson.loads(self.content)

    async def aread(self) -> bytes:
        if not self.complete:
            chunks = [chunk async for chunk in self.aiter_bytes()]
            self._chunks = chunks
        return self.content

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives; everything buffered since the last read comes as one chunk."""
        loop = asyncio.get_running_loop()
        while True:
            if self._chunks:
                data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
                self._chunks = []
                self._buffered = 0
                if self._conn is not None:
                    self._conn.resume()
                yield data
                continue
            if self._error is not None:
                raise self._error
            if self.complete:
                return
            conn = self._conn
            if conn is not None:
                conn.resume()
            self._wakeup = loop.create_future()
            await self._wakeup

    def aiter_raw(self) -> AsyncIterator[bytes]:
        """The same as :meth:`aiter_bytes`: bodies are never content-decoded here (httpx's name for raw bytes)."""
        return self.aiter_bytes()

    async def aclose(self) -> None:
        """Stop reading: an unfinished reply closes its connection (the upstream sees the reader leave)."""
        conn, self._conn = self._conn, None
        if conn is not None and not self.complete:
            self._error = self._error or httpx.StreamClosed()
            conn.close()
        self._chunks = [] if not self.complete else self._chunks

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not self.complete:
            conn.close()


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, pool: Pool, origin: tuple[Any, ...]) -> None:
        self.pool = pool
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.parser: Any = None
        self.reply: Reply | None = None
        self.received = False  # bytes of the current reply arrived
        self.idle_since = 0.0
        self.paused = False
        self.read_timeout: float | None = None
        self.last_read = 0.0
        self.write_timeout: float | None = None
        self.write_deadline: float | None = None  # set while request bytes wait in the socket buffer
        self._tunnel: asyncio.Future[bytes] | None = None  # a CONNECT reply being read
        self._tunnel_buffer = b""

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        if self._tunnel is not None:
            self._tunnel_data(data)
            return
        if self.parser is None:  # bytes nobody asked for: the connection is unusable
            self.close()
            return
        self.received = True
        if self.read_timeout is not None:
            self.last_read = self.pool.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.reply is not None:
                self.reply.fail(httpx.RemoteProtocolError(f"malformed HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed()
        if self._tunnel is not None and not self._tunnel.done():
            self._tunnel.set_exception(httpx.ProxyError("the proxy closed the connection"))
        reply = self.reply
        if reply is not None:
            self.reply = None
            if reply.status_code and _read_to_close(reply.headers):
                reply.on_message_complete()
            else:
                reply.fail(
                    httpx.RemoteProtocolError(
                        "peer closed connection without sending complete message body"
                        + (f" ({exc})" if exc else "")
                    )
                )

    def pause_writing(self) -> None:  # the write timeout watches the buffer itself (check_silence)
        pass

    # -- flow control and timers
    def pause(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()

    def check_silence(self, now: float) -> None:
        """Called by the pool's ticker: fail the reply when the request cannot be sent within ``write_timeout``
        (the upstream stopped reading) or after ``read_timeout`` without bytes while its reader waits."""
        reply, timeout = self.reply, self.read_timeout
        if reply is None or self.closed:
            self.pool.watching.discard(self)
            return
        if self.write_deadline is not None:
            if self.transport is not None and self.transport.get_write_buffer_size():
                if now >= self.write_deadline:
                    reply.fail(
                        httpx.WriteTimeout(
                            f"the upstream took more than {self.write_timeout:g}s to accept the request"
                        )
                    )
                    self.close()
                    return
                self.last_read = now  # still sending: the read timeout starts once the request is out
                return
            self.write_deadline = None
        if timeout is None:
            self.pool.watching.discard(self)
            return
        waiting = reply._head is not None and not reply._head.done() or reply._wakeup is not None
        if self.paused or not waiting:  # the reader is behind, not the upstream
            self.last_read = now
        elif now - self.last_read >= timeout:
            reply.fail(httpx.ReadTimeout(f"no data from the upstream for {timeout:g}s"))
            self.close()

    # -- use
    def start(
        self, request: bytes, reply: Reply, read_timeout: float | None, write_timeout: float | None = None
    ) -> None:
        assert self.transport is not None and self.reply is None
        self.reply = reply
        self.received = False
        self.parser = httptools.HttpResponseParser(reply)
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.transport.write(request)
        # Most requests leave the buffer empty at once (the kernel took them): no write timer at all then.
        pending = write_timeout is not None and self.transport.get_write_buffer_size() > 0
        self.write_deadline = self.pool.loop.time() + write_timeout if pending else None  # type: ignore[operator]
        if read_timeout is not None or pending:
            self.last_read = self.pool.loop.time()
            self.pool.watch(self)

    def finished(self, reply: Reply) -> None:
        """The reply is complete: back to the pool if the upstream keeps the connection open."""
        keep = self.parser is not None and self.parser.should_keep_alive()
        self.reply = self.parser = None
        self.read_timeout = self.write_deadline = None
        self.pool.watching.discard(self)
        self.resume()
        if keep and not self.closed:
            self.pool.release(self)
        else:
            self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self._closed()

    def _closed(self) -> None:
        if not self.closed:
            self.closed = True
            self.pool.watching.discard(self)
            self.pool.forget(self)

    # -- proxy tunnel
    async def tunnel(self, target: str, headers: Mapping[str, str]) -> None:
        """``CONNECT target`` through the HTTP proxy this connection reached; raises ProxyError unless 2xx."""
        assert self.transport is not None
        self._tunnel = self.pool.loop.create_future()
        lines = [f"CONNECT {target} HTTP/1.1", f"host: {target}", *(f"{k}: {v}" for k, v in headers.items())]
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            head = await self._tunnel
        finally:
            self._tunnel = None
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[1].startswith("2"):
            raise httpx.ProxyError(f"the proxy refused CONNECT {target}: {status_line[:200]!r}")

    def _tunnel_data(self, data: bytes) -> None:
        self._tunnel_buffer += data
        end = self._tunnel_buffer.find(b"\r\n\r\n")
        if end >= 0 and self._tunnel is not None and not self._tunnel.done():
            self._tunnel.set_result(self._tunnel_buffer[:end])
        elif len(self._tunnel_buffer) > 65536 and self._tunnel is not None and not self._tunnel.done():
            self._tunnel.set_exception(httpx.ProxyError("the proxy's CONNECT reply is too long"))


def _read_to_close(headers: dict[str, str]) -> bool:
    """A reply framed by closing the connection (neither length nor chunked) ends at EOF."""
    return "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", "").lower()


@dataclass(frozen=True)
class Route:
    """Where a URL's requests go: straight to the origin, or through an HTTP proxy."""

    scheme: str
    host: str
    port: int
    proxy: tuple[str, int] | None = None
    proxy_auth: str | None = None  # Proxy-Authorization header value
    absolute: bool = False  # plain http through a proxy: the request line carries the whole URL


@lru_cache(maxsize=256)
def _route(scheme: str, host: str, port: int, env: tuple[str | None, ...]) -> Route:
    if scheme not in DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r} (http and https are)")
    https_proxy, http_proxy, all_proxy, _ = env
    proxy = (https_proxy if scheme == "https" else http_proxy) or all_proxy
    if not proxy or proxy_bypass_environment(host, _no_proxy(env)):
        return Route(scheme, host, port)
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.scheme != "http":
        raise httpx.ProxyError(
            f"proxy {parts.scheme}://{parts.hostname}:{parts.port or ''} from the environment is not supported: "
            "the async transport speaks to HTTP proxies (http://host:port) only; set NO_PROXY for this host "
            "or use an http:// proxy"
        )
    auth = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode()).decode()
    return Route(
        scheme, host, port, (parts.hostname or "", parts.port or 80), auth, absolute=scheme == "http"
    )


def _no_proxy(env: tuple[str | None, ...]) -> dict[str, str]:
    return {"no": env[3]} if env[3] else {}


def _proxy_env() -> tuple[str | None, ...]:
    """The proxy settings of the environment, read when an event loop's pool is created (as httpx reads them
    when a client is created): a new event loop, or :func:`reset`, sees changed variables."""
    get = os.environ.get
    return tuple(get(name) or get(name.upper()) for name in PROXY_VARS)


@lru_cache(maxsize=1024)
def _target(url: str) -> tuple[str, str, int, str, str]:
    """Scheme, host, port, request target and Host header of ``url`` (URLs repeat: parsed once)."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (
        parts.scheme,
        parts.hostname or "",
        parts.port or DEFAULT_PORTS.get(parts.scheme, 0),
        target,
        parts.netloc,
    )


@cache
def _tls(cafile: str | None) -> ssl.SSLContext:
    if cafile:
        return ssl.create_default_context(cafile=cafile)
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()


class Pool:
    """The connections of one event loop: idle ones per route (most recently used first), and a cap on all."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.env = _proxy_env()
        self.cafile = os.environ.get("SSL_CERT_FILE") or None
        self.open = 0
        self._idle: dict[Route, list[Connection]] = {}
        self._members: set[Connection] = set()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        # Read timeouts: one ticker per pool while requests are in flight, not a timer per request
        # (a libuv timer costs several microseconds to arm and cancel; this checks a set).
        self.watching: set[Connection] = set()
        self._ticker: asyncio.TimerHandle | None = None

    def watch(self, conn: Connection) -> None:
        self.watching.add(conn)
        if self._ticker is None:
            self._ticker = self.loop.call_later(TICK, self._tick)

    def _tick(self) -> None:
        now = self.loop.time()
        for conn in list(self.watching):
            conn.check_silence(now)
        self._ticker = self.loop.call_later(TICK, self._tick) if self.watching else None

    def forget(self, conn: Connection) -> None:
        if conn in self._members:
            self._members.discard(conn)
            self.open -= 1
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    break

    def release(self, conn: Connection) -> None:
        idle = self._idle.setdefault(conn.origin[0], [])
        if len(idle) >= LIMITS.max_idle_per_origin:
            conn.close()
            return
        conn.idle_since = self.loop.time()
        idle.append(conn)
        while self._waiters:  # a caller waiting for a free slot can now reuse this one
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def reuse(self, route: Route) -> Connection | None:
        idle = self._idle.get(route)
        expired = self.loop.time() - LIMITS.idle_expiry
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.idle_since >= expired:
                return conn
            conn.close()
        return None

    def _evict_idle(self) -> bool:
        """At the cap: close an idle connection (of any route) to make room; False when none is idle."""
        for idle in self._idle.values():
            while idle:
                conn = idle.pop(0)  # the least recently used
                if not conn.closed:
                    conn.close()
                    return True
        return False

    async def acquire(self, route: Route, timeout: httpx.Timeout) -> tuple[Connection, bool]:
        """A connection for ``route`` and whether it is new; waits (up to ``pool``) while the cap is reached."""
        while True:
            conn = self.reuse(route)
            if conn is not None:
                return conn, False
            if self.open < LIMITS.max_connections or self._evict_idle():
                return await self.connect(route, timeout), True
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout.pool)
            except (asyncio.TimeoutError, TimeoutError):
                raise httpx.PoolTimeout(
                    f"all {LIMITS.max_connections} upstream connections stayed busy for {timeout.pool:g}s "
                    "(engine.aio.configure(max_connections=...) raises the cap)"
                ) from None

    async def connect(self, route: Route, timeout: httpx.Timeout) -> Connection:
        conn = Connection(self, (route,))
        self.open += 1
        self._members.add(conn)
        try:
            if _timeout is not None:  # Python 3.11+: no extra task per new connection
                async with _timeout(timeout.connect):
                    await self._open(route, conn)
            else:
                await asyncio.wait_for(self._open(route, conn), timeout.connect)
        except (asyncio.TimeoutError, TimeoutError):
            conn.close()
            raise httpx.ConnectTimeout(
                f"connecting to {route.host}:{route.port} took longer than {timeout.connect:g}s"
            ) from None
        except ssl.SSLError as exc:
            conn.close()
            raise httpx.ConnectError(f"TLS handshake with {route.host} failed: {exc}") from None
        except OSError as exc:
            conn.close()
            where = (
                f"proxy {route.proxy[0]}:{route.proxy[1]}" if route.proxy else f"{route.host}:{route.port}"
            )
            raise httpx.ConnectError(f"could not connect to {where}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return conn

    async def _open(self, route: Route, conn: Connection) -> None:
        tls = _tls(self.cafile) if route.scheme == "https" else None
        host, port = route.proxy or (route.host, route.port)
        if route.proxy is None or route.absolute:
            await self.loop.create_connection(
                lambda: conn, host, port, ssl=tls, server_hostname=route.host if tls else None
            )
            return
        await self.loop.create_connection(lambda: conn, host, port)
        await conn.tunnel(
            f"{route.host}:{route.port}",
            {"proxy-authorization": route.proxy_auth} if route.proxy_auth else {},
        )
        assert conn.transport is not None and tls is not None
        transport = await self.loop.start_tls(conn.transport, conn, tls, server_hostname=route.host)
        conn.transport = transport  # type: ignore[assignment]

    def close(self) -> None:
        for conn in list(self._members):
            conn.close()
        self._idle.clear()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None


class Transport:
    """The async client: ``build_request`` and ``send`` as httpx's ``AsyncClient`` spells them."""

    def __init__(self) -> None:
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pool] = weakref.WeakKeyDictionary()

    def pool(self) -> Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = Pool(loop)
        return pool

    def build_request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> Request:
        try:
            scheme, host, _, _, _ = _target(url)
        except ValueError as exc:  # e.g. a port that is not a number: what httpx raises for it
            raise httpx.InvalidURL(f"invalid URL {url[:200]!r}: {exc}") from None
        if scheme not in DEFAULT_PORTS or not host:
            raise httpx.UnsupportedProtocol(f"the URL must be http(s)://host/...: {url[:200]!r}")
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        elif not isinstance(timeout, httpx.Timeout):  # seconds, as httpx also takes them
            timeout = _seconds(float(timeout))
        return Request(method, url, headers or {}, content, timeout)

    async def send(self, request: Request, *, stream: bool = False) -> Reply:
        """Send ``request``; a plain reply is read whole, a streamed one returns once its headers arrived."""
        pool = self.pool()
        scheme, host, port, target, netloc = _target(request.url)
        route = _route(scheme, host, port, pool.env)
        headers = request.headers
        if route.absolute:
            target = request.url
            if route.proxy_auth:
                headers = {**headers, "proxy-authorization": route.proxy_auth}
        wire = _encode(request.method, target, netloc, headers, request.content)
        timeout = request.timeout
        for attempt in (0, 1):
            conn, fresh = (
                await pool.acquire(route, timeout)
                if attempt == 0
                else (await pool.connect(route, timeout), True)
            )
            reply = Reply(conn, stream)
            head = reply._head = pool.loop.create_future()
            conn.start(wire, reply, timeout.read, timeout.write)
            try:
                return await head
            except httpx.RemoteProtocolError:
                if fresh or conn.received:
                    raise
                continue  # a keep-alive connection the upstream had closed: nothing was processed, send again
            except BaseException:  # cancelled, or a timeout: the reply is unread, the connection unusable
                conn.close()
                raise
            finally:
                reply._head = None
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Close every connection; the next request reads the environment's proxy settings again."""
        for pool in list(self._pools.values()):
            pool.close()
        self._pools.clear()


DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=30.0)


@lru_cache(maxsize=64)
def _seconds(value: float) -> httpx.Timeout:
    return httpx.Timeout(value)


def _encode(method: str, target: str, host: str, headers: Mapping[str, str], body: bytes | None) -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nhost: {host}\r\n"
    for name, value in headers.items():
        if name.lower() not in ("host", "content-length", "transfer-encoding"):
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise httpx.LocalProtocolError(f"header {name[:40]!r} contains a line break")
            head += f"{name}: {value}\r\n"
    head += f"content-length: {len(body) if body is not None else 0}\r\n\r\n"
    data = head.encode("latin-1") if head.isascii() else head.encode("utf-8")
    return data + body if body else data


_transport: Transport | None = None
_fallback: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def transport() -> Transport | httpx.AsyncClient:
    """The process's async transport (one pool per event loop inside).

    Without httptools (it is not a core dependency) async calls fall back to an
    ``httpx.AsyncClient`` per event loop, with the same limits; slower, same behaviour.
    """
    global _transport
    if httptools is None:
        loop = asyncio.get_running_loop()
        client = _fallback.get(loop)
        if client is None:
            limits = httpx.Limits(
                max_connections=LIMITS.max_connections,
                max_keepalive_connections=LIMITS.max_idle_per_origin,
                keepalive_expiry=LIMITS.idle_expiry,
            )
            client = _fallback[loop] = httpx.AsyncClient(limits=limits, timeout=None)
        return client
    if _transport is None:
        _transport = Transport()
    return _transport
