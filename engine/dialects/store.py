"""Where stored Responses live, so ``previous_response_id`` can continue a conversation.

A small interface (:class:`ResponseStore`: put, get, delete) with an in-memory
implementation, bounded in count and age. Another backend (the proxy's database)
only has to offer the same three methods. A record keeps the response object as
returned and the whole conversation in OpenAI chat form, thought signatures
included, so the next turn replays it on any model.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class StoredResponse:
    response: dict[str, Any]  # the Response object as the caller got it
    messages: list[dict[str, Any]]  # the conversation up to and including this response, OpenAI chat messages
    owner: str | None = None  # who may read it (the proxy key's alias); None: anyone in this process
    created: float = field(default_factory=time.time)


class ResponseStore(Protocol):
    def put(self, response_id: str, record: StoredResponse) -> None: ...

    def get(self, response_id: str) -> StoredResponse | None: ...

    def delete(self, response_id: str) -> bool: ...


class MemoryStore:
    """At most ``max_items`` records, each kept ``ttl`` seconds; the oldest go first."""

    def __init__(
        self, max_items: int = 10_000, ttl: float = 24 * 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_items = max_items
        self.ttl = ttl
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, StoredResponse]] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._items:
            key, (stamp, _) = next(iter(self._items.items()))
            if now - stamp <= self.ttl and len(self._items) <= self.max_items:
                return
            del self._items[key]

    def put(self, response_id: str, record: StoredResponse) -> None:
        with self._lock:
            now = self.clock()
            self._items.pop(response_id, None)
            self._items[response_id] = (now, record)
            self._expire(now)

    def get(self, response_id: str) -> StoredResponse | None:
        with self._lock:
            self._expire(self.clock())
            found = self._items.get(response_id)
            return found[1] if found else None

    def delete(self, response_id: str) -> bool:
        with self._lock:
            return self._items.pop(response_id, None) is not None

    def __len__(self) -> int:
        with self._lock:
            self._expire(self.clock())
            return len(self._items)


_default: MemoryStore | None = None
_default_lock = threading.Lock()


def default_store() -> MemoryStore:
    """The process-wide store of library calls (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = MemoryStore()
        return _default
