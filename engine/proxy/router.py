"""Choosing a deployment per request: load balancing, cooldown, failover, retries and fallbacks.

The behavior follows LiteLLM's router so existing configs mean the same thing:

- several deployments under one ``model_name`` share the load (``routing_strategy``);
- a deployment that fails on its own side (see below) is cooled down for
  ``cooldown_time`` (or the upstream's ``Retry-After``) and the request moves on to
  another deployment at once; the only deployment of a group is never cooled down;
- ``num_retries`` more attempts go to deployments already tried, after a backoff; when
  every deployment is cooling down they wait for the first cooldown to end (never past
  the request's timeout) instead of failing at once;
- when the group is exhausted, ``fallbacks`` name other model groups to try, in order
  (``context_window_fallbacks`` and ``content_policy_fallbacks`` for those two errors);
- deployments at their ``rpm``/``tpm``/``max_parallel_requests`` are skipped.

Where the counters, cooldowns and latency averages live is the state backend's business
(engine/proxy/shared/state.py): this process's memory by default, Redis when configured,
so every proxy process then sees the same limits, cooldowns and latencies.

Whose fault a failure is (:func:`deployment_side`) decides everything else, because a
client must not be able to take a model group offline for everyone (by sending, say, a
``cached_content`` that does not exist, which every deployment answers with 404):

- the deployment's: 429, every 5xx, timeouts (408) and connection errors (which the
  engine reports as 5xx); 401, since only the deployment's own credentials go upstream
  (clients cannot send any); and a 403 or 404 that is about the deployment: Google's
  message names the deployment's model (``.../models/<id>``, as in "Publisher Model ...
  was not found or your project does not have access to it" when a region lacks the
  model), or its ``google.rpc.ErrorInfo`` reason is one Google uses for project and
  credential problems (``SERVICE_DISABLED``, ``IAM_PERMISSION_DENIED``, ... see
  :data:`DEPLOYMENT_REASONS`), or it is a 403 that names no resource at all (Google's
  bare "The caller does not have permission" concerns the caller, i.e. the credentials);
- the client's: everything else, i.e. every other 4xx, and a 403/404 that names some
  other resource (a cached content, a ``gs://`` object, a tuning job: things the
  request referred to). Such an error goes back to that client at once: no other
  deployment is tried, nothing is cooled down, no fallback runs (except the
  context-window and content-policy fallbacks, which exist for exactly those errors).

The doubtful case leans to the client: a bare 404 that names nothing ("Requested entity
was not found.") is the client's, so a misconfigured deployment answering it fails its
share of requests, visibly, instead of letting any client cool the whole group down.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.errors import APIError, ContentPolicyViolationError, ContextWindowExceededError, RateLimitError
from engine.proxy.config import Deployment, ProxyConfig
from engine.proxy.limits import LIMIT_TEXT, Usage
from engine.proxy.shared.state import LATENCY_WEIGHT, LocalState, StateBackend
from engine.transport import retry_delay

log = logging.getLogger("vertexlate.proxy")

# Statuses that are always the deployment's fault: overloaded, timed out, its credentials refused.
DEPLOYMENT_STATUS = frozenset({401, 408, 429})
# Statuses that are the deployment's fault only when the error is about the deployment.
AMBIGUOUS_STATUS = frozenset({403, 404})
# google.rpc.ErrorInfo reasons (google/api/error_reason.proto, https://cloud.google.com/apis/design/errors)
# that blame the calling project or credential, i.e. the deployment's configuration.
DEPLOYMENT_REASONS = frozenset(
    {
        "SERVICE_DISABLED",
        "BILLING_DISABLED",
        "IAM_PERMISSION_DENIED",
        "ACCESS_TOKEN_EXPIRED",
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        "ACCESS_TOKEN_TYPE_UNSUPPORTED",
        "CONSUMER_INVALID",
        "CONSUMER_SUSPENDED",
        "USER_PROJECT_DENIED",
        "API_KEY_INVALID",
        "API_KEY_SERVICE_BLOCKED",
        "API_KEY_HTTP_REFERRER_BLOCKED",
        "API_KEY_IP_ADDRESS_BLOCKED",
        "API_KEY_ANDROID_APP_BLOCKED",
        "API_KEY_IOS_APP_BLOCKED",
        "ORG_RESTRICTION_VIOLATION",
        "LOCATION_POLICY_VIOLATED",
        "RESOURCE_PROJECT_INVALID",
        "SECURITY_POLICY_VIOLATED",
    }
)
# What a message that names a resource looks like: Google quotes names in backticks or quotes, or gives a URI.
NAMES_RESOURCE = re.compile(r"[`'\"]|gs://|https?://|projects/")
MAX_COOLDOWN = 300.0


def deployment_side(error: APIError, deployment: Deployment) -> bool:
    """Whether ``error`` is the deployment's fault (cool down, fail over) rather than the client's; see the module doc."""
    status = error.status_code
    if status >= 500 or status in DEPLOYMENT_STATUS:
        return True
    if status not in AMBIGUOUS_STATUS:
        return False
    if _reasons(error.body) & DEPLOYMENT_REASONS:
        return True
    model_id = deployment.model.rsplit("/", 1)[-1]  # the last segment, as the upstream URL has it
    if model_id and re.search(rf"(models|endpoints)/{re.escape(model_id)}(?![\w.@-])", error.message):
        return True
    message = error.message.split(": ", 1)[-1]  # past the engine's "Vertex AI returned 403 ...:" prefix
    return status == 403 and not NAMES_RESOURCE.search(message)


def _reasons(body: Any) -> set[str]:
    """The ``ErrorInfo.reason`` values of a Google error body."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return set()
    return {d["reason"] for d in details if isinstance(d, dict) and isinstance(d.get("reason"), str)}


class GroupFailed(Exception):
    """Every deployment of a group failed on its own side (or none was available); ``error`` is the answer."""

    def __init__(self, error: APIError) -> None:
        super().__init__(error.message)
        self.error = error


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
    lease: str = ""  # the shared state's lease id ("" when counted in this process only)

    @property
    def deployment(self) -> Deployment:
        return self.state.deployment

    def release(self, tokens: int = 0) -> None:
        if not self.released:
            self.released = True
            self.router.backend.finish(self.state.usage, self.lease, tokens)


Invoke = Callable[[Deployment], Awaitable[Any]]


class Router:
    """Per-process routing state for every model group of a config."""

    def __init__(
        self,
        config: ProxyConfig,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        backend: StateBackend | None = None,
    ) -> None:
        self.config = config
        self.clock = clock  # monotonic seconds: rate-limit windows, cooldowns, waits (a seam for tests)
        self.sleep = sleep  # waits between retries; tests pass one that advances their clock
        self.rng = rng or random.Random()
        self.backend: StateBackend = backend or LocalState(clock)
        self.observer: Any = None  # metrics hooks: cooled_down, retry, fallback (engine/proxy/observability)
        self.states: dict[str, list[DeploymentState]] = {
            name: [
                DeploymentState(d, Usage(d.rpm, d.tpm, d.max_parallel_requests, clock, name=f"dep:{d.id}"))
                for d in group
            ]
            for name, group in config.groups.items()
        }
        choose = STRATEGIES[config.routing_strategy]
        self._publish_latency = config.routing_strategy == "latency-based-routing"  # nobody else reads them
        self._choose = lambda ready: choose(self, ready)
        # The request timeout that bounds waiting for a cooldown: the shortest of the group's deployments.
        self._timeouts = {
            name: min(d.timeout for d in group) for name, group in config.groups.items() if group
        }

    # ------------------------------------------------------------------ selection
    async def acquire(
        self, name: str, operation: str, exclude: set[int], admission: Any = None
    ) -> tuple[DeploymentState | None, str | None, str]:
        """A deployment that may take a request now, already counted (and its lease id), else why none.

        ``admission``: a caller whose own limits are checked in the same step (see KeyTable.admit).
        """
        ready = [
            s
            for s in self.states.get(name, ())
            if operation in s.deployment.operations and id(s) not in exclude
        ]
        return await self.backend.acquire(ready, self._choose, self.config.routing_strategy, admission)

    # ------------------------------------------------------------------ outcomes
    async def _failed(self, state: DeploymentState, error: APIError) -> None:
        if len(self.states[state.deployment.model_name]) < 2:
            return  # cooling down the only deployment would only turn errors into "no deployment"
        seconds = _cooldown_seconds(error, self.config.cooldown_time)
        cooled = await self.backend.failed(
            state, error.status_code == 429, self.config.allowed_fails, seconds
        )
        if cooled:
            if self.observer is not None:
                self.observer.cooled_down(state.deployment, error)
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
        if self._publish_latency:  # shared with the other processes when the backend is (Redis)
            self.backend.measured(state, elapsed)

    # ------------------------------------------------------------------ the call
    async def call(
        self, name: str, operation: str, invoke: Invoke, admission: Any = None
    ) -> tuple[Any, Lease]:
        """Run ``invoke`` on a deployment of ``name`` (or a fallback); return its result and the lease.

        A client-caused error propagates at once; only a group that failed on its
        deployments' side (or context-window / content-policy errors) moves to fallbacks.
        ``admission``: a caller still to be admitted, with the first deployment choice.
        """
        try:
            return await self._call_group(name, operation, invoke, admission)
        except GroupFailed as exc:
            error, exhausted = exc.error, True
        except (ContextWindowExceededError, ContentPolicyViolationError) as exc:
            error, exhausted = exc, False
        for fallback in self._fallbacks_for(name, operation, error, exhausted):
            cause = error
            try:
                answer = await self._call_group(fallback, operation, invoke)
            except GroupFailed as exc:
                error = exc.error
            except (ContextWindowExceededError, ContentPolicyViolationError) as exc:
                error = exc
            else:
                if self.observer is not None:
                    self.observer.fallback(name, fallback, cause, True)
                return answer
            if self.observer is not None:
                self.observer.fallback(name, fallback, cause, False)
        raise error

    def _fallbacks_for(self, name: str, operation: str, error: APIError, exhausted: bool) -> list[str]:
        """The fallback groups for this kind of failure that can serve ``operation``."""
        if isinstance(error, ContextWindowExceededError):
            table = self.config.context_window_fallbacks
        elif isinstance(error, ContentPolicyViolationError):
            table = self.config.content_policy_fallbacks
        elif exhausted:
            table = self.config.fallbacks
        else:
            return []
        return [
            g
            for g in table.get(name, ())
            if any(operation in s.deployment.operations for s in self.states.get(g, ()))
        ]

    async def _call_group(
        self, name: str, operation: str, invoke: Invoke, admission: Any = None
    ) -> tuple[Any, Lease]:
        """Try the group's deployments; raise the client's error as it is, or :class:`GroupFailed`."""
        tried: set[int] = set()
        retries = 0
        last: APIError | None = None
        deadline = self.clock() + self._timeouts.get(name, 0.0)
        while True:
            state, reason, lease_id = await self.acquire(name, operation, tried, admission)
            admission = None
            if state is None and retries < self.config.num_retries:
                if tried:
                    state, reason, lease_id = await self.acquire(name, operation, set())
                if state is not None:
                    await self.sleep(retry_delay(retries, last.headers if last else None))
                    retries += 1
                    if self.observer is not None:
                        self.observer.retry(name)
                elif reason == "cooldown":
                    wait = self._wait_for_cooldown(name, operation, deadline)
                    if wait is not None:  # every deployment is cooling down: wait for the first to return
                        await self.sleep(wait)
                        retries += 1
                        if self.observer is not None:
                            self.observer.retry(name)
                        tried.clear()
                        continue
            if state is None:
                raise GroupFailed(last if last is not None else self._unavailable(name, reason))
            tried.add(id(state))
            lease, started = Lease(self, state, lease=lease_id), self.clock()
            try:
                result = await invoke(state.deployment)
            except APIError as exc:
                lease.release()
                if not deployment_side(exc, state.deployment):
                    raise  # the client's own error: to that client, at once, nobody cooled down
                await self._failed(state, exc)
                last = exc
                continue
            except BaseException:
                lease.release()
                raise
            self._succeeded(state, started)
            return result, lease

    def _wait_for_cooldown(self, name: str, operation: str, deadline: float) -> float | None:
        """Seconds until the first cooling deployment of the group is back, if that is before ``deadline``."""
        now = self.clock()
        ends = [
            s.cooldown_until
            for s in self.states.get(name, ())
            if operation in s.deployment.operations and s.cooldown_until > now
        ]
        if not ends or min(ends) > deadline:
            return None
        return min(ends) - now

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
