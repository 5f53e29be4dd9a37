"""One Redis client per proxy process, failing open: an unreachable or slow Redis is an outage, not an error.

Why fail open: rate limits and cooldowns protect the upstream, they are not the
product; a request must never fail because their bookkeeping could not be shared.
While Redis is down every caller gets ``None`` from :meth:`SharedRedis.run` at once
(no connection attempt per request) and falls back to its process-local state; a
reconnect is tried after a backoff that doubles up to :data:`MAX_BACKOFF`. An outage is
logged once when it starts and once when it ends; ``failures`` counts every failed
command (a metrics exporter reads it).

Why scripts go through :meth:`SharedRedis.script` in batches: every request runs one or
two of them, and redis-py spends far more CPU per command (pool, packing, parsing, a
socket write and read) than the script costs the server. Calls made in the same
event-loop turn go out as one pipeline on one connection, so under load the proxy pays
that overhead per batch instead of per request (bench/shared_bench.py). Each call is
still its own atomic script, answered in order.

A call whose caller is cancelled (a client that disconnected) or gives up still runs once
it is queued or written: the caller may pass ``cancelled``, called with the reply (None
when the batch failed) once it is known, so it can undo what the script did (a lease).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from engine.proxy.shared.settings import RedisSettings

if TYPE_CHECKING:  # redis is imported only when a config names a Redis
    from redis.commands.core import AsyncScript

log = logging.getLogger("vertexlate.proxy.shared")

FIRST_BACKOFF = 0.5
MAX_CONNECTIONS = 50  # per process; batching (below) keeps far fewer busy
MAX_BACKOFF = 10.0
T = TypeVar("T")
# one queued script call: the script, its args, the caller's future, what to call if the caller left
Call = tuple["AsyncScript", list[Any], "asyncio.Future[Any]", "Callable[[Any], None] | None"]


class SharedRedis:
    """redis-py's asyncio client over a connection pool, with outage tracking."""

    def __init__(self, settings: RedisSettings, clock: Callable[[], float] = time.monotonic) -> None:
        from redis.asyncio import BlockingConnectionPool, Redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.settings = settings
        self.clock = clock
        pool = BlockingConnectionPool.from_url(
            settings.url,
            max_connections=settings.max_connections or MAX_CONNECTIONS,
            timeout=settings.socket_timeout,  # waiting for a free connection counts as slow too
            socket_timeout=settings.socket_timeout,
            socket_connect_timeout=settings.socket_timeout,
            retry_on_timeout=False,
            retry=Retry(NoBackoff(), 0),  # no retries: a failure is an outage at once (fail open)
            health_check_interval=0,
        )
        self.client: Redis = Redis(connection_pool=pool)
        self._queue: list[Call] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()  # batches in flight (a reference each, for close)
        self.failures = 0  # failed commands since start (every one, not once per outage)
        # called with (operation, error) on every failure: the proxy's redis-failure metric
        self.on_failure: Callable[[str, BaseException | None], None] | None = None
        self.outages = 0
        self.down_since: float | None = None
        self._retry_at = 0.0
        self._backoff = FIRST_BACKOFF
        self._refusal_logged = -math.inf

    @property
    def available(self) -> bool:
        """Whether a command may be tried now (up, or down and due for a reconnect attempt)."""
        return self.down_since is None or self.clock() >= self._retry_at

    async def run(self, command: Callable[[], Awaitable[T]]) -> T | None:
        """``await command()``; None (and the outage noted) when Redis fails or is known to be down."""
        if self.down_since is not None and self.clock() < self._retry_at:
            return None
        try:
            result = await command()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if _answered(exc):  # Redis is up and refused this one command (OOM, a wrong type): not an outage
                self.refused(exc)
            else:  # ConnectionError, TimeoutError, OSError: no Redis
                self.failed(exc)
            return None
        if self.down_since is not None:
            log.warning(
                "redis is back after %.1fs: rate limits and cooldowns are shared again",
                self.clock() - self.down_since,
            )
            self.down_since, self._backoff = None, FIRST_BACKOFF
        return result

    async def script(
        self, script: AsyncScript, args: list[Any], cancelled: Callable[[Any], None] | None = None
    ) -> Any:
        """Run a registered script with ``args`` in the next batch; its reply, or None (Redis failed or down).

        ``cancelled``: called with the reply (None: unknown) when this caller is cancelled
        after the call was queued, once the script ran (or its batch failed).
        """
        if self.down_since is not None and self.clock() < self._retry_at:
            return None
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((script, args, future, cancelled))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._send)
        try:
            return await future
        except asyncio.CancelledError:
            # answered, but the caller was cancelled before it resumed: the reply is known now
            if cancelled is not None and future.done() and not future.cancelled():
                cancelled(future.result())
            raise  # else the future was cancelled: _batch calls ``cancelled`` after the reply

    def _send(self) -> None:
        self._scheduled = False
        batch, self._queue = self._queue, []
        if batch:
            task = asyncio.ensure_future(self._batch(batch))
            self._tasks.add(task)  # referenced until done (the loop keeps only weak ones)
            task.add_done_callback(self._tasks.discard)

    async def _batch(self, batch: list[Call]) -> None:
        replies = await self.run(lambda: self._exchange(batch))
        for (_, _, future, cancelled), reply in zip(batch, replies or [None] * len(batch), strict=True):
            if isinstance(reply, Exception):  # a script error: this call fails open, the others stand
                self.failures += 1
                if self.on_failure is not None:
                    self.on_failure("evalsha", reply)
                reply = None
            if future.done():  # the caller was cancelled: it ran anyway (or may have)
                if cancelled is not None and future.cancelled():
                    cancelled(reply)
                continue
            future.set_result(reply)

    async def _exchange(self, batch: list[Call]) -> list[Any]:
        """EVALSHA for every call, written at once on one pooled connection; the replies in order.

        Packed here rather than by redis-py's pipeline: its per-argument encoding was the
        largest Redis cost per request in a profile of bench/shared_bench.py.
        """
        from redis.exceptions import NoScriptError, ResponseError

        pool = self.client.connection_pool
        conn = await pool.get_connection()
        try:
            await conn.send_packed_command(
                b"".join(_pack(b"EVALSHA", script.sha, 0, *args) for script, args, _, _ in batch),
                check_health=False,
            )
            replies: list[Any] = []
            for _ in batch:
                try:
                    replies.append(await conn.read_response())
                except ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            await conn.disconnect()  # a connection with unread replies must not be reused
            raise
        finally:
            await pool.release(conn)
        if any(isinstance(r, NoScriptError) for r in replies):  # a restarted Redis: load, then once more
            for script in {id(s): s for s, _, _, _ in batch}.values():
                await self.client.script_load(script.script)
            replies = [
                await self.client.evalsha(s.sha, 0, *a) if isinstance(r, NoScriptError) else r
                for (s, a, _, _), r in zip(batch, replies, strict=True)
            ]
        return replies

    def refused(self, exc: BaseException) -> None:
        """Count a command Redis answered with an error; logged at most once a minute.

        Why not :meth:`failed`: a full Redis (``maxmemory``) refusing a cache write would
        otherwise count as an outage and switch every process's shared limits to local ones.
        """
        self.failures += 1
        if self.on_failure is not None:
            self.on_failure("command", exc)
        now = self.clock()
        if now >= self._refusal_logged + 60.0:
            self._refusal_logged = now
            log.warning("redis refused a command (%s: %s)", type(exc).__name__, str(exc)[:200])

    def failed(self, exc: BaseException) -> None:
        """Count one failed command; the first of an outage is logged (with the error, never the URL)."""
        self.failures += 1
        if self.on_failure is not None:
            self.on_failure("command", exc)
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
            self.outages += 1
            log.warning(
                "redis unreachable (%s: %s): serving on this process's own limits and cooldowns until it returns",
                type(exc).__name__,
                str(exc)[:200],
            )
        else:
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)
        self._retry_at = now + self._backoff

    @property
    def retry_in(self) -> float:
        """Seconds (of ``clock``) until a reconnect may be tried; 0 when Redis is up or due."""
        return 0.0 if self.down_since is None else max(0.0, self._retry_at - self.clock())

    async def close(self) -> None:
        """Wait for the batches in flight (their callers get their replies), then close the pool."""
        while self._queue or self._tasks:
            if self._queue:
                self._send()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):  # closing a dead connection: nothing to do
            await self.client.aclose()


def _pack(*args: Any) -> bytes:
    """One command in RESP (https://redis.io/docs/latest/develop/reference/protocol-spec/)."""
    return b"*%d\r\n" % len(args) + b"".join([_bulk(arg) for arg in args])


@functools.lru_cache(maxsize=4096)
def _bulk_cached(arg: Any) -> bytes:
    data = arg if isinstance(arg, bytes) else str(arg).encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


def _bulk(arg: Any) -> bytes:
    """One argument as a RESP bulk string; the ones that repeat (names, limits, the prefix) come from a cache."""
    if isinstance(arg, str) and len(arg) > 64:
        data = arg.encode()
        return b"$%d\r\n%s\r\n" % (len(data), data)
    return _bulk_cached(arg)


def _answered(exc: BaseException) -> bool:
    """Whether Redis itself answered with this error (a ``ResponseError``), so it is reachable."""
    from redis.exceptions import ResponseError

    return isinstance(exc, ResponseError)
