"""The router's decisions with a fake clock and fake upstream calls: no network, fully deterministic."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from engine.errors import (
    APIError,
    BadRequestError,
    ContextWindowExceededError,
    InternalServerError,
    RateLimitError,
    ServiceUnavailableError,
)
from engine.proxy.config import Deployment, ProxyConfig
from engine.proxy.router import Router


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def dep(name: str, ident: str, **kw: Any) -> Deployment:
    return Deployment(
        id=ident,
        model_name=name,
        model="vertex_ai/x",
        options={},
        defaults={"chat": {}},
        operations=frozenset({"chat"}),
        **kw,
    )


def router(*deployments: Deployment, clock: Clock | None = None, **settings: Any) -> Router:
    groups: dict[str, list[Deployment]] = {}
    for d in deployments:
        groups.setdefault(d.model_name, []).append(d)
    config = ProxyConfig(path=Path("test.yaml"), deployments=list(deployments), groups=groups, **settings)
    return Router(config, clock=clock or Clock(), rng=random.Random(7))


class Upstream:
    """Answers per deployment id from a queue of outcomes (an exception or a value); records calls."""

    def __init__(self, **outcomes: list[Any]) -> None:
        self.outcomes = outcomes
        self.calls: list[str] = []

    async def __call__(self, deployment: Deployment) -> Any:
        self.calls.append(deployment.id)
        queue = self.outcomes.get(deployment.id, [])
        outcome = queue.pop(0) if queue else {"ok": deployment.id}
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def run(r: Router, name: str, upstream: Upstream) -> Any:
    result, lease = asyncio.run(r.call(name, "chat", upstream))
    lease.release(10)
    return result


def test_failover_and_cooldown_expiry() -> None:
    clock = Clock()
    r = router(dep("g", "a"), dep("g", "b", weight=1e-9), clock=clock, cooldown_time=5)  # "a" is asked first
    up = Upstream(a=[RateLimitError("slow down")])
    assert run(r, "g", up) == {"ok": "b"}
    assert up.calls == ["a", "b"]
    state_a = next(s for s in r.states["g"] if s.deployment.id == "a")
    assert state_a.cooldown_until == pytest.approx(clock.now + 5)
    assert run(r, "g", up) == {"ok": "b"}  # "a" is skipped while cooling down, weights notwithstanding
    clock.now += 5.01
    assert run(r, "g", up) == {"ok": "a"}


def test_retry_after_sets_cooldown_length() -> None:
    clock = Clock()
    r = router(dep("g", "a"), dep("g", "b", weight=1e-9), clock=clock, cooldown_time=5)
    up = Upstream(a=[RateLimitError("slow", headers={"retry-after": "42"})])
    run(r, "g", up)
    assert up.calls == ["a", "b"]
    state_a = next(s for s in r.states["g"] if s.deployment.id == "a")
    assert state_a.cooldown_until == pytest.approx(clock.now + 42)


def test_allowed_fails_delays_cooldown_for_5xx() -> None:
    clock = Clock()
    r = router(dep("g", "a"), dep("g", "b"), clock=clock, allowed_fails=1)
    state_a = next(s for s in r.states["g"] if s.deployment.id == "a")
    r._failed(state_a, InternalServerError("boom"))
    assert state_a.cooldown_until == 0
    r._failed(state_a, InternalServerError("boom"))
    assert state_a.cooldown_until > clock.now


def test_bad_request_is_not_retried_elsewhere() -> None:
    r = router(dep("g", "a"), dep("g", "b"))
    up = Upstream(a=[BadRequestError("bad")], b=[BadRequestError("bad")])
    with pytest.raises(BadRequestError):
        asyncio.run(r.call("g", "chat", up))
    assert len(up.calls) == 1
    assert all(s.usage.in_flight == 0 and s.cooldown_until == 0 for s in r.states["g"])


def test_context_window_fallback_only_for_that_error() -> None:
    r = router(
        dep("small", "s"),
        dep("big", "b"),
        dep("other", "o"),
        context_window_fallbacks={"small": ["big"]},
        fallbacks={"small": ["other"]},
    )
    up = Upstream(s=[ContextWindowExceededError("too long")])
    assert run(r, "small", up) == {"ok": "b"}
    up = Upstream(s=[ServiceUnavailableError("down")])
    assert run(r, "small", up) == {"ok": "o"}


def test_num_retries_on_single_deployment_then_error() -> None:
    r = router(dep("g", "a"), num_retries=2)
    errors = [RateLimitError("x", headers={"retry-after": "0"}) for _ in range(3)]
    up = Upstream(a=errors)
    with pytest.raises(RateLimitError):
        asyncio.run(r.call("g", "chat", up))
    assert up.calls == ["a", "a", "a"]


def test_tpm_limit_skips_deployment_until_next_minute() -> None:
    clock = Clock()
    clock.now = 60_000.0
    r = router(dep("g", "a", tpm=10), clock=clock)
    run(r, "g", Upstream())  # releases with 10 tokens
    with pytest.raises(RateLimitError) as info:
        asyncio.run(r.call("g", "chat", Upstream()))
    assert "tokens-per-minute" in info.value.message
    clock.now += 60
    assert run(r, "g", Upstream()) == {"ok": "a"}


def test_least_busy_prefers_idle_deployment() -> None:
    r = router(dep("g", "a"), dep("g", "b"), routing_strategy="least-busy")
    busy = next(s for s in r.states["g"] if s.deployment.id == "a")
    busy.usage.start()
    assert {run(r, "g", Upstream())["ok"] for _ in range(10)} == {"b"}


def test_cancellation_releases_the_deployment() -> None:
    r = router(dep("g", "a"))

    async def hang(deployment: Deployment) -> Any:
        await asyncio.sleep(3600)

    async def main() -> None:
        task = asyncio.create_task(r.call("g", "chat", hang))
        await asyncio.sleep(0)
        assert r.states["g"][0].usage.in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert r.states["g"][0].usage.in_flight == 0


def test_unknown_errors_do_not_leak_leases() -> None:
    r = router(dep("g", "a"))
    with pytest.raises(APIError):
        asyncio.run(r.call("g", "chat", Upstream(a=[APIError("odd", status_code=418)])))
    assert r.states["g"][0].usage.in_flight == 0
