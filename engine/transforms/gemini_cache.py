"""Implicit context caching: LiteLLM's ``cache_control`` markers on Gemini messages.

Why code: a marked prefix of the conversation becomes a ``cachedContents`` resource and the
request then carries only the rest plus ``cachedContent`` — Vertex refuses a request that sets
``systemInstruction``, ``tools`` or ``toolConfig`` next to a cache, so those move into the cache
too. Here the request side is decided (what is cached, what is sent, and the full body to fall
back to when Vertex refuses to cache a prefix that is too small); engine.api creates or reuses
the cache, keyed by its content, before the call is sent.
"""

from __future__ import annotations

from typing import Any

from engine.transforms import register

_MOVED = ("systemInstruction", "tools", "toolConfig")  # must live in the cache, not the request


def _marked(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    if message.get("cache_control") is not None:
        return True
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(p, dict) and p.get("cache_control") for p in content)


def _ttl(messages: list[Any]) -> str | None:
    for message in messages:
        marks = [message.get("cache_control")] if isinstance(message, dict) else []
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            marks += [p.get("cache_control") for p in message["content"] if isinstance(p, dict)]
        for mark in marks:
            if isinstance(mark, dict) and isinstance(mark.get("ttl"), str):
                return mark["ttl"]
    return None


def split_cached_prefix(messages: list[Any], body: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """``body`` unchanged, or only the uncached turns with the prefix recorded on ``ctx.prefix_cache``."""
    if ctx.operation != "chat" or ctx.params.get("cached_content") or not hasattr(ctx, "prefix_cache"):
        return body
    marked = [i for i, m in enumerate(messages) if _marked(m)]
    if not marked or not ctx.capabilities.get("system_messages", True):
        return body
    from engine.transforms.gemini import convert_messages

    last = marked[-1]
    is_system = [isinstance(m, dict) and m.get("role") in ("system", "developer") for m in messages]
    prefix = [m for i, m in enumerate(messages) if i <= last or is_system[i]]
    if all(is_system[i] for i in range(len(messages)) if i > last) or all(is_system[: last + 1]):
        return body  # nothing left to send after the prefix, or only system text to cache
    cached = convert_messages(prefix, ctx)["contents"]
    contents = body["contents"]
    if contents[: len(cached)] != cached or len(contents) == len(cached):
        return body  # the prefix's last turn merges with the next one: no clean boundary
    ctx.prefix_cache = {"messages": prefix, "ttl": _ttl(prefix), "full": body}
    rest = {k: v for k, v in body.items() if k != "systemInstruction"}  # the system text is cached
    rest["contents"] = contents[len(cached) :]
    return rest


@register("gemini_prefix_cache", kind="request_finalize")
def gemini_prefix_cache(body: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Request finalize: with a cached prefix, keep the full body as the fallback and move the
    system instruction, tools and tool config out of the request (they go into the cache)."""
    pending = getattr(ctx, "prefix_cache", None)
    if not pending:
        return body
    full = pending.pop("full")
    fallback = {**body, "contents": full["contents"]}
    if "systemInstruction" in full:
        fallback["systemInstruction"] = full["systemInstruction"]
    pending["fallback"] = fallback
    return {k: v for k, v in body.items() if k not in _MOVED}
