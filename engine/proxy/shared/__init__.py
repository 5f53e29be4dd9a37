"""State shared by every proxy process over Redis, and the response cache (issue 16).

One job per module: :mod:`.settings` reads LiteLLM's Redis and cache config names,
:mod:`.connection` holds the asyncio client and fails open, :mod:`.state` is the
local and the Redis state backend (rate-limit windows, parallel counters, cooldowns),
:mod:`.cache` is the response cache. ``import engine.proxy`` imports none of this
unless a config asks for it, so a proxy without Redis pays nothing.
"""
