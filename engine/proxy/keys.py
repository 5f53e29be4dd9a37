"""Who may call the proxy: the master key and the keys listed in the config, with their limits.

Keys are looked up by their SHA-256 digest, so the table holds no key in clear text
after start-up and comparison time does not depend on how much of a key matches.
No message ever contains a presented or configured key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import AuthenticationError, PermissionDeniedError, RateLimitError
from engine.proxy.config import KeySpec, ProxyConfig
from engine.proxy.limits import LIMIT_TEXT, Usage
from engine.redact import short


@dataclass
class Caller:
    """An authenticated caller: which models it may use and its usage counters."""

    alias: str
    models: frozenset[str] | None  # None: every model
    usage: Usage | None = None  # None: no per-key limits

    def allows(self, model_name: str) -> bool:
        return self.models is None or model_name in self.models

    def admit(self) -> None:
        """Raise 429 when this key's own rpm/tpm/parallel limit is reached; else count the request."""
        if self.usage is None:
            return
        limit = self.usage.blocked()
        if limit is not None:
            raise RateLimitError(
                f"the {LIMIT_TEXT[limit]} of API key '{self.alias}' is reached", code="rate_limit_exceeded"
            )
        self.usage.start()

    def done(self, tokens: int) -> None:
        if self.usage is not None:
            self.usage.finish(tokens)


OPEN = Caller("anonymous", None)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class KeyTable:
    """Authenticates the ``Authorization: Bearer`` header of each request."""

    def __init__(self, config: ProxyConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.required = config.auth_required
        self._callers: dict[bytes, Caller] = {}
        if config.master_key:
            self._callers[_digest(config.master_key)] = Caller("master_key", None)
        for spec in config.keys:
            self._callers[_digest(spec.key)] = _caller(spec, clock)

    def authenticate(self, authorization: str | None) -> Caller:
        """The caller behind the header; 401 in OpenAI's format when it is missing or unknown."""
        if not self.required:
            return OPEN
        if not authorization:
            raise AuthenticationError(
                "missing API key: send 'Authorization: Bearer <key>'",
                code="invalid_api_key",
                llm_provider="proxy",
            )
        scheme, _, token = authorization.partition(" ")
        caller = self._callers.get(_digest(token.strip())) if scheme.lower() == "bearer" else None
        if caller is None:
            raise AuthenticationError("invalid API key", code="invalid_api_key", llm_provider="proxy")
        return caller

    def check_model(self, caller: Caller, model_name: str) -> None:
        if not caller.allows(model_name):
            raise PermissionDeniedError(
                f"API key '{caller.alias}' is not allowed to use model {short(model_name)}",
                code="model_not_allowed",
                param="model",
            )


def _caller(spec: KeySpec, clock: Callable[[], float]) -> Caller:
    limited = (
        spec.rpm_limit is not None or spec.tpm_limit is not None or spec.max_parallel_requests is not None
    )
    usage = Usage(spec.rpm_limit, spec.tpm_limit, spec.max_parallel_requests, clock) if limited else None
    return Caller(spec.alias, spec.models, usage)
