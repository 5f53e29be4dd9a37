"""Leases are released whatever happens to their caller or to Redis: a cancelled admit or acquire,
a finish update written while Redis fails; and the cache's own Redis settings are not lost."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from engine.errors import RateLimitError
from engine.proxy.config import load_config
from engine.proxy.limits import Usage
from engine.proxy.shared import state as state_module
from engine.proxy.shared.connection import SharedRedis
from engine.proxy.shared.runtime import build
from engine.proxy.shared.settings import RedisSettings
from engine.proxy.shared.state import LocalState, RedisState
from tests.proxy.conftest import FakeClock
from tests.proxy.shared.test_state import backend, first, state


async def settle(b: RedisState) -> None:
    """Let every batch sent so far answer and every release queued since be written."""
    for _ in range(50):
        await asyncio.sleep(0.01)
        if not b.redis._queue and not b.redis._tasks and b._flushing is None:
            break
    await b.drain()


@pytest.mark.parametrize("turns", [0, 1, 2, 3, 5, 10, 30])
def test_a_cancelled_admit_frees_its_parallel_slot(redis_url: str, redis_namespace: str, turns: int) -> None:
    async def run() -> None:
        a = backend(redis_url, redis_namespace)
        key = Usage(max_parallel=1, name="key:k")
        task = asyncio.ensure_future(a.admit([("key", key)]))
        for _ in range(turns):  # queued, sent, answered: wherever the cancel finds it
            await asyncio.sleep(0)
        task.cancel()
        try:
            lease = await task
        except asyncio.CancelledError:
            pass
        else:  # it was admitted before the cancel arrived: the caller finishes it as usual
            a.finish(key, lease, 0)
        await settle(a)
        b = backend(redis_url, redis_namespace)  # another process sees the slot free
        assert await b.admit([("key", Usage(max_parallel=1, name="key:k"))])

    asyncio.run(run())


@pytest.mark.parametrize("turns", [0, 2, 5, 30])
def test_a_cancelled_acquire_frees_the_deployment_and_the_key(
    redis_url: str, redis_namespace: str, turns: int
) -> None:
    class Admission:
        pending = True
        lease = ""

        def __init__(self) -> None:
            self.usage = Usage(max_parallel=1, name="key:k")

        def counters(self) -> list[tuple[str, Usage]]:
            return [("key", self.usage)]

    async def run() -> None:
        a = backend(redis_url, redis_namespace)
        s, admission = state(max_parallel_requests=1), Admission()
        task = asyncio.ensure_future(a.acquire([s], first, "least-busy", admission))
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()
        try:
            chosen, _, lease = await task
        except asyncio.CancelledError:
            pass
        else:
            a.finish(s.usage, lease, 0)
            a.finish(admission.usage, admission.lease, 0)
        await settle(a)
        b = backend(redis_url, redis_namespace)
        other = Admission()
        assert (await b.acquire([state(max_parallel_requests=1)], first, "least-busy", other))[1] is None
        assert not other.pending and other.lease

    asyncio.run(run())


def test_finish_updates_wait_for_redis_to_return(redis_url: str, redis_namespace: str) -> None:
    clock = FakeClock()

    async def run() -> None:
        a = backend(redis_url, redis_namespace, clock)
        key = Usage(max_parallel=1, name="key:k")
        lease = await a.admit([("key", key)])
        exchange = a.redis._exchange

        async def broken(batch: Any) -> Any:
            raise ConnectionError("redis went away")

        a.redis._exchange = broken  # type: ignore[method-assign]
        a.finish(key, lease, 5)
        await a.drain()  # the write failed: not lost, waiting
        assert a.finished == 0 and a.redis.down_since is not None
        assert a._pending == ["key:k", lease, 0]  # tokens of a window gone by are not written late
        b = backend(redis_url, redis_namespace)
        with pytest.raises(RateLimitError):
            await b.admit([("key", Usage(max_parallel=1, name="key:k"))])
        a.redis._exchange = exchange  # type: ignore[method-assign]
        clock.advance(1)  # past the backoff: the next attempt reaches Redis
        for _ in range(100):
            await asyncio.sleep(0.02)
            if a.finished:
                break
        await a.drain()
        assert a.finished == 1 and not a._pending
        assert await b.admit([("key", Usage(max_parallel=1, name="key:k"))])

    asyncio.run(run())


def test_unwritten_finish_updates_are_bounded(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(state_module, "MAX_PENDING", 3)
    clock = FakeClock()

    async def run() -> RedisState:
        redis = SharedRedis(RedisSettings("redis://127.0.0.1:1/0", socket_timeout=0.2), clock=clock)
        b = RedisState(redis, LocalState(clock), prefix="vxtest-none:", clock=lambda: 0.0)
        for i in range(6):
            b.finish(Usage(name=f"key:{i}"), f"lease{i}", 0)
            await b.drain()
        return b

    with caplog.at_level(logging.WARNING, "vertexlate.proxy.shared"):
        b = asyncio.run(run())
    assert b._pending == ["key:3", "lease3", 0, "key:4", "lease4", 0, "key:5", "lease5", 0]
    assert b.dropped == 3
    assert sum("finish updates" in m for m in caplog.messages) == 1


def test_the_cache_keeps_its_own_redis_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

    def shared(params: str) -> Any:
        config = tmp_path / "c.yaml"
        config.write_text(
            "model_list:\n"
            "  - model_name: m\n"
            "    litellm_params: {model: vertex_ai/gemini-2.5-flash, vertex_project: p, vertex_location: l}\n"
            "router_settings: {redis_url: 'redis://127.0.0.1:6379/0'}\n"
            f"litellm_settings: {{cache: true, cache_params: {{type: redis{params}}}}}\n",
            encoding="utf-8",
        )
        return build(load_config(config))

    same = shared("")
    assert len(same.clients) == 1 and same.cache is not None and same.cache.redis is same.clients[0]
    own = shared(", socket_timeout: 3, max_connections: 7")
    assert len(own.clients) == 2 and own.cache is not None and own.cache.redis is own.clients[1]
    assert own.cache.redis.settings.socket_timeout == 3.0 and own.cache.redis.settings.max_connections == 7
    assert own.clients[0].settings.socket_timeout == 1.0


def test_close_waits_for_batches_in_flight(redis_url: str) -> None:
    async def run() -> None:
        redis = SharedRedis(RedisSettings(redis_url))
        script = redis.client.register_script("return ARGV[1]")
        call = asyncio.ensure_future(redis.script(script, ["x"]))
        while not redis._tasks:  # the batch is sent, its task referenced
            await asyncio.sleep(0)
        await redis.close()
        assert call.done() and call.result() == b"x"
        assert not redis._tasks

    asyncio.run(run())
