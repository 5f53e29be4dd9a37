"""Calling the engine for one deployment: its own pipeline, with the proxy's HTTP/1.1 pool for plain replies.

The engine still does all the translation (``prepare`` builds the URL and body from
the spec, ``parse`` turns the reply into the OpenAI object, ``upstream_error`` maps
failures to the spec's error classes); only the sending differs for non-streamed
calls, which go through :mod:`engine.proxy.http1` (see there for the measurements).
Streams, and every call when an HTTP(S) proxy is configured in the environment, use
the engine's public async functions and thus httpx.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import engine
from engine.api import Call, parse, prepare
from engine.errors import APIConnectionError, Timeout
from engine.proxy.http1 import Pool, Reply, UpstreamClosed
from engine.proxy.operations import Endpoint
from engine.transport import upstream_error

PROXY_ENV = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")

Sender = Callable[[Endpoint, dict[str, Any], bool], Awaitable[Any]]


def choose(setting: str) -> Sender:
    """``builtin``: the proxy's pool for plain replies; ``httpx``: the engine's functions for everything."""
    if setting == "httpx" or any(os.environ.get(name) for name in PROXY_ENV):
        return via_engine
    return Builtin().send


async def via_engine(endpoint: Endpoint, kwargs: dict[str, Any], stream: bool) -> Any:
    return await getattr(engine, endpoint.function)(**kwargs)


class Builtin:
    """Plain replies over :class:`~engine.proxy.http1.Pool`; streams through the engine."""

    def __init__(self) -> None:
        self.pool = Pool()

    async def send(self, endpoint: Endpoint, kwargs: dict[str, Any], stream: bool) -> Any:
        if stream:
            return await via_engine(endpoint, kwargs, stream)
        call = prepare(endpoint.operation, kwargs)
        if call.context.prefix_cache:  # a prefix to cache first: the engine's own path does that
            return await via_engine(endpoint, kwargs, stream)
        content = (
            json.dumps(call.body, separators=(",", ":"), ensure_ascii=False).encode()
            if call.body is not None
            else None
        )
        refreshed = False
        while True:
            headers = dict(call.headers)
            if call.credential is not None:
                headers["authorization"] = f"Bearer {await _token(call, refreshed)}"
            reply = await self._request(call, headers, content)
            if reply.status < 400:
                return parse(call, reply)  # type: ignore[arg-type]  # Reply offers what parse reads of a response
            if reply.status == 401 and call.credential is not None and not refreshed:
                refreshed = True  # an expired or revoked token: refresh once, as the engine does
                continue
            raise upstream_error(
                call.resolved.family.errors, reply.status, reply.content, reply.headers, call.model
            )

    async def _request(self, call: Call, headers: dict[str, str], content: bytes | None) -> Reply:
        timeout = call.timeout.read or 600.0
        try:
            return await self.pool.request(call.method, call.url, headers, content, timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise Timeout(f"request to Vertex AI timed out after {timeout:g}s", model=call.model) from None
        except (OSError, UpstreamClosed) as exc:
            raise APIConnectionError(
                f"could not reach Vertex AI: {type(exc).__name__}: {exc}", model=call.model
            ) from None


async def _token(call: Call, force: bool) -> str:
    """The cached token without a thread hop; a refresh (blocking HTTP in google-auth) runs in a thread."""
    credential = call.credential
    assert credential is not None
    if not force:
        cached = credential.cached()
        if cached:
            return cached
    return await asyncio.to_thread(credential.token, force)
