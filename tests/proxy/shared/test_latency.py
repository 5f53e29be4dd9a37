"""Latency-based routing over one Redis: what one router measures steers the others; Redis down, each its own."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from engine.proxy.config import Deployment, ProxyConfig
from engine.proxy.router import Router
from engine.proxy.shared.connection import SharedRedis
from engine.proxy.shared.settings import RedisSettings
from engine.proxy.shared.state import LocalState, RedisState
from tests.proxy.conftest import FakeClock
from tests.proxy.shared.conftest import free_port, redis_client

NOW = 3_600_000.0
SECONDS = {"slow": 2.0, "fast": 0.05}  # how long each deployment takes to answer


def dep(ident: str) -> Deployment:
    return Deployment(ident, "g", "vertex_ai/x", {}, {"chat": {}}, frozenset({"chat"}))


def shared_router(url: str, namespace: str, seed: int) -> tuple[Router, RedisState, FakeClock]:
    """A router of its own (as in its own process) over the shared Redis, routing on latency."""
    clock = FakeClock()
    deployments = [dep("slow"), dep("fast")]
    config = ProxyConfig(
        path=Path("test.yaml"),
        deployments=deployments,
        groups={"g": deployments},
        routing_strategy="latency-based-routing",
    )
    redis = SharedRedis(RedisSettings(url, socket_timeout=0.5), clock=clock)
    backend = RedisState(
        redis, LocalState(clock), prefix=f"{namespace}:", clock=lambda: NOW, rng=random.Random(seed)
    )
    return Router(config, clock=clock, rng=random.Random(seed), backend=backend), backend, clock


def upstream(clock: FakeClock, calls: list[str], slow: bool = True) -> Any:
    """A fake upstream call: the deployment's answer time passes on the router's clock."""

    async def invoke(deployment: Deployment) -> dict[str, str]:
        calls.append(deployment.id)
        if slow:
            clock.advance(SECONDS[deployment.id])
        return {"ok": deployment.id}

    return invoke


async def serve(r: Router, invoke: Any, n: int) -> None:
    for _ in range(n):
        _, lease = await r.call("g", "chat", invoke)
        lease.release(10)


def local_latency(r: Router) -> dict[str, float]:
    return {s.deployment.id: s.latency for s in r.states["g"]}


def test_latencies_measured_in_one_router_make_the_other_prefer_the_faster(
    redis_url: str, redis_namespace: str
) -> None:
    async def run() -> tuple[list[str], list[str], Router]:
        a, backend_a, clock_a = shared_router(redis_url, redis_namespace, 1)
        b, backend_b, clock_b = shared_router(redis_url, redis_namespace, 2)
        measured: list[str] = []
        await serve(a, upstream(clock_a, measured), 4)  # unmeasured ones go first: both get measured
        await backend_a.drain()
        assert backend_a.measurements == 4 and sorted(set(measured)) == ["fast", "slow"]
        chosen: list[str] = []
        await serve(b, upstream(clock_b, chosen, slow=False), 10)  # b measures nothing of its own
        await backend_b.drain()
        for backend in (backend_a, backend_b):
            await backend.redis.close()
        return measured, chosen, b

    measured, chosen, b = asyncio.run(run())
    assert chosen == ["fast"] * 10
    assert local_latency(b)["slow"] == 0.0  # b never called it: the shared average steered it
    client = redis_client(redis_url)
    slow = float(client.get(f"{redis_namespace}:lat:dep:slow"))
    ttl = client.ttl(f"{redis_namespace}:lat:dep:slow")
    client.close()
    assert slow == pytest.approx(SECONDS["slow"]) and 3500 < ttl <= 3600  # its one sample took 2s


def test_redis_down_each_router_routes_on_its_own_latencies() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: refused at once

    async def run() -> tuple[list[str], Router, RedisState]:
        r, backend, clock = shared_router(url, "vxtest-dead", 3)
        warmup: list[str] = []
        await serve(r, upstream(clock, warmup), 2)  # measures both, on its own
        chosen: list[str] = []
        await serve(r, upstream(clock, chosen), 8)
        await backend.drain()
        await backend.redis.close()
        return chosen, r, backend

    chosen, r, backend = asyncio.run(run())
    assert chosen == ["fast"] * 8
    assert local_latency(r)["slow"] == SECONDS["slow"]
    assert backend.redis.failures >= 1 and backend.measurements == 0
