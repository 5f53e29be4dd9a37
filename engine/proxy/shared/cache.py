"""The response cache: identical requests answered without reaching the upstream (LiteLLM's ``cache: true``).

What counts as identical: the same call type, model group and request parameters
(JSON with sorted keys, so key order does not matter; ``stream_options`` and the
per-request ``cache`` controls left out), within the same scope. The scope is the
caller's API key by default, so a key never sees another key's replies; ``cache_params.scope:
team`` shares within a team, ``global`` between every caller (LiteLLM's behaviour).

Call types: LiteLLM's ``supported_call_types`` names; the chat-like endpoints and ``aresponses``
(``/v1/responses``) are cached, ``anthropic_messages`` is not (LiteLLM does not cache it either).

Per request, LiteLLM's controls in the body's ``cache`` object
(https://docs.litellm.ai/docs/proxy/caching_controls): ``ttl`` (seconds to keep this
reply), ``s-maxage`` (accept only an entry at most this old), ``no-cache`` (do not answer
from the cache), ``no-store`` (do not store this reply), ``namespace``, and ``use-cache``
(opt in when ``mode: default_off``). Anything else there is refused by name.

Entries are bytes: one JSON line (kind, stored at, ttl), then the reply exactly as sent
(a JSON body, or the JSON array of a stream's chunks, replayed as chunks). In Redis
(``type: redis``) an entry is a string key ``<namespace>:<sha256>`` with an expiry; a
Redis failure is a miss, never an error. ``type: local`` keeps up to ``max_size``
entries (and :data:`LOCAL_MAX_BYTES`) in this process, least recently used dropped first.
A reply larger than :data:`MAX_ENTRY_BYTES` is not cached, so that one client's huge replies
cannot fill the cache (or a shared Redis) for everyone.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import BadRequestError
from engine.proxy.shared.connection import SharedRedis
from engine.proxy.shared.settings import MAX_CACHE_TTL, CacheSettings

CACHE_KEY_HEADER = "x-litellm-cache-key"  # LiteLLM's header: present when the reply came from the cache
MAX_ENTRY_BYTES = 4 * 2**20  # a reply above this is served but not cached
LOCAL_MAX_BYTES = 256 * 2**20  # all local entries together

CONTROLS = {
    "ttl": f"a number of seconds above 0 and at most {MAX_CACHE_TTL}",
    "s-maxage": f"a number of seconds, 0 to {MAX_CACHE_TTL}",
    "no-cache": "true or false",
    "no-store": "true or false",
    "namespace": "a non-empty string",
    "use-cache": "true or false",
}
UNKEYED = frozenset({"stream_options", "cache"})  # parameters that do not change the reply's content


@dataclass(frozen=True)
class Lookup:
    """One request's place in the cache and what it may do there."""

    key: str
    read: bool = True
    write: bool = True
    ttl: float = 0.0
    max_age: float | None = None


@dataclass(frozen=True)
class Entry:
    """A cached reply: ``kind`` "json" (the body) or "stream" (a JSON array of chunks)."""

    kind: str
    body: bytes
    stored: float


def _control(controls: dict[str, Any], name: str) -> Any:
    value = controls.get(name)
    if value is None:
        return None
    ok = {
        "ttl": isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_CACHE_TTL,
        "s-maxage": isinstance(value, (int, float))
        and not isinstance(value, bool)
        and 0 <= value <= MAX_CACHE_TTL,
        "namespace": isinstance(value, str) and bool(value),
    }.get(name, isinstance(value, bool))
    if not ok:
        raise BadRequestError(
            f"cache.{name} must be {CONTROLS[name]}", param=f"cache.{name}", llm_provider="proxy"
        )
    return value


class ResponseCache:
    """Lookups, reads and writes of cached replies; ``clock`` (seconds) ages entries (tests pass a fake one)."""

    def __init__(
        self, settings: CacheSettings, redis: SharedRedis | None, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.redis = redis if settings.type == "redis" else None
        self.clock = clock
        self.local: OrderedDict[str, tuple[float, bytes]] = OrderedDict()  # key -> (expires, entry)
        self.local_bytes = 0  # the local entries' size (bounded by LOCAL_MAX_BYTES as well as max_size)
        self.hits = 0
        self.misses = 0

    def lookup(self, call_type: str, model_group: str, body: dict[str, Any], scope: str) -> Lookup | None:
        """Remove the request's ``cache`` controls from ``body``; where its reply is cached, or None (not cached)."""
        controls = body.pop("cache", None)
        if controls is None:
            controls = {}
        if not isinstance(controls, dict):
            raise BadRequestError("'cache' must be an object", param="cache", llm_provider="proxy")
        unknown = sorted(set(controls) - CONTROLS.keys())
        if unknown:
            raise BadRequestError(
                f"unknown cache control {unknown[0]!r} (supported: {', '.join(CONTROLS)})",
                param="cache",
                llm_provider="proxy",
            )
        values = {name: _control(controls, name) for name in CONTROLS}
        settings = self.settings
        if call_type not in settings.call_types:
            return None
        if settings.mode == "default_off" and not values["use-cache"]:
            return None
        params = {k: v for k, v in body.items() if k not in UNKEYED}
        text = json.dumps(
            [call_type, model_group, scope, params], sort_keys=True, separators=(",", ":"), default=str
        )
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return Lookup(
            key=f"{values['namespace'] or settings.namespace}:{digest}",
            read=not values["no-cache"],
            write=not values["no-store"],
            ttl=float(values["ttl"] or settings.ttl),
            max_age=values["s-maxage"],
        )

    async def get(self, lookup: Lookup) -> Entry | None:
        """The cached reply, if one is there, not expired and young enough for ``s-maxage``."""
        raw: bytes | None
        if self.redis is not None:
            raw = await self.redis.run(lambda: self.redis.client.get(lookup.key))  # type: ignore[union-attr]
        else:
            item = self.local.get(lookup.key)
            raw = item[1] if item is not None else None
            if item is not None:
                self.local.move_to_end(lookup.key)
        entry = _parse(raw) if raw else None
        now = self.clock()
        if entry is not None:
            head = entry[0]
            age = now - head["at"]
            if age < head["ttl"] and (lookup.max_age is None or age <= lookup.max_age):
                self.hits += 1
                return Entry(head["kind"], entry[1], head["at"])
        self.misses += 1
        return None

    async def put(self, lookup: Lookup, kind: str, body: bytes) -> None:
        """Store a reply (a Redis failure loses only this entry)."""
        now = self.clock()
        head = json.dumps({"kind": kind, "at": now, "ttl": lookup.ttl}, separators=(",", ":")).encode()
        raw = head + b"\n" + body
        if len(raw) > MAX_ENTRY_BYTES:  # one huge reply must not crowd out everyone's entries
            return
        if self.redis is not None:
            seconds = max(1, math.ceil(lookup.ttl))
            await self.redis.run(lambda: self.redis.client.set(lookup.key, raw, ex=seconds))  # type: ignore[union-attr]
            return
        previous = self.local.pop(lookup.key, None)
        if previous is not None:
            self.local_bytes -= len(previous[1])
        self.local[lookup.key] = (now + lookup.ttl, raw)
        self.local_bytes += len(raw)
        while len(self.local) > self.settings.max_size or self.local_bytes > LOCAL_MAX_BYTES:
            _, (_, dropped) = self.local.popitem(last=False)
            self.local_bytes -= len(dropped)


def _parse(raw: bytes) -> tuple[dict[str, Any], bytes] | None:
    head, _, body = raw.partition(b"\n")
    try:
        meta = json.loads(head)
    except ValueError:
        return None
    return (meta, body) if isinstance(meta, dict) and {"kind", "at", "ttl"} <= meta.keys() else None


class Recording:
    """An engine stream passed through unchanged, stored once it has ended normally.

    The store is awaited before the last batch goes out, so a client that has read
    ``[DONE]`` can rely on the next identical request finding the entry. A stream that
    fails or is cut stores nothing.
    """

    def __init__(self, source: Any, store: Callable[[list[Any]], Awaitable[None]]) -> None:
        self.source = source
        self.store = store
        self.stored = False
        self._items: list[Any] = []  # what __anext__ passed on (a dialect's events)

    @property
    def finished(self) -> bool:
        return bool(getattr(self.source, "finished", False))

    async def batches(self) -> AsyncIterator[list[Any]]:
        from engine.proxy.streaming import _batches

        chunks: list[Any] = []
        async for batch in _batches(self.source):
            chunks.extend(batch)
            if self.finished and not self.stored:
                self.stored = True
                await self.store(chunks)
            yield batch
        if not self.stored:
            self.stored = True
            await self.store(chunks)

    # One item at a time, for the dialect streams (engine/proxy/dialects/common.py reads ``anext``):
    # stored when the source ends normally, never when it fails.
    def __aiter__(self) -> Recording:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await anext(self.source)
        except StopAsyncIteration:
            if not self.stored:
                self.stored = True
                await self.store(self._items)
            raise
        self._items.append(item)
        return item

    async def aclose(self) -> None:
        close = getattr(self.source, "aclose", None)
        if close is not None:
            await close()


async def replay(chunks: list[Any]) -> AsyncIterator[Any]:
    """A cached stream's chunks, as one batch (they are all here already)."""
    for chunk in chunks:
        yield chunk
