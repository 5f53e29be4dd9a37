"""The router's decisions with a fake clock and fake upstream calls: no network, fully deterministic."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from engine.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
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
    asyncio.run(r._failed(state_a, InternalServerError("boom")))
    assert state_a.cooldown_until == 0
    asyncio.run(r._failed(state_a, InternalServerError("boom")))
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


# ------------------------------------------------------------------ whose fault: client errors never cool down
def google_error(status: int, message: str, reason: str | None = None) -> dict[str, Any]:
    """A Google error body (https://cloud.google.com/apis/design/errors), with an ErrorInfo when ``reason``."""
    error: dict[str, Any] = {"code": status, "message": message, "status": "NOT_FOUND"}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}]
    return {"error": error}


def upstream(cls: type[APIError], status: int, message: str, reason: str | None = None) -> APIError:
    """An error as the engine raises it for an upstream reply (see engine.transport.upstream_error)."""
    return cls(
        f"Vertex AI returned {status}: {message}",
        status_code=status,
        body=google_error(status, message, reason),
    )


CACHE_404 = "Not found: cached content metadata for 1234567890."  # the emulator's wording for a missing cache


def test_client_caused_404_goes_back_at_once_and_cools_nothing() -> None:
    r = router(dep("g", "a"), dep("g", "b"), dep("backup", "z"), fallbacks={"g": ["backup"]}, num_retries=2)
    up = Upstream(a=[upstream(NotFoundError, 404, CACHE_404)], b=[upstream(NotFoundError, 404, CACHE_404)])
    with pytest.raises(NotFoundError):
        asyncio.run(r.call("g", "chat", up))
    assert len(up.calls) == 1  # no other deployment, no retry, no fallback
    assert all(s.cooldown_until == 0 and s.fails == 0 for s in r.states["g"])
    for _ in range(20):  # and everyone else is served as before
        assert run(r, "g", Upstream())["ok"] in ("a", "b")


@pytest.mark.parametrize(
    "status, message, reason",
    [
        (400, "Request contains an invalid argument.", None),
        (404, "Requested entity was not found.", None),
        (403, "Permission denied on cached content `projects/p/locations/l/cachedContents/9`.", None),
        (403, "The caller does not have permission to read gs://someone-elses-bucket/secret.png", None),
        (422, "Unprocessable.", None),
    ],
)
def test_client_caused_errors_do_not_fail_over(status: int, message: str, reason: str | None) -> None:
    r = router(dep("g", "a"), dep("g", "b"))
    cls = {400: BadRequestError, 403: PermissionDeniedError, 404: NotFoundError}.get(status, APIError)
    up = Upstream(a=[upstream(cls, status, message, reason)], b=[upstream(cls, status, message, reason)])
    with pytest.raises(APIError) as info:
        asyncio.run(r.call("g", "chat", up))
    assert info.value.status_code == status and len(up.calls) == 1
    assert all(s.cooldown_until == 0 for s in r.states["g"])


@pytest.mark.parametrize(
    "status, message, reason",
    [
        (401, "Request had invalid authentication credentials.", None),
        (403, "The caller does not have permission", None),  # Google's bare 403: the credentials
        (403, "Vertex AI API has not been used in project 123 before or it is disabled.", "SERVICE_DISABLED"),
        (
            404,
            "Publisher Model `projects/p/locations/l/publishers/google/models/x` was not found or your "
            "project does not have access to it.",
            None,
        ),
        (429, "Resource exhausted.", None),
        (503, "The service is currently unavailable.", None),
        (408, "timed out", None),
    ],
)
def test_deployment_side_errors_cool_down_and_fail_over(
    status: int, message: str, reason: str | None
) -> None:
    clock = Clock()
    r = router(dep("g", "a"), dep("g", "b", weight=1e-9), clock=clock, cooldown_time=5)
    cls = {401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError}.get(status, APIError)
    up = Upstream(a=[upstream(cls, status, message, reason)])
    assert run(r, "g", up) == {"ok": "b"}
    assert up.calls == ["a", "b"]
    state_a = next(s for s in r.states["g"] if s.deployment.id == "a")
    assert state_a.cooldown_until == pytest.approx(clock.now + 5)


def test_model_named_must_be_the_deployments_own() -> None:
    """A 404 naming another model (say, a tuned model the request referred to) is the client's."""
    r = router(dep("g", "a"), dep("g", "b"))
    other = "Publisher Model `projects/p/locations/l/publishers/google/models/x-other` was not found."
    up = Upstream(a=[upstream(NotFoundError, 404, other)], b=[upstream(NotFoundError, 404, other)])
    with pytest.raises(NotFoundError):
        asyncio.run(r.call("g", "chat", up))
    assert len(up.calls) == 1


# ------------------------------------------------------------------ num_retries waits out cooldowns
class Sleeper:
    """``asyncio.sleep`` for the router that moves the fake clock instead of waiting; records each wait."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.now += seconds


def waiting_router(clock: Clock, **settings: Any) -> tuple[Router, Sleeper]:
    deployments = [dep("g", "a", timeout=60.0), dep("g", "b", timeout=60.0)]
    config = ProxyConfig(path=Path("t.yaml"), deployments=deployments, groups={"g": deployments}, **settings)
    sleeper = Sleeper(clock)
    return Router(config, clock=clock, rng=random.Random(7), sleep=sleeper), sleeper


def test_all_cooling_down_with_num_retries_waits_for_the_first_cooldown() -> None:
    clock = Clock()
    r, sleeper = waiting_router(clock, num_retries=1, cooldown_time=5)
    a, b = r.states["g"]
    a.cooldown_until, b.cooldown_until = clock.now + 7, clock.now + 3  # b is back first
    assert run(r, "g", Upstream()) == {"ok": "b"}
    assert sleeper.waits == [pytest.approx(3)]


def test_after_faults_on_every_deployment_the_retry_waits_for_retry_after() -> None:
    clock = Clock()
    r, sleeper = waiting_router(clock, num_retries=1, cooldown_time=30)
    slow = [RateLimitError("slow", headers={"retry-after": "4"})]
    up = Upstream(a=list(slow), b=[RateLimitError("slow", headers={"retry-after": "9"})])
    assert run(r, "g", up)["ok"] == "a"  # a's Retry-After ends first
    assert up.calls[:2] in (["a", "b"], ["b", "a"]) and up.calls[2] == "a"
    assert sleeper.waits == [pytest.approx(4)]


def test_waiting_is_bounded_by_the_request_timeout() -> None:
    clock = Clock()
    r, sleeper = waiting_router(clock, num_retries=3)
    for state in r.states["g"]:
        state.cooldown_until = clock.now + 120  # longer than the 60 s timeout
    with pytest.raises(RateLimitError) as info:
        asyncio.run(r.call("g", "chat", Upstream()))
    assert "cooling down" in info.value.message and sleeper.waits == []


def test_without_num_retries_all_cooling_down_fails_at_once() -> None:
    clock = Clock()
    r, sleeper = waiting_router(clock)
    for state in r.states["g"]:
        state.cooldown_until = clock.now + 2
    with pytest.raises(RateLimitError):
        asyncio.run(r.call("g", "chat", Upstream()))
    assert sleeper.waits == []
