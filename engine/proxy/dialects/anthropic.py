"""``POST /v1/messages`` and ``/v1/messages/count_tokens``: Anthropic's Messages API through the gateway.

The key comes as ``x-api-key`` (Anthropic's header) or ``Authorization: Bearer``;
``model`` is a proxy model name, routed as chat is (keys, limits, load balancing,
fallbacks). ``anthropic-beta`` values reach Claude; ``anthropic-version`` is
accepted (Vertex sets its own). Replies and errors are Anthropic's
(``{"type": "error", "error": {"type", "message"}, "request_id"}``,
https://docs.anthropic.com/en/api/errors); streams are Anthropic's named events.
Every reply carries the request's id (the proxy's ``x-request-id``) as Anthropic's
``request-id`` header too, which the official clients read (``exc.request_id``,
``message._request_id``).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

import engine
from engine.errors import APIError, InternalServerError
from engine.proxy.config import Deployment
from engine.proxy.dialects.common import (
    DialectStream,
    admitted,
    call_options,
    closed,
    guarded,
    routed,
)
from engine.proxy.handlers import COST_HEADER, Proxy, client_closed
from engine.proxy.observability import request_id
from engine.proxy.streaming import dumps

log = logging.getLogger("vertexlate.proxy")

JSON = "application/json"
MESSAGES = "aanthropic_messages"  # call types of the spend log rows (the engine functions)
COUNT = "aanthropic_count_tokens"

# HTTP status -> Anthropic's error type (https://docs.anthropic.com/en/api/errors#http-errors).
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


REQUEST_ID_HEADER = "request-id"  # Anthropic's header (https://docs.anthropic.com/en/api/errors#request-id)


def error_body(error: APIError) -> dict[str, Any]:
    """Anthropic's error object; ``request_id`` at its top level, as Anthropic's API puts it."""
    status = error.status_code
    kind = ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
    body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": error.message}}
    rid = request_id.current()
    if rid is not None:
        body["request_id"] = rid
    return body


def id_headers() -> dict[str, str]:
    """Anthropic's ``request-id`` header with the request's id (the same as its ``x-request-id``)."""
    rid = request_id.current()
    return {REQUEST_ID_HEADER: rid} if rid is not None else {}


def error_response(error: APIError) -> Response:
    headers = id_headers()
    retry_after = (error.headers or {}).get("retry-after")
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return Response(dumps(error_body(error)), status_code=error.status_code, media_type=JSON, headers=headers)


def encode(event: dict[str, Any]) -> bytes:
    """One Anthropic event: ``event: <type>`` and its JSON."""
    return b"event: " + str(event.get("type", "message")).encode() + b"\ndata: " + dumps(event) + b"\n\n"


def encode_error(error: APIError) -> bytes:
    return encode(error_body(error))


def _input(usage: dict[str, Any]) -> int:
    return sum(
        int(usage.get(k) or 0)
        for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )


class Usage:
    """Tokens of one stream: input from ``message_start`` (or a later ``message_delta``), output from the last delta."""

    def __init__(self) -> None:
        self.input = 0
        self.output = 0

    def __call__(self, event: dict[str, Any], tokens: int) -> int:
        kind = event.get("type")
        usage = (event.get("message") or {}).get("usage") if kind == "message_start" else event.get("usage")
        if kind in ("message_start", "message_delta") and isinstance(usage, dict):
            if kind == "message_start" or "input_tokens" in usage:
                self.input = _input(usage)
            self.output = int(usage.get("output_tokens") or self.output)
        return self.input + self.output


def _message_tokens(message: Any) -> int:
    usage = message.get("usage") if isinstance(message, dict) else None
    if not isinstance(usage, dict):
        return 0
    return sum(
        int(usage.get(k) or 0) for k in usage if k.endswith("_tokens") and isinstance(usage.get(k), int)
    )


def _betas(request: Request) -> list[str] | None:
    values = [v.strip() for header in request.headers.getlist("anthropic-beta") for v in header.split(",")]
    return [v for v in values if v] or None


class Messages:
    """The Anthropic endpoints of one running proxy."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy

    async def _start(self, request: Request) -> tuple[Any, str, dict[str, Any]]:
        return await admitted(self.proxy, request, "x-api-key")  # Anthropic's SDK sends its key there

    async def create(self, request: Request) -> Response:
        return await guarded(self.proxy, request, MESSAGES, self._start, self._create, error_response)

    async def _create(
        self, request: Request, caller: Any, name: str, body: dict[str, Any], started: float
    ) -> Response:
        stream = bool(body.pop("stream", False))
        betas = _betas(request)

        async def invoke(deployment: Deployment) -> Any:
            kwargs = {**body, **call_options(deployment, stream), "stream": stream or None}
            kwargs["anthropic_beta"] = betas
            kwargs["chat_defaults"] = deployment.defaults.get("chat")
            return await engine.aanthropic_messages(**kwargs)

        outcome = await routed(self.proxy, request, name, invoke)
        if outcome is None:
            caller.done(0)
            self.proxy.account(caller, MESSAGES, name, started, error=client_closed())
            return closed()
        result, lease = outcome
        headers = {"x-vertexlate-deployment": lease.deployment.id, **id_headers()}
        if stream:

            def close(tokens: int) -> None:
                lease.release(tokens)
                caller.done(tokens)
                self.proxy.account(caller, MESSAGES, name, started, result, lease, reply.failed)

            reply = DialectStream(
                result, encode, encode_error, Usage(), close, self.proxy.stop_streams, headers
            )
            return reply
        tokens = _message_tokens(result)
        lease.release(tokens)
        caller.done(tokens)
        cost = self.proxy.account(caller, MESSAGES, name, started, result, lease)
        if cost is not None:
            headers[COST_HEADER] = repr(cost)
        return Response(dumps(result), media_type=JSON, headers=headers)

    async def count_tokens(self, request: Request) -> Response:
        started = time.time()
        with self.proxy.tracked():
            try:
                caller, name, body = await self._start(request)
            except APIError as exc:
                return error_response(exc)
            try:

                async def invoke(deployment: Deployment) -> Any:
                    return await engine.aanthropic_count_tokens(**body, **call_options(deployment, False))

                outcome = await routed(self.proxy, request, name, invoke)
                if outcome is None:
                    self.proxy.account(caller, COUNT, name, started, error=client_closed())
                    return closed()
                result, lease = outcome
                lease.release(0)
                self.proxy.account(caller, COUNT, name, started, result, lease)
                return Response(json.dumps(dict(result)), media_type=JSON, headers=id_headers())
            except APIError as exc:
                self.proxy.account(caller, COUNT, name, started, error=exc)
                return error_response(exc)
            except Exception:
                self.proxy.account(caller, COUNT, name, started, error=InternalServerError("internal"))
                log.exception("unexpected error while handling %s", request.url.path)
                return error_response(
                    InternalServerError("internal error in the proxy", llm_provider="proxy")
                )
            finally:
                caller.done(0)
