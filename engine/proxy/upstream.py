"""Calling the engine for one deployment: the proxy has no HTTP client of its own.

Every endpoint calls the engine's public async function (``acompletion``, ``aembedding``, ...),
so a proxied request runs the library's whole pipeline: prepare, split (e.g. embeddings
over the model's per-request maximum), send with retries and token refresh over the
engine's async transport (:mod:`engine.aio`), verbose logging, parse or stream. The
proxy adds only routing, keys and accounting around it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import engine
from engine.proxy.operations import Endpoint

log = logging.getLogger("vertexlate.proxy")

Sender = Callable[[Endpoint, dict[str, Any], bool], Awaitable[Any]]


def choose(setting: str | None = None) -> Sender:
    """The engine's pipeline; ``general_settings.upstream_http`` no longer selects anything (warned once)."""
    if setting not in (None, "builtin", "engine"):
        log.warning(
            "general_settings.upstream_http=%r is ignored: the proxy sends through the engine's transport",
            setting,
        )
    return via_engine


async def via_engine(endpoint: Endpoint, kwargs: dict[str, Any], stream: bool) -> Any:
    return await getattr(engine, endpoint.function)(**kwargs)
