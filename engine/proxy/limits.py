"""Requests and tokens per minute, and requests in flight: the counters behind rpm/tpm limits.

Why fixed one-minute windows: they are what LiteLLM and Vertex AI quotas count, they
cost two integer updates per request on the hot path, and they need no timer task.
These are one process's counters; with Redis configured, engine/proxy/shared/state.py
keeps the same windows in Redis for every process, and these count this process's
share (its fallback while Redis is unreachable).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Usage:
    """Counters for one deployment or one key."""

    rpm: int | None = None
    tpm: int | None = None
    max_parallel: int | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    minute: int = -1
    requests: int = 0
    tokens: int = 0
    in_flight: int = 0
    name: str = ""  # the counter's name in the shared state: "dep:<id>", "key:<hash>", "team:<id>", ...

    def _roll(self) -> None:
        now = int(self.clock() // 60)
        if now != self.minute:
            self.minute, self.requests, self.tokens = now, 0, 0

    def blocked(self) -> str | None:
        """Which limit a new request would exceed right now ("rpm", "tpm", "parallel"), else None."""
        self._roll()
        if self.rpm is not None and self.requests >= self.rpm:
            return "rpm"
        if self.tpm is not None and self.tokens >= self.tpm:
            return "tpm"
        if self.max_parallel is not None and self.in_flight >= self.max_parallel:
            return "parallel"
        return None

    def start(self) -> None:
        self._roll()
        self.requests += 1
        self.in_flight += 1

    def finish(self, tokens: int = 0) -> None:
        self.in_flight -= 1
        self.add_tokens(tokens)

    def add_tokens(self, tokens: int) -> None:
        if tokens:
            self._roll()
            self.tokens += tokens

    def tokens_this_minute(self) -> int:
        self._roll()
        return self.tokens


LIMIT_TEXT = {
    "rpm": "requests-per-minute limit",
    "tpm": "tokens-per-minute limit",
    "parallel": "limit of parallel requests",
}
