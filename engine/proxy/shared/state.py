"""The state backends behind rate limits and cooldowns: this process's memory, or Redis shared by all.

:class:`LocalState` is the proxy's state as it always was: :class:`~engine.proxy.limits.Usage`
counters and each deployment's ``cooldown_until``, nothing awaited on I/O.
:class:`RedisState` keeps the same counters in Redis (engine/proxy/shared/scripts.py), one
script call per check, and keeps the local ones too, counting this process's share: when
Redis fails (:class:`~engine.proxy.shared.connection.SharedRedis` says so) every decision
falls back to them at once (fail open), and when it returns the shared ones take over again.

What is shared: per-deployment and per-key (and team) rpm/tpm windows and parallel
requests, deployment failures and cooldowns, the usage-based and least-busy routing
counters, budget spend (the database stays the record: Redis holds, per key, user
and team and budget period, the database's figure plus what every process has spent
since, so a budget holds across processes at once instead of after the key cache TTL),
and latency-based routing's latency averages (:meth:`RedisState.measured`: every
process's measurements feed one average per deployment, which every process routes on).
Each process still keeps its own averages too: they decide while Redis is down.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from engine.errors import APIError, RateLimitError
from engine.proxy.limits import LIMIT_TEXT, Usage
from engine.proxy.shared.connection import MAX_BACKOFF, SharedRedis
from engine.proxy.shared.scripts import ACQUIRE, COOL, FINISH, SPEND

if TYPE_CHECKING:
    from engine.proxy.router import DeploymentState

log = logging.getLogger("vertexlate.proxy.shared")

CODES = {1: "cooldown", 2: "rpm", 3: "tpm", 4: "parallel"}
LATENCY_WEIGHT = 0.2  # EWMA factor of latency-based routing's averages, local (router.py) and shared alike
MAX_PENDING = 100_000  # finish updates kept while Redis is down; past it the oldest go (their leases expire)
Choose = Callable[[list["DeploymentState"]], "DeploymentState"]


def limit_error(whose: str, limit: str, usage: Usage) -> APIError:
    """429 for a caller at its limit (Retry-After: the rest of the minute, or 1s for parallel requests)."""
    wait = 1 if limit == "parallel" else max(1, math.ceil(60 - usage.clock() % 60))
    return RateLimitError(
        f"the {LIMIT_TEXT[limit]} of {whose} is reached",
        code="rate_limit_exceeded",
        headers={"retry-after": str(wait)},
    )


def count_locally(counters: Sequence[tuple[str, Usage]]) -> None:
    """Count one request on every counter of this process, or raise 429 naming the first at its limit.

    All or nothing: no counter moves when one is at its limit (a refused request uses no quota).
    """
    for whose, usage in counters:
        limit = usage.blocked()
        if limit is not None:
            raise limit_error(whose, limit, usage)
    for _, usage in counters:
        usage.start()


class StateBackend(Protocol):
    """What the router and the key table need from the state, wherever it lives."""

    shared: bool

    async def admit(self, counters: Sequence[tuple[str, Usage]]) -> str:
        """Count one request on every counter, or raise 429 naming the first at its limit; the lease id."""
        ...

    async def acquire(
        self, ready: list[DeploymentState], choose: Choose, strategy: str, admission: Any = None
    ) -> tuple[DeploymentState | None, str | None, str]:
        """A deployment of ``ready`` that may take a request now (counted), else why none; the lease id.

        ``admission``: a caller whose limits are still to be checked (``pending``), in the same
        round trip; it raises that caller's 429, or is counted and gets its ``lease``.
        """
        ...

    async def failed(self, state: DeploymentState, is_429: bool, allowed_fails: int, seconds: float) -> bool:
        """Count a deployment-side failure; whether the deployment now cools down for ``seconds``."""
        ...

    def finish(self, usage: Usage, lease: str, tokens: int) -> None:
        """A request counted on ``usage`` ended after using ``tokens`` (no I/O on the caller's path)."""
        ...

    def measured(self, state: DeploymentState, seconds: float) -> None:
        """A successful call to ``state`` took ``seconds`` (latency-based routing; no I/O on the caller's path)."""
        ...


class LocalState:
    """This process's counters and cooldowns: today's behaviour, and the fallback of :class:`RedisState`."""

    shared = False

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock

    async def admit(self, counters: Sequence[tuple[str, Usage]]) -> str:
        count_locally(counters)
        return ""

    async def acquire(
        self, ready: list[DeploymentState], choose: Choose, strategy: str = "", admission: Any = None
    ) -> tuple[DeploymentState | None, str | None, str]:
        if admission is not None:  # a caller admitted lazily (KeyTable.admit(..., defer=True)): now
            admission.lease = await self.admit(admission.counters())
            admission.pending = False
        now, free, reason = self.clock(), [], None
        for state in ready:
            if state.cooldown_until > now:
                reason = reason or "cooldown"
                continue
            blocked = state.usage.blocked()
            if blocked is not None:
                reason = blocked
                continue
            free.append(state)
        if not free:
            return None, reason, ""
        state = free[0] if len(free) == 1 else choose(free)
        state.usage.start()
        return state, None, ""

    async def failed(self, state: DeploymentState, is_429: bool, allowed_fails: int, seconds: float) -> bool:
        now = self.clock()
        minute = int(now // 60)
        if minute != state.fail_minute:
            state.fail_minute, state.fails = minute, 0
        state.fails += 1
        if is_429 or state.fails > allowed_fails:
            state.cooldown_until = now + seconds
            return True
        return False

    def finish(self, usage: Usage, lease: str, tokens: int) -> None:
        usage.finish(tokens)

    def measured(self, state: DeploymentState, seconds: float) -> None:
        """Nothing to do: the router keeps this process's average (``DeploymentState.latency``)."""


def _limit(value: int | None) -> int:
    return -1 if value is None else value


class RedisState:
    """The counters and cooldowns in Redis, shared by every process that uses the same Redis and prefix.

    ``clock`` None: the windows follow the Redis server's clock (every process agrees);
    tests pass a fake one (seconds) so a run never straddles a minute.

    Latency-based routing's averages cost no round trip of their own. Writing: each
    measurement (:meth:`measured`) joins the pending finish updates, so one script call per
    event-loop turn carries both, off the request path; the script folds every sample into
    ``lat:<deployment>``, one EWMA over all processes' calls (same weight as the local one),
    expiring an hour after its last sample as LiteLLM's lowest-latency strategy keeps its
    figures (BerriAI/litellm, litellm/router_strategy/lowest_latency.py, ``RoutingArgs.ttl``).
    Reading: the acquire script, which runs anyway, reads those averages while it checks the
    limits (mode "latency") and picks the lowest among the free deployments, so the choice
    uses the latest figures at the cost of one GET per deployment inside the script. A
    periodic refresh would cost a timer task and its own commands and decide on figures up
    to a period old, for nothing saved: the acquire call is made in any case. A deployment
    nobody measured within the hour counts as 0 (tried first), as an unmeasured one does
    locally. When Redis fails, the local averages decide (fail open), and samples measured
    meanwhile are not written (the shared average continues from the others' samples).

    Leases are released whatever happens. A caller cancelled while its script is queued or
    running (a client that disconnected) has its lease released on every counter it sent,
    once the script's reply is known (before, the release could overtake it). A finish
    update that could not be written waits (at most :data:`MAX_PENDING`, the oldest dropped
    with one warning) and is retried when Redis may be tried again, so slots held by
    requests that ended during an outage are freed when it ends, not a lease timeout later.
    Their tokens are not written late: the windows are fixed minutes, and tokens written
    after the outage would count against a later minute than the one they were used in
    (this process's own counters counted them meanwhile, as fail open means).
    """

    shared = True

    def __init__(
        self,
        redis: SharedRedis,
        local: LocalState,
        prefix: str = "vertexlate:",
        clock: Callable[[], float] | None = None,
        lease_timeout: float = 600.0,
        rng: random.Random | None = None,
    ) -> None:
        self.redis = redis
        self.local = local
        self.prefix = prefix
        self.clock = clock
        self.lease_timeout = lease_timeout  # how long a caller's lease counts as in flight at most
        self.rng = rng or random.Random()
        self._acquire = redis.client.register_script(ACQUIRE)
        self._finish = redis.client.register_script(FINISH)
        self._cool = redis.client.register_script(COOL)
        self._spend = redis.client.register_script(SPEND)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ids = itertools.count()
        self._instance = os.urandom(6).hex()
        self._pending: list[Any] = []
        self._samples: list[Any] = []  # latency samples to write: name, seconds, ...
        self._flushing: asyncio.Task[None] | None = None
        self._retry: asyncio.TimerHandle | None = None  # the next attempt at writing kept updates
        self._warned = False  # the drop of kept updates is logged once per outage
        self.dropped = 0  # finish updates dropped because too many waited for Redis (metrics read it)
        self.finished = 0  # finish updates written (tests and metrics read it)
        self.measurements = 0  # latency samples written

    def _now(self) -> str:
        return "" if self.clock is None else repr(float(self.clock()))

    def _lease(self) -> str:
        return f"{self._instance}:{next(self._ids)}"

    # ------------------------------------------------------------------ keys and teams
    def _argv(self, mode: str, lease: str, callers: Sequence[tuple[str, Usage]], n: int) -> list[Any]:
        argv: list[Any] = [self.prefix, self._now(), mode, lease, len(callers), n]
        timeout = self.lease_timeout
        for _, usage in callers:
            argv += (usage.name, _limit(usage.rpm), _limit(usage.tpm), _limit(usage.max_parallel), timeout)
        return argv

    async def admit(self, counters: Sequence[tuple[str, Usage]]) -> str:
        if not counters:
            return ""
        if not self.redis.available:
            return await self.local.admit(counters)
        lease = self._lease()
        release = self._releaser(lease, counters)
        answer = await self.redis.script(self._acquire, self._argv("first", lease, counters, 0), release)
        if answer is None:  # Redis failed just now (maybe after counting): this process's counters decide
            release(None)
            return await self.local.admit(counters)
        self._admitted(answer, counters)
        return lease

    @staticmethod
    def _admitted(answer: list[Any], counters: Sequence[tuple[str, Usage]]) -> None:
        """Raise the caller's 429 when the script refused it; else count it here too."""
        if counters and int(answer[0]) < 0:
            whose, usage = counters[int(answer[1]) - 1]
            raise limit_error(whose, CODES[int(answer[2])], usage)
        for _, usage in counters:
            usage.start()

    async def _admit_pending(self, admission: Any) -> None:
        admission.lease = await self.admit(admission.counters())
        admission.pending = False

    # ------------------------------------------------------------------ deployments
    def _order(self, ready: list[DeploymentState], strategy: str) -> tuple[list[DeploymentState], str]:
        """The order the script tries deployments in, and how it chooses among those free."""
        rng = self.rng
        if strategy == "simple-shuffle":  # a weighted random order: its first free one is a weighted choice
            if len(ready) == 1:
                return ready, "first"
            keyed = [(rng.random() ** (1.0 / s.deployment.weight), i) for i, s in enumerate(ready)]
            return [ready[i] for _, i in sorted(keyed, reverse=True)], "first"
        order = list(ready)
        rng.shuffle(order)  # ties go to a random one, as the local strategies do
        if strategy == "latency-based-routing":
            return order, "latency"  # the shared averages, read by the script (see the class doc)
        if strategy == "least-busy":
            return order, "busy"
        return order, "tokens"  # usage-based-routing(-v2)

    async def acquire(
        self, ready: list[DeploymentState], choose: Choose, strategy: str, admission: Any = None
    ) -> tuple[DeploymentState | None, str | None, str]:
        """As :meth:`LocalState.acquire`; a pending ``admission`` (a caller's counters) goes in the same script."""
        if not ready or not self.redis.available:
            if admission is not None:
                await self._admit_pending(admission)
            return await self.local.acquire(ready, choose)
        order, mode = self._order(ready, strategy)
        lease = self._lease()
        callers = admission.counters() if admission is not None else ()
        argv = self._argv(mode, lease, callers, len(order))
        for state in order:
            d = state.deployment
            argv += (
                state.usage.name,
                _limit(d.rpm),
                _limit(d.tpm),
                _limit(d.max_parallel_requests),
                d.timeout,
            )
        release = self._releaser(lease, callers, order)
        answer = await self.redis.script(self._acquire, argv, release)
        if answer is None:
            release(None)
            if admission is not None:
                await self._admit_pending(admission)
            return await self.local.acquire(ready, choose)
        if admission is not None:
            self._admitted(answer, callers)
            admission.lease, admission.pending = lease, False
        now, reason = self.local.clock(), None
        for i, state in enumerate(order):  # the shared cooldowns, mirrored for readiness and waits
            code, cooldown_ms = int(answer[1 + 3 * i]), int(answer[2 + 3 * i])
            state.cooldown_until = now + cooldown_ms / 1000.0 if cooldown_ms > 0 else 0.0
            if code == 1:
                reason = reason or "cooldown"
            elif code:
                reason = CODES[code]
        chosen = int(answer[0])
        if not chosen:
            return None, reason, ""
        state = order[chosen - 1]
        state.usage.start()
        return state, None, lease

    async def failed(self, state: DeploymentState, is_429: bool, allowed_fails: int, seconds: float) -> bool:
        if self.redis.available:
            argv = [
                self.prefix,
                self._now(),
                state.usage.name,
                int(is_429),
                allowed_fails,
                int(seconds * 1000),
            ]
            answer = await self.redis.script(self._cool, argv)
            if answer is not None:
                if int(answer) > 0:
                    state.cooldown_until = self.local.clock() + seconds
                    return True
                return False
        return await self.local.failed(state, is_429, allowed_fails, seconds)

    # ------------------------------------------------------------------ request ends
    def _releaser(
        self, lease: str, callers: Sequence[tuple[str, Usage]], order: Sequence[DeploymentState] = ()
    ) -> Callable[[Any], None]:
        """What releases ``lease`` on every counter an acquire script was sent (ZREM: a no-op where it holds none).

        Called when the script may have counted the lease but its caller will not finish it:
        the caller was cancelled, or Redis failed (the script may have run before it did).
        """

        def release(_reply: Any) -> None:
            for name in [u.name for _, u in callers] + [s.usage.name for s in order]:
                self._pending += (name, lease, 0)
            self._schedule()

        return release

    def finish(self, usage: Usage, lease: str, tokens: int) -> None:
        """Local counters now; the shared ones in the next batch (one script call for everything pending)."""
        usage.finish(tokens)
        if not lease and not tokens:
            return
        self._pending += (usage.name, lease, tokens)
        self._schedule()

    def measured(self, state: DeploymentState, seconds: float) -> None:
        """Add a latency sample to the next batch of finish updates (see the class doc)."""
        if self.redis.available:
            self._samples += (state.usage.name, repr(float(seconds)))
            self._schedule()

    def _schedule(self) -> None:
        if self._flushing is None:
            try:
                self._flushing = asyncio.get_running_loop().create_task(self._flush())
            except RuntimeError:  # no loop (a synchronous test): the lease expires by itself
                self._pending.clear()
                self._samples.clear()

    async def _flush(self) -> None:
        try:
            while self._pending or self._samples:
                batch, self._pending = self._pending, []
                samples, self._samples = self._samples, []
                if self.redis.available:
                    argv = [self.prefix, self._now(), len(batch) // 3, *batch]
                    if samples:
                        argv += (LATENCY_WEIGHT, *samples)
                    if await self.redis.script(self._finish, argv) is not None:
                        self.finished += len(batch) // 3
                        self.measurements += len(samples) // 2
                        self._warned = False
                        continue
                self._keep(batch)  # Redis failed or is down: wait for it (samples go, see the class doc)
                self._retry_later()
                return
        finally:
            self._flushing = None

    def _keep(self, batch: list[Any]) -> None:
        """Put the leases of an unwritten batch back before the updates queued since (tokens go: see the class doc)."""
        kept: list[Any] = []
        for i in range(0, len(batch), 3):
            if batch[i + 1]:
                kept += (batch[i], batch[i + 1], 0)
        self._pending[:0] = kept
        excess = len(self._pending) // 3 - MAX_PENDING
        if excess > 0:
            del self._pending[: 3 * excess]
            self.dropped += excess
            if not self._warned:
                self._warned = True
                log.warning(
                    "redis is down and %d finish updates wait: dropping the oldest (their leases expire by themselves)",
                    MAX_PENDING,
                )

    def _retry_later(self) -> None:
        """Try the kept updates again when Redis may be tried (a timer: drain() does not wait for it)."""
        if self._retry is not None:
            return
        delay = min(max(self.redis.retry_in, 0.05), MAX_BACKOFF)

        def retry() -> None:
            self._retry = None
            if self._pending:
                self._schedule()

        self._retry = asyncio.get_running_loop().call_later(delay, retry)  # called from _flush: a loop runs

    async def drain(self) -> None:
        """Wait for pending finish and spend updates (shutdown, tests)."""
        while self._flushing is not None or self._tasks:
            if self._flushing is not None:
                await asyncio.shield(self._flushing)
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Write what is pending (shutdown); updates still waiting for a Redis that is down are not retried."""
        await self.drain()
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    # ------------------------------------------------------------------ budgets (store/accounts.py)
    @staticmethod
    def _budget_name(budget: Any) -> str:
        return f"{budget.kind}:{budget.ident}:{budget.reset_at or 0}"

    async def read_spend(self, budgets: Sequence[Any]) -> None:
        """Every process's spend on these budgets (one MGET) into ``budget.shared``; unchanged when Redis fails."""
        if not budgets or not self.redis.available:
            return
        keys = [f"{self.prefix}sp:{self._budget_name(b)}" for b in budgets]
        values = await self.redis.run(lambda: self.redis.client.mget(keys))
        for budget, value in zip(budgets, values or (), strict=False):
            if value is not None:
                budget.shared = float(value)

    def add_spend(self, budgets: Sequence[Any], cost: float) -> None:
        """Add one request's cost to the budgets' shared figures (off the request path)."""
        if not budgets or not cost or not self.redis.available:
            return
        argv: list[Any] = [self.prefix]
        for budget in budgets:
            argv += (self._budget_name(budget), repr(budget.spend_db + budget.local), repr(cost))
        try:
            task = asyncio.get_running_loop().create_task(self._add_spend(budgets, argv))
        except RuntimeError:
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _add_spend(self, budgets: Sequence[Any], argv: list[Any]) -> None:
        totals = await self.redis.script(self._spend, argv)
        for budget, total in zip(budgets, totals or (), strict=False):
            budget.shared = max(budget.shared, float(total))
