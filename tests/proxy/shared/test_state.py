"""The Redis state backend on its own: shared counting, fail-open on a dead or silent Redis, the config keys."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.errors import RateLimitError
from engine.proxy.config import Deployment, load_config
from engine.proxy.limits import Usage
from engine.proxy.router import DeploymentState
from engine.proxy.server import warn_per_worker
from engine.proxy.shared.connection import SharedRedis
from engine.proxy.shared.settings import RedisSettings, cache_settings, shared_redis
from engine.proxy.shared.state import LocalState, RedisState
from engine.proxy.source import ConfigError
from tests.proxy.conftest import FakeClock
from tests.proxy.shared.conftest import free_port

NOW = 3_600_000.0


def backend(url: str, namespace: str, clock: FakeClock | None = None) -> RedisState:
    clock = clock or FakeClock()
    redis = SharedRedis(RedisSettings(url, socket_timeout=0.2), clock=clock)
    return RedisState(redis, LocalState(clock), prefix=f"{namespace}:", clock=lambda: NOW)


def state(name: str = "d", **limits: Any) -> DeploymentState:
    d = Deployment(name, "g", "vertex_ai/x", {}, {}, frozenset({"chat"}), **limits)
    return DeploymentState(d, Usage(d.rpm, d.tpm, d.max_parallel_requests, FakeClock(), name=f"dep:{name}"))


def first(ready: list[DeploymentState]) -> DeploymentState:
    return ready[0]


def test_two_backends_count_one_limit(redis_url: str, redis_namespace: str) -> None:
    async def run() -> list[bool]:
        a, b = backend(redis_url, redis_namespace), backend(redis_url, redis_namespace)
        sa, sb = state(rpm=3, max_parallel_requests=2), state(rpm=3, max_parallel_requests=2)
        got = []
        for i in range(4):
            s, mine = (sa, a) if i % 2 else (sb, b)
            chosen, reason, lease = await mine.acquire([s], first, "simple-shuffle")
            got.append(chosen is not None)
            if chosen is not None:
                mine.finish(chosen.usage, lease, 10)
        await a.drain()
        await b.drain()
        # parallel: two leases held by two processes block a third
        leases = [await x.acquire([s], first, "simple-shuffle") for x, s in ((a, sa), (b, sb))]
        assert [lease[1] for lease in leases] == ["rpm", "rpm"]  # the window is full (3 of 3)
        return got

    assert asyncio.run(run()) == [True, True, True, False]


def test_parallel_leases_and_least_busy(redis_url: str, redis_namespace: str) -> None:
    async def run() -> None:
        a, b = backend(redis_url, redis_namespace), backend(redis_url, redis_namespace)
        one, two = state("one", max_parallel_requests=1), state("two", max_parallel_requests=1)
        held, _, lease = await a.acquire([one], first, "least-busy")
        assert held is one
        other = state("one", max_parallel_requests=1)
        assert (await b.acquire([other], first, "least-busy"))[1] == "parallel"
        chosen, _, _ = await b.acquire([state("one"), two], first, "least-busy")
        assert chosen is two  # "one" is busy in the other process
        a.finish(one.usage, lease, 0)
        await a.drain()
        assert (await b.acquire([other], first, "least-busy"))[0] is other

    asyncio.run(run())


def test_keys_admit_all_or_nothing(redis_url: str, redis_namespace: str) -> None:
    async def run() -> None:
        a = backend(redis_url, redis_namespace)
        key, team = Usage(rpm=5, name="key:k"), Usage(rpm=1, name="team:t")
        assert await a.admit([("key", key), ("team", team)])
        with pytest.raises(RateLimitError, match="team"):
            await a.admit([("key", key), ("team", team)])
        assert key.requests == 1  # the refused request counted nowhere

    asyncio.run(run())


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers: a Redis that hangs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    sock.close()


@pytest.mark.parametrize("where", ["refused", "silent"])
def test_fails_open_on_local_state(
    where: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    url = (
        f"redis://127.0.0.1:{free_port()}/0"
        if where == "refused"
        else request.getfixturevalue("silent_server")
    )
    clock = FakeClock()

    async def run() -> RedisState:
        b = backend(url, "vxtest-dead", clock)
        s = state(rpm=2)
        got = []
        for _ in range(3):
            chosen, reason, lease = await b.acquire([s], first, "simple-shuffle")
            got.append((chosen is not None, reason, lease))
            if chosen is not None:
                b.finish(chosen.usage, lease, 0)
        assert got == [(True, None, ""), (True, None, ""), (False, "rpm", "")]  # this process's own rpm
        assert await b.failed(s, True, 0, 5.0) and s.cooldown_until == clock.now + 5
        await b.drain()
        return b

    with caplog.at_level(logging.WARNING, "vertexlate.proxy.shared"):
        b = asyncio.run(run())
    assert b.redis.failures == 1  # one failed command; the next ones waited for the backoff
    assert [r.message for r in caplog.records].count(next(iter(caplog.messages))) == 1
    assert "redis unreachable" in caplog.messages[0] and len(caplog.messages) == 1
    clock.advance(1)  # past the backoff: tried again (and failed again, still one message)
    assert b.redis.available
    asyncio.run(b.admit([("key", Usage(rpm=1, name="key:x"))]))
    assert b.redis.failures == 2 and len(caplog.messages) == 1


def test_config_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert shared_redis({}, {}) is None
    assert shared_redis({"redis_host": "h", "redis_port": 7, "redis_password": "p w"}, {}).url == (  # type: ignore[union-attr]
        "redis://:p%20w@h:7/0"
    )
    assert shared_redis({}, {"REDIS_HOST": "e", "REDIS_PORT": "9"}).url == "redis://e:9/0"  # type: ignore[union-attr]
    assert shared_redis({"redis_url": "redis://u:1/2"}, {"REDIS_URL": "redis://x"}).url == "redis://u:1/2"  # type: ignore[union-attr]
    assert cache_settings({"cache": False}, None, {}) is None
    local = cache_settings({"cache": True}, None, {})
    assert local is not None and local.type == "local" and local.redis is None
    params = {
        "cache": True,
        "cache_params": {"host": "c", "port": 1, "ttl": 5, "supported_call_types": ["completion"]},
    }
    redis = cache_settings(params, None, {})
    assert redis is not None and redis.type == "redis" and redis.redis is not None
    assert redis.redis.url == "redis://c:1/0" and redis.ttl == 5 and redis.call_types == {"acompletion"}

    config = tmp_path / "c.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: m\n"
        "    litellm_params: {model: vertex_ai/gemini-2.5-flash, vertex_project: p, vertex_location: l}\n"
        "router_settings: {redis_host: 127.0.0.1, redis_port: 6379, redis_password: s3cret}\n"
        "litellm_settings:\n"
        "  cache: true\n"
        "  cache_params: {type: redis, namespace: n, supported_call_types: [acompletion, atranscription], sizes: 1}\n",
        encoding="utf-8",
    )
    loaded = load_config(config)
    assert loaded.redis is not None and loaded.cache is not None and loaded.cache.namespace == "n"
    assert "s3cret" not in repr(loaded.redis) and "s3cret" not in repr(loaded.cache)
    assert any("cache_params.sizes: not supported" in w for w in loaded.warnings)
    assert any("'atranscription' is not cached" in w for w in loaded.warnings)
    assert warn_per_worker(loaded, 4) == []
    loaded.redis = None
    assert "limits and cooldowns are kept per worker" in warn_per_worker(loaded, 4)[0]
    assert warn_per_worker(loaded, 1) == []


def test_a_redis_cache_without_a_redis_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REDIS_URL", "REDIS_HOST"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "c.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: m\n"
        "    litellm_params: {model: vertex_ai/gemini-2.5-flash, vertex_project: p, vertex_location: l}\n"
        "litellm_settings: {cache: true, cache_params: {type: redis}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="cache_params.type: a redis cache needs a Redis"):
        load_config(config)


def test_a_proxy_with_its_redis_down_serves_and_counts_the_failures(
    start_proxy: Callable[..., Any], deployment: Callable[..., dict[str, Any]]
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    proxy = start_proxy(
        {
            "model_list": [deployment("flash", "vertex_ai/gemini-2.5-flash", rpm=100)],
            "router_settings": {"redis_url": url},
            "litellm_settings": {"cache": True, "cache_params": {"type": "redis"}},
        }
    )
    body = {"model": "flash", "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(3):
        assert httpx.post(f"{proxy.url}/v1/chat/completions", json=body, timeout=10).status_code == 200
    shared = proxy.proxy.shared
    assert shared is not None and shared.redis_down and shared.redis_failures >= 1
    assert len(shared.clients) == 1  # the cache uses the shared-state connection
