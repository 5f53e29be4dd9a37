"""Choosing a deployment per request: load balancing, cooldown, failover, retries and fallbacks.

The behavior follows LiteLLM's router so existing configs mean the same thing:

- several deployments under one ``model_name`` share the load (``routing_strategy``);
- a deployment that answers 429, 5xx, a timeout or a connection error is cooled down
  for ``cooldown_time`` (or the upstream's ``Retry-After``) and the request moves on to
  another deployment at once; the only deployment of a group is never cooled down;
- ``num_retries`` more attempts go to deployments already tried, after a backoff;
- when the group is exhausted, ``fallbacks`` name other model groups to try, in order
  (``context_window_fallbacks`` and ``content_policy_fallbacks`` for those two errors);
- deployments at their ``rpm``/``tpm``/``max_parallel_requests`` are skipped.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.errors import APIError, ContentPolicyViolationError, ContextWindowExceededError, RateLimitError
from engine.proxy.config import Deployment, ProxyConfig
from engine.proxy.limits import LIMIT_TEXT, Usage
from engine.transport import retry_delay

log = logging.getLogger("vertexlate.proxy")

# Upstream answers after which another deployment may well succeed.
FAILOVER_STATUS = frozenset({401, 403, 404, 408, 429})
MAX_COOLDOWN = 300.0
LATENCY_WEIGHT = 0.2  # EWMA factor for latency-based routing


def fails_over(error: APIError) -> bool:
    return error.status_code >= 500 or error.status_code in FAILOVER_STATUS


@dataclass(eq=False)
class DeploymentState:
    """Live state of one deployment."""

    deployment: Deployment
    usage: Usage
    cooldown_until: float = 0.0
    fail_minute: int = -1
    fails: int = 0
    latency: float = 0.0


@dataclass(eq=False)
class Lease:
    """One deployment handling one request; ``release`` must be called once the reply is consumed."""

    router: Router
    state: DeploymentState
    released: bool = field(default=False)

    @property
    def deployment(self) -> Deployment:
        return self.state.deployment

    def release(self, tokens: int = 0) -> None:
        if not self.released:
            self.released = True
            self.state.usage.finish(tokens)


Invoke = Callable[[Deployment], Awaitable[Any]]


class Router:
    """Per-process routing state for every model group of a config."""

    def __init__(
        self,
        config: ProxyConfig,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        self.states: dict[str, list[DeploymentState]] = {
            name: [DeploymentState(d, Usage(d.rpm, d.tpm, d.max_parallel_requests, clock)) for d in group]
            for name, group in config.groups.items()
        }
        self._choose = STRATEGIES[config.routing_strategy]

    # ------------------------------------------------------------------ selection
    def _available(
        self, name: str, operation: str, exclude: set[int]
    ) -> tuple[list[DeploymentState], str | None]:
        """Deployments that may take a request now, and why none can (if none)."""
        now, ready, reason = self.clock(), [], None
        for state in self.states.get(name, ()):
            if operation not in state.deployment.operations or id(state) in exclude:
                continue
            if state.cooldown_until > now:
                reason = reason or "cooldown"
                continue
            blocked = state.usage.blocked()
            if blocked is not None:
                reason = blocked
                continue
            ready.append(state)
        return ready, reason

    def pick(self, name: str, operation: str, exclude: set[int]) -> tuple[DeploymentState | None, str | None]:
        ready, reason = self._available(name, operation, exclude)
        if not ready:
            return None, reason
        return (ready[0] if len(ready) == 1 else self._choose(self, ready)), None

    # ------------------------------------------------------------------ outcomes
    def _failed(self, state: DeploymentState, error: APIError) -> None:
        if len(self.states[state.deployment.model_name]) < 2:
            return  # cooling down the only deployment would only turn errors into "no deployment"
        now = self.clock()
        minute = int(now // 60)
        if minute != state.fail_minute:
            state.fail_minute, state.fails = minute, 0
        state.fails += 1
        if error.status_code == 429 or state.fails > self.config.allowed_fails:
            seconds = _cooldown_seconds(error, self.config.cooldown_time)
            state.cooldown_until = now + seconds
            log.warning(
                "deployment %s answered %s; cooling down for %gs",
                state.deployment.id,
                error.status_code,
                seconds,
            )

    def _succeeded(self, state: DeploymentState, started: float) -> None:
        state.fails = 0
        elapsed = self.clock() - started
        state.latency = (
            elapsed if not state.latency else state.latency + LATENCY_WEIGHT * (elapsed - state.latency)
        )

    # ------------------------------------------------------------------ the call
    async def call(self, name: str, operation: str, invoke: Invoke) -> tuple[Any, Lease]:
        """Run ``invoke`` on a deployment of ``name`` (or a fallback); return its result and the lease."""
        try:
            return await self._call_group(name, operation, invoke)
        except APIError as exc:
            error = exc
        for fallback in self._fallbacks_for(name, operation, error):
            try:
                return await self._call_group(fallback, operation, invoke)
            except APIError as exc:
                error = exc
        raise error

    def _fallbacks_for(self, name: str, operation: str, error: APIError) -> list[str]:
        """The fallback groups for this kind of failure that can serve ``operation``."""
        if isinstance(error, ContextWindowExceededError):
            table = self.config.context_window_fallbacks
        elif isinstance(error, ContentPolicyViolationError):
            table = self.config.content_policy_fallbacks
        elif fails_over(error):
            table = self.config.fallbacks
        else:
            return []
        return [
            g
            for g in table.get(name, ())
            if any(operation in s.deployment.operations for s in self.states.get(g, ()))
        ]

    async def _call_group(self, name: str, operation: str, invoke: Invoke) -> tuple[Any, Lease]:
        tried: set[int] = set()
        retries = 0
        last: APIError | None = None
        while True:
            state, reason = self.pick(name, operation, tried)
            if state is None and tried and retries < self.config.num_retries:
                state, reason = self.pick(name, operation, set())
                if state is not None:
                    await asyncio.sleep(retry_delay(retries, last.headers if last else None))
                    retries += 1
            if state is None:
                raise last if last is not None else self._unavailable(name, reason)
            tried.add(id(state))
            state.usage.start()
            lease, started = Lease(self, state), self.clock()
            try:
                result = await invoke(state.deployment)
            except APIError as exc:
                lease.release()
                if not fails_over(exc):
                    raise
                self._failed(state, exc)
                last = exc
                continue
            except BaseException:
                lease.release()
                raise
            self._succeeded(state, started)
            return result, lease

    def _unavailable(self, name: str, reason: str | None) -> APIError:
        if reason == "cooldown":
            wait = min(s.cooldown_until for s in self.states[name]) - self.clock()
            return RateLimitError(
                f"no deployment of model {name!r} is available: all are cooling down after upstream errors",
                code="no_deployment_available",
                headers={"retry-after": str(max(1, round(wait)))},
                llm_provider="proxy",
            )
        text = LIMIT_TEXT.get(reason or "", "limit")
        return RateLimitError(
            f"every deployment of model {name!r} has reached its {text}",
            code="rate_limit_exceeded",
            llm_provider="proxy",
        )


def _cooldown_seconds(error: APIError, default: float) -> float:
    value = (error.headers or {}).get("retry-after")
    try:
        return min(max(float(value), 0.0), MAX_COOLDOWN) if value is not None else default
    except ValueError:
        return default


def _shuffle(router: Router, ready: list[DeploymentState]) -> DeploymentState:
    return router.rng.choices(ready, weights=[s.deployment.weight for s in ready])[0]


def _lowest(
    key: Callable[[DeploymentState], float],
) -> Callable[[Router, list[DeploymentState]], DeploymentState]:
    def choose(router: Router, ready: list[DeploymentState]) -> DeploymentState:
        best = min(key(s) for s in ready)
        return router.rng.choice([s for s in ready if key(s) == best])

    return choose


STRATEGIES: dict[str, Callable[[Router, list[DeploymentState]], DeploymentState]] = {
    "simple-shuffle": _shuffle,
    "least-busy": _lowest(lambda s: s.usage.in_flight),
    "usage-based-routing": _lowest(lambda s: s.usage.tokens_this_minute()),
    "usage-based-routing-v2": _lowest(lambda s: s.usage.tokens_this_minute()),
    "latency-based-routing": _lowest(lambda s: s.latency),
}
