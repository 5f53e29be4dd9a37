"""``/v1/responses``: OpenAI's Responses API through the gateway.

``POST`` creates (streamed with the Responses event types when ``stream`` is true),
``GET /{id}`` reads a stored response, ``DELETE /{id}`` removes it, ``POST /{id}/cancel``
answers as OpenAI does for a response that is not running in the background. Stored
responses belong to the key that created them: another key gets a 404, as for an id
that does not exist. The store is in memory (bounded, with expiry) unless the proxy is
given another :class:`~engine.dialects.store.ResponseStore`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

import engine
from engine.dialects.store import MemoryStore, ResponseStore
from engine.errors import APIError
from engine.proxy.config import Deployment
from engine.proxy.dialects.common import DialectStream, admitted, call_options, closed, guarded, routed
from engine.proxy.handlers import (
    COST_HEADER,
    JSON,
    Proxy,
    client_closed,
    error_response,
    internal_error,
)
from engine.proxy.streaming import dumps

log = logging.getLogger("vertexlate.proxy")
CALL_TYPE = "aresponses"  # of the spend log rows (the engine function)


def encode(event: dict[str, Any]) -> bytes:
    return b"event: " + str(event.get("type")).encode() + b"\ndata: " + dumps(event) + b"\n\n"


def encode_error(error: APIError) -> bytes:
    body = error.to_openai_error()["error"]
    event = {
        "type": "error",
        "code": body.get("code"),
        "message": body.get("message"),
        "param": body.get("param"),
    }
    return encode(event)


def count(event: dict[str, Any], tokens: int) -> int:
    if event.get("type") in ("response.completed", "response.incomplete"):
        usage = (event.get("response") or {}).get("usage") or {}
        return int(usage.get("total_tokens") or tokens)
    return tokens


class Responses:
    """The Responses endpoints of one running proxy, with its store."""

    def __init__(self, proxy: Proxy, store: ResponseStore | None = None) -> None:
        self.proxy = proxy
        self.store = MemoryStore() if store is None else store

    async def create(self, request: Request) -> Response:
        return await guarded(self.proxy, request, CALL_TYPE, self._start, self._create, error_response)

    async def _start(self, request: Request) -> tuple[Any, str, dict[str, Any]]:
        return await admitted(self.proxy, request)

    async def _create(
        self, request: Request, caller: Any, name: str, body: dict[str, Any], started: float
    ) -> Response:
        # the response cache, as for chat (one path: Proxy.cache_read / cache_write / recording)
        lookup, hit = await self.proxy.cache_read(CALL_TYPE, name, body, caller, bool(body.get("stream")))
        stream = bool(body.pop("stream", False))
        if hit is not None:
            assert lookup is not None
            return self._cached(hit.body, lookup, stream, caller, name, started)

        async def invoke(deployment: Deployment) -> Any:
            kwargs = {**body, **call_options(deployment, stream), "stream": stream or None}
            kwargs.update(
                response_store=self.store,
                owner=caller.alias,
                response_model=name,
                chat_defaults=deployment.defaults.get("chat"),
            )
            return await engine.aresponses(**kwargs)

        outcome = await routed(self.proxy, request, name, invoke)
        if outcome is None:
            caller.done(0)
            self.proxy.account(caller, CALL_TYPE, name, started, error=client_closed())
            return closed()
        result, lease = outcome
        headers = {"x-vertexlate-deployment": lease.deployment.id}
        if stream:

            def close(tokens: int) -> None:
                lease.release(tokens)
                caller.done(tokens)
                self.proxy.account(caller, CALL_TYPE, name, started, result, lease, reply.failed)

            events = result  # the engine's stream keeps the cost the spend row reads
            if lookup is not None and lookup.write:
                events = self.proxy.recording(result, lookup)
            reply = DialectStream(
                events, encode, encode_error, count, close, self.proxy.stop_streams, headers
            )
            return reply
        tokens = int((result.get("usage") or {}).get("total_tokens") or 0)
        lease.release(tokens)
        caller.done(tokens)
        cost = self.proxy.account(caller, CALL_TYPE, name, started, result, lease)
        if cost is not None:
            headers[COST_HEADER] = repr(cost)
        raw = dumps(result)
        await self.proxy.cache_write(lookup, result, raw)
        return Response(raw, media_type=JSON, headers=headers)

    def _cached(
        self, raw: bytes, lookup: Any, stream: bool, caller: Any, name: str, started: float
    ) -> Response:
        """A reply from the response cache (no upstream call, cost 0), marked as the chat endpoints mark it."""
        from engine.proxy.shared.cache import replay
        from engine.types import OpenAIObject

        headers, hidden = self.proxy.cached_marks(lookup)
        if stream:
            events = json.loads(raw)
            final = next((e for e in reversed(events) if e.get("type") in ("response.completed",)), None)
            result = OpenAIObject((final or {}).get("response") or {})
            result._hidden_params = hidden

            def close(tokens: int) -> None:
                caller.done(0)  # nothing reached the upstream: no tokens against the key's tpm
                self.proxy.account(caller, CALL_TYPE, name, started, result)

            return DialectStream(
                replay(events), encode, encode_error, count, close, self.proxy.stop_streams, headers
            )
        result = OpenAIObject(json.loads(raw))
        result._hidden_params = hidden
        caller.done(0)
        self.proxy.account(caller, CALL_TYPE, name, started, result)
        return Response(raw, media_type=JSON, headers=headers)

    async def _by_id(self, request: Request, function: str) -> Response:
        try:
            caller = await self.proxy.keys.aauthenticate(request.headers.get("authorization"))
            result = await getattr(engine, function)(
                request.path_params["response_id"], response_store=self.store, owner=caller.alias
            )
        except APIError as exc:
            return error_response(exc)
        except Exception:
            return internal_error(request.url.path)
        return Response(dumps(result), media_type=JSON)

    async def retrieve(self, request: Request) -> Response:
        return await self._by_id(request, "aget_responses")

    async def delete(self, request: Request) -> Response:
        return await self._by_id(request, "adelete_responses")

    async def cancel(self, request: Request) -> Response:
        return await self._by_id(request, "acancel_responses")
