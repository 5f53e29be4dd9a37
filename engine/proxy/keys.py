"""Who may call the proxy: the master key and the keys listed in the config, with their limits.

Keys are looked up by their SHA-256 digest, so the table holds no key in clear text
after start-up and comparison time does not depend on how much of a key matches.
No message ever contains a presented or configured key.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import AuthenticationError, PermissionDeniedError
from engine.proxy.config import KeySpec, ProxyConfig
from engine.proxy.limits import Usage
from engine.proxy.shared.state import count_locally
from engine.redact import short

if TYPE_CHECKING:
    from engine.proxy.shared.state import StateBackend


@dataclass
class Caller:
    """An authenticated caller: which models it may use and its usage counters."""

    alias: str
    models: frozenset[str] | None  # None: every model
    usage: Usage | None = None  # None: no per-key limits
    token: str = ""  # SHA-256 hex of the presented key: the spend logs' api_key
    virtual: bool = False  # a key from the database (/key/generate), not from the config
    user_id: str | None = None
    team_id: str | None = None
    limits: tuple[tuple[str, Usage], ...] = ()  # further counters (the key's team): (whose, usage)
    budgets: tuple[Any, ...] = field(default=(), repr=False)  # store.accounts.Budget: key, user, team
    shared: StateBackend | None = field(default=None, repr=False)  # set on a request's copy (KeyTable.admit)
    lease: str = ""  # that request's lease in the shared state
    pending: bool = False  # admitted lazily: the limits are checked with the routing (KeyTable.admit)

    def counters(self) -> tuple[tuple[str, Usage], ...]:
        """Every limited counter of this caller, with whose it is (for the 429 message)."""
        return ((f"API key '{self.alias}'", self.usage), *self.limits) if self.usage else self.limits

    def allows(self, model_name: str) -> bool:
        return self.models is None or model_name in self.models

    def admit(self) -> None:
        """Raise 429 (with Retry-After) when an rpm/tpm/parallel limit is reached; else count the request."""
        count_locally(self.counters())

    def done(self, tokens: int) -> None:
        if self.pending:
            return  # never counted (refused, or failed before its limits were checked)
        if self.shared is not None:
            for _, usage in self.counters():
                self.shared.finish(usage, self.lease, tokens)
            return
        if self.usage is not None:
            self.usage.finish(tokens)
        for _, usage in self.limits:
            usage.finish(tokens)


OPEN = Caller("anonymous", None)


def hmac_equal(a: bytes, b: bytes) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


# Looks up a key the config does not list (the store's virtual keys): presented key -> caller, or None.
VirtualLookup = Callable[[str], Awaitable["Caller | None"]]


class KeyTable:
    """Authenticates the ``Authorization: Bearer`` header of each request."""

    def __init__(self, config: ProxyConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.required = config.auth_required
        self._callers: dict[bytes, Caller] = {}
        self.master: bytes | None = None
        self.virtual: VirtualLookup | None = None  # set by the proxy when it has a database
        self.shared: StateBackend | None = None  # set by the proxy when limits are kept in Redis
        if config.master_key:
            self.master = _digest(config.master_key)
            self._callers[self.master] = Caller("master_key", None, token=self.master.hex())
        for spec in config.keys:
            self._callers[_digest(spec.key)] = _caller(spec, clock)

    @staticmethod
    def _token(authorization: str | None) -> str:
        if not authorization:
            raise AuthenticationError(
                "missing API key: send 'Authorization: Bearer <key>'",
                code="invalid_api_key",
                llm_provider="proxy",
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("invalid API key", code="invalid_api_key", llm_provider="proxy")
        return token.strip()

    def authenticate(self, authorization: str | None) -> Caller:
        """The config's caller behind the header; 401 in OpenAI's format when it is missing or unknown."""
        if not self.required:
            return OPEN
        caller = self._callers.get(_digest(self._token(authorization)))
        if caller is None:
            raise AuthenticationError("invalid API key", code="invalid_api_key", llm_provider="proxy")
        return caller

    async def aauthenticate(self, authorization: str | None) -> Caller:
        """:meth:`authenticate`, then the store's virtual keys for a key the config does not list."""
        if not self.required:
            return OPEN
        token = self._token(authorization)
        caller = self._callers.get(_digest(token))
        if caller is None and self.virtual is not None:
            caller = await self.virtual(token)
        if caller is None:
            raise AuthenticationError("invalid API key", code="invalid_api_key", llm_provider="proxy")
        return caller

    async def admit(self, caller: Caller, defer: bool = False) -> Caller:
        """Count the request against the caller's limits (429 at one); the caller to call ``done`` on.

        Without shared state this is :meth:`Caller.admit`. With it, the counters are checked
        and counted in Redis in one round trip, and the request gets its own copy of the
        caller that remembers its lease (the table's callers are shared by concurrent requests).
        ``defer``: no round trip now; the copy is ``pending`` and the router checks it together
        with its deployment choice (one round trip for both), or :meth:`settle` does.
        """
        if self.shared is None or (caller.usage is None and not caller.limits):
            caller.admit()
            return caller
        mine = copy.copy(caller)  # (dataclasses.replace runs __init__: several times slower)
        mine.shared = self.shared
        if defer:
            mine.pending = True
            return mine
        mine.lease = await self.shared.admit(caller.counters())
        return mine

    async def settle(self, caller: Caller) -> None:
        """Admit a caller left ``pending`` by ``admit(defer=True)`` that will not reach the router."""
        if caller.pending and caller.shared is not None:
            caller.lease = await caller.shared.admit(caller.counters())
            caller.pending = False

    def is_master(self, authorization: str | None) -> bool:
        """Whether the header carries the master key (the only key allowed on management routes)."""
        if self.master is None or not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac_equal(_digest(token.strip()), self.master)

    def check_model(self, caller: Caller, model_name: str) -> None:
        if caller.allows(model_name):
            return
        if caller.virtual:  # LiteLLM answers 401 key_model_access_denied for its virtual keys
            allowed = sorted(caller.models or ())
            error = AuthenticationError(
                f"key not allowed to access model. This key can only access models={allowed}. "
                f"Tried to access {short(model_name)}",
                code="401",
                param="model",
                llm_provider="proxy",
            )
            error.type = "key_model_access_denied"
            raise error
        raise PermissionDeniedError(
            f"API key '{caller.alias}' is not allowed to use model {short(model_name)}",
            code="model_not_allowed",
            param="model",
        )


def _caller(spec: KeySpec, clock: Callable[[], float]) -> Caller:
    limited = (
        spec.rpm_limit is not None or spec.tpm_limit is not None or spec.max_parallel_requests is not None
    )
    token = _digest(spec.key).hex()
    usage = (
        Usage(spec.rpm_limit, spec.tpm_limit, spec.max_parallel_requests, clock, name=f"key:{token}")
        if limited
        else None
    )
    return Caller(spec.alias, spec.models, usage, token=token)
