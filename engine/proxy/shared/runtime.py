"""The shared pieces of one proxy process, built from its config: Redis clients, state backend, cache."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.proxy.config import ProxyConfig
from engine.proxy.shared.cache import ResponseCache
from engine.proxy.shared.connection import SharedRedis
from engine.proxy.shared.settings import RedisSettings
from engine.proxy.shared.state import LocalState, RedisState, StateBackend

log = logging.getLogger("vertexlate.proxy.shared")


@dataclass
class Shared:
    """What a proxy process shares with the others (or keeps to itself without Redis)."""

    backend: StateBackend
    cache: ResponseCache | None = None
    clients: list[SharedRedis] = field(default_factory=list)

    @property
    def redis_failures(self) -> int:
        """Failed Redis commands since start, over every client (a metrics exporter reads it)."""
        return sum(c.failures for c in self.clients)

    @property
    def redis_down(self) -> bool:
        return any(c.down_since is not None for c in self.clients)

    async def close(self) -> None:
        if isinstance(self.backend, RedisState):
            await self.backend.close()
        for client in self.clients:
            await client.close()


def build(config: ProxyConfig, clock: Callable[[], float] = time.monotonic) -> Shared:
    """The backend (Redis when ``config.redis``, else this process's memory) and the cache, if configured.

    No I/O: redis-py connects on the first command, so an unreachable Redis at start-up
    is an outage like any other (served on local state), not a failed start. The cache
    shares the state's client when it names the same Redis with the same socket timeout
    and pool size; else it gets its own (those settings are per pool in redis-py).
    """
    local = LocalState(clock)
    clients: dict[tuple[str, float, int | None], SharedRedis] = {}
    backend: StateBackend = local
    timeout = max((d.timeout for d in config.deployments), default=600.0)
    if config.redis is not None:
        redis = clients[_client_key(config.redis)] = SharedRedis(config.redis)
        backend = RedisState(redis, local, prefix=f"{config.redis.namespace}:", lease_timeout=timeout)
    cache = None
    if config.cache is not None:
        settings = config.cache
        redis = None
        if settings.redis is not None:
            redis = clients.get(_client_key(settings.redis))
            if redis is None:
                redis = clients[_client_key(settings.redis)] = SharedRedis(settings.redis)
        cache = ResponseCache(settings, redis)
    return Shared(backend, cache, list(clients.values()))


def _client_key(settings: RedisSettings) -> tuple[str, float, int | None]:
    """What makes two clients differ (the namespace does not: it is only the keys' prefix)."""
    return settings.url, settings.socket_timeout, settings.max_connections
