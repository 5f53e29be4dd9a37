"""One Redis client per proxy process, failing open: an unreachable or slow Redis is an outage, not an error.

Why fail open: rate limits and cooldowns protect the upstream, they are not the
product; a request must never fail because their bookkeeping could not be shared.
While Redis is down every caller gets ``None`` from :meth:`SharedRedis.run` at once
(no connection attempt per request) and falls back to its process-local state; a
reconnect is tried after a backoff that doubles up to :data:`MAX_BACKOFF`. An outage is
logged once when it starts and once when it ends; ``failures`` counts every failed
command (a metrics exporter reads it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from engine.proxy.shared.settings import RedisSettings

log = logging.getLogger("vertexlate.proxy.shared")

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 10.0
T = TypeVar("T")


class SharedRedis:
    """redis-py's asyncio client over a connection pool, with outage tracking."""

    def __init__(self, settings: RedisSettings, clock: Callable[[], float] = time.monotonic) -> None:
        from redis.asyncio import Redis

        self.settings = settings
        self.clock = clock
        options: dict[str, Any] = {
            "socket_timeout": settings.socket_timeout,
            "socket_connect_timeout": settings.socket_timeout,
            "retry_on_timeout": False,
            "health_check_interval": 0,
        }
        if settings.max_connections:
            options["max_connections"] = settings.max_connections
        self.client: Redis = Redis.from_url(settings.url, **options)
        self.failures = 0  # failed commands since start (every one, not once per outage)
        self.outages = 0
        self.down_since: float | None = None
        self._retry_at = 0.0
        self._backoff = FIRST_BACKOFF

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
        except Exception as exc:  # ConnectionError, TimeoutError, ResponseError, OSError: all mean "no Redis"
            self.failed(exc)
            return None
        if self.down_since is not None:
            log.warning(
                "redis is back after %.1fs: rate limits and cooldowns are shared again",
                self.clock() - self.down_since,
            )
            self.down_since, self._backoff = None, FIRST_BACKOFF
        return result

    def failed(self, exc: BaseException) -> None:
        """Count one failed command; the first of an outage is logged (with the error, never the URL)."""
        self.failures += 1
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

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a dead connection: nothing to do
            await self.client.aclose()
