"""Virtual keys on the request path: who is calling, may they, and what did it cost.

Lookups are cached in memory for ``ttl`` seconds (LiteLLM's ``user_api_key_cache_ttl``),
so a request reaches the database only when its key was not seen recently. Spend is
counted here the moment a response is priced (so budgets hold within one process at
once) and reaches the database through :class:`~engine.proxy.store.spend.SpendWriter`.
With several workers or proxies, each sees the others' spend after at most ``ttl``, or at
once when they share a Redis (``shared``: engine/proxy/shared/state.py keeps every process's
spend per budget period there; the database stays the record).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from engine.errors import APIError, AuthenticationError, BadRequestError, ServiceUnavailableError
from engine.proxy.keys import Caller
from engine.proxy.limits import Usage
from engine.proxy.store.records import SPEND, Records, SpendRow, hash_key
from engine.proxy.store.spend import SpendWriter

log = logging.getLogger("vertexlate.proxy.store")

DEFAULT_TTL = 10.0
NEGATIVE_LIMIT = 10_000  # unknown keys remembered (so a flood of bad keys does not reach the database)
ALL_MODELS = frozenset({"*", "all-proxy-models"})
LABEL = {"key": "key", "user": "user", "team": "team"}


@dataclass(eq=False)
class Budget:
    """One key's, user's or team's budget, shared by every caller that counts against it."""

    kind: str
    ident: str
    max_budget: float | None = None
    soft_budget: float | None = None
    spend_db: float = 0.0  # the database's figure when last read
    local: float = 0.0  # spent through this process since then and not yet in that figure
    reset_at: float | None = None
    duration: str | None = None
    warned_soft: bool = False
    shared: float = 0.0  # every process's spend this period, from Redis (0: none shared)
    alias: str = ""  # the key's or team's alias (the budget gauges' api_key_alias / team_alias)

    @property
    def spend(self) -> float:
        return max(self.spend_db + self.local, self.shared)

    def load(self, row: dict[str, Any], unwritten: float) -> None:
        if row.get("budget_reset_at") != self.reset_at:
            self.shared = 0.0  # a new period: the shared figure of the old one no longer applies
        self.max_budget, self.soft_budget = row.get("max_budget"), row.get("soft_budget")
        self.spend_db, self.local = float(row.get("spend") or 0.0), unwritten
        self.reset_at, self.duration = row.get("budget_reset_at"), row.get("budget_duration")
        self.alias = str(row.get("key_alias") or row.get("team_alias") or row.get("key_name") or "")


def budget_exceeded(budget: Budget) -> APIError:
    """LiteLLM's error: HTTP 400, type ``budget_exceeded``, its message wording."""
    error = BadRequestError(
        f"Budget has been exceeded! {LABEL[budget.kind].capitalize()}={budget.ident if budget.kind != 'key' else '...' + budget.ident[-6:]} "
        f"Current cost: {budget.spend}, Max budget: {budget.max_budget}",
        code="400",
        llm_provider="proxy",
    )
    error.type = "budget_exceeded"
    return error


def _auth_error(message: str, kind: str) -> APIError:
    error = AuthenticationError(f"Authentication Error - {message}", code="401", llm_provider="proxy")
    error.type = kind
    return error


@dataclass
class _Entry:
    caller: Caller | None  # None: no such key
    fetched: float
    expires: float | None = None
    blocked: str | None = None  # whose block applies ("key", "team", "user")


class Accounts:
    """Authenticates virtual keys (cached), enforces budgets, records spend."""

    def __init__(self, records: Records, writer: SpendWriter, ttl: float = DEFAULT_TTL) -> None:
        self.records = records
        self.writer = writer
        self.ttl = ttl
        self.entries: dict[str, _Entry] = {}
        self.budgets: dict[tuple[str, str], Budget] = {}
        self.usages: dict[tuple[str, str], Usage] = {}
        self.clock = time.monotonic
        self.window_clock = time.monotonic  # rpm/tpm windows: the proxy's clock (a test's fake one)
        self.shared: Any = None  # engine.proxy.shared.state.RedisState when spend is shared through Redis
        self._refreshing: dict[str, asyncio.Future[_Entry]] = {}  # one lookup per key at a time

    # ----------------------------------------------------------------- cache control
    def invalidate(self, token: str | None = None) -> None:
        """Forget one key (by hash), or everything (after user/team changes)."""
        if token is None:
            self.entries.clear()
        else:
            self.entries.pop(token, None)

    # ----------------------------------------------------------------- request path
    async def authenticate(self, key: str) -> Caller | None:
        """The caller for a presented key that the config does not list; None for an unknown key."""
        token = hash_key(key)
        entry = self.entries.get(token)
        if entry is None or self.clock() - entry.fetched > self.ttl:
            entry = await self._refresh_once(token, entry)
        if entry.caller is None:
            return None
        if entry.blocked:
            raise _auth_error(f"{entry.blocked.capitalize()} is blocked", "auth_error")
        if entry.expires is not None and entry.expires < time.time():
            raise _auth_error("Expired Key", "expired_key")
        if self.shared is not None:
            await self.shared.read_spend([b for b in entry.caller.budgets if b.max_budget is not None])
        now = time.time()
        for budget in entry.caller.budgets:
            if budget.reset_at is not None and now >= budget.reset_at:  # (no coroutine on the common path)
                await self._maybe_reset(budget)
            if budget.max_budget is not None and budget.spend >= budget.max_budget:
                raise budget_exceeded(budget)
        return entry.caller

    async def _refresh_once(self, token: str, stale: _Entry | None) -> _Entry:
        """:meth:`_refresh`, shared by every request that finds the key missing or expired meanwhile.

        Why: when a busy key's entry expires, each of its concurrent requests would
        otherwise run the same three lookups; they wait for the one already running.
        """
        pending = self._refreshing.get(token)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request was cancelled
                return await self._refresh_once(token, stale)  # the one looking it up was: look again
        future: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._refreshing[token] = future
        try:
            entry = await self._refresh(token, stale)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            else:
                future.cancel()
            raise
        else:
            future.set_result(entry)
            return entry
        finally:
            del self._refreshing[token]

    async def _refresh(self, token: str, stale: _Entry | None) -> _Entry:
        try:
            key = await self.records.get("key", token)
            user = await self.records.get("user", key["user_id"]) if key and key.get("user_id") else None
            team = await self.records.get("team", key["team_id"]) if key and key.get("team_id") else None
        except Exception as exc:  # database down: keep serving keys we know
            if stale is not None:
                log.warning("key lookup failed (%s); using the cached entry", type(exc).__name__)
                stale.fetched = self.clock() - self.ttl + 1.0  # try again in a second
                return stale
            raise ServiceUnavailableError(
                "the proxy cannot verify this key right now (its database is unreachable)",
                llm_provider="proxy",
            ) from None
        if key is None:
            if len(self.entries) >= NEGATIVE_LIMIT:
                self.entries = {t: e for t, e in self.entries.items() if e.caller is not None}
            entry = _Entry(None, self.clock())
        else:
            entry = _Entry(self._caller(token, key, user, team), self.clock(), key.get("expires"))
            entry.blocked = next(
                (
                    kind
                    for kind, row in (("key", key), ("team", team), ("user", user))
                    if row and row.get("blocked")
                ),
                None,
            )
        self.entries[token] = entry
        return entry

    def _caller(
        self, token: str, key: dict[str, Any], user: dict[str, Any] | None, team: dict[str, Any] | None
    ) -> Caller:
        budgets = [self._budget("key", token, key)]
        if user is not None:
            budgets.append(self._budget("user", user["user_id"], user))
        if team is not None:
            budgets.append(self._budget("team", team["team_id"], team))
        limits = []
        if team is not None:
            usage = self._usage(("team", team["team_id"]), team)
            if usage is not None:
                limits.append((f"team '{team.get('team_alias') or team['team_id']}'", usage))
        return Caller(
            alias=key.get("key_alias") or key["key_name"],
            models=_models(key, team, user),
            usage=self._usage(("key", token), key),
            token=token,
            virtual=True,
            user_id=key.get("user_id"),
            team_id=key.get("team_id"),
            limits=tuple(limits),
            budgets=tuple(budgets),
        )

    def _budget(self, kind: str, ident: str, row: dict[str, Any]) -> Budget:
        budget = self.budgets.get((kind, ident))
        if budget is None:
            budget = self.budgets[(kind, ident)] = Budget(kind, ident)
        budget.load(row, self.writer.unwritten((kind, ident)))
        return budget

    def _usage(self, entity: tuple[str, str], row: dict[str, Any]) -> Usage | None:
        rpm, tpm, parallel = row.get("rpm_limit"), row.get("tpm_limit"), row.get("max_parallel_requests")
        if rpm is None and tpm is None and parallel is None:
            return None
        usage = self.usages.get(entity)
        if usage is None:  # counters survive refreshes; limits follow the row
            usage = self.usages[entity] = Usage(clock=self.window_clock, name=":".join(entity))
        usage.rpm, usage.tpm, usage.max_parallel = rpm, tpm, parallel
        return usage

    async def _maybe_reset(self, budget: Budget) -> None:
        if budget.reset_at is None or budget.duration is None or time.time() < budget.reset_at:
            return
        due = budget.reset_at
        await self.writer.flush()  # spend from before the reset goes to the old period
        try:
            await self.records.reset_budget(budget.kind, budget.ident, due, budget.duration)
            row = await self.records.get(budget.kind, budget.ident)
        except Exception as exc:
            log.warning(
                "budget reset of %s failed (%s); retrying on the next request",
                budget.kind,
                type(exc).__name__,
            )
            return
        if row is not None:
            budget.load(row, self.writer.unwritten((budget.kind, budget.ident)))
            budget.warned_soft = False

    def record(self, caller: Caller, row: SpendRow) -> None:
        """Count a finished request: its cost on the caller's budgets now, its row to the writer."""
        cost = row[SPEND]
        if cost:
            if self.shared is not None:  # before counting it here: the figures it sends exclude it
                self.shared.add_spend(caller.budgets, cost)
            for budget in caller.budgets:
                budget.local += cost
                if (
                    budget.soft_budget is not None
                    and budget.spend >= budget.soft_budget
                    and not budget.warned_soft
                ):
                    budget.warned_soft = True
                    log.warning(
                        "soft budget reached: %s %s spent %.6f of soft budget %.6f",
                        budget.kind,
                        budget.ident if budget.kind != "key" else "..." + budget.ident[-6:],
                        budget.spend,
                        budget.soft_budget,
                    )
        self.writer.add(row)


def _models(
    key: dict[str, Any], team: dict[str, Any] | None, user: dict[str, Any] | None
) -> frozenset[str] | None:
    """The models a key may use: its own list, else its team's, else its user's; empty or '*' is every model."""
    for row in (key, team, user):
        models = (row or {}).get("models") or []
        if models:
            return None if ALL_MODELS & set(models) else frozenset(models)
    return None
