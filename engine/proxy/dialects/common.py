"""What the dialect endpoints share: the proxy key from a dialect's header, a deployment's call options,
the routed call itself, and a server-sent event stream with a dialect's own framing.

Everything that decides *who* may call and *where* it goes is the chat endpoint's:
:class:`~engine.proxy.handlers.Proxy` authenticates, checks the model name against the
key and the config, and its router picks the deployment (load balancing, cooldown,
fallbacks, limits). Only the body format and the reply framing differ per dialect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send

from engine.errors import APIError, InternalServerError, ServiceUnavailableError
from engine.proxy.config import Deployment
from engine.proxy.handlers import CLIENT_CLOSED, Proxy
from engine.proxy.keys import Caller
from engine.proxy.observability.telemetry import CURRENT as _TRAIL
from engine.proxy.operations import CHAT
from engine.proxy.router import Lease
from engine.proxy.streaming import DisconnectGuard, SSEReply, _settle

log = logging.getLogger("vertexlate.proxy")

Start = Callable[[Request], Awaitable[tuple[Caller, str, dict[str, Any]]]]
Serve = Callable[[Request, Caller, str, dict[str, Any], float], Awaitable[Response]]


async def guarded(
    proxy: Proxy,
    request: Request,
    call_type: str,
    start: Start,
    serve: Serve,
    respond: Callable[[APIError], Response],
) -> Response:
    """One dialect request start to finish, every failure answered in the dialect's error format.

    ``start`` authenticates, reads the body and admits the caller (nothing to account before
    it succeeds); a failure of ``serve`` releases the caller and writes the spend row, as the
    chat handler does (engine/proxy/handlers.py).
    """
    started = time.time()
    with proxy.tracked():
        try:
            caller, name, body = await start(request)
        except APIError as exc:
            return respond(exc)
        except Exception:  # a bug before admission: still the dialect's error format, and logged
            log.exception("unexpected error while handling %s", request.url.path)
            return respond(
                InternalServerError(
                    "internal error in the proxy (the proxy's log has the details)", llm_provider="proxy"
                )
            )
        try:
            return await serve(request, caller, name, body, started)
        except APIError as exc:
            caller.done(0)
            proxy.account(caller, call_type, name, started, error=exc)
            return respond(exc)
        except Exception:
            caller.done(0)
            proxy.account(caller, call_type, name, started, error=InternalServerError("internal"))
            log.exception("unexpected error while handling %s", request.url.path)
            return respond(
                InternalServerError(
                    "internal error in the proxy (the proxy's log has the details)", llm_provider="proxy"
                )
            )


async def admitted(proxy: Proxy, request: Request, *key_headers: str) -> tuple[Caller, str, dict[str, Any]]:
    """A dialect request's caller (authenticated, admitted), model name and body, checked as for chat."""
    caller = await proxy.keys.aauthenticate(authorization(request, *key_headers))
    body = await proxy._body(request)  # size limit, JSON checks, stream type: as for chat
    name = check_model(proxy, body, caller)
    caller = await proxy.keys.admit(caller)
    return caller, name, body


def authorization(request: Request, *extra: str) -> str | None:
    """``Authorization: Bearer`` as the chat endpoints read it, or a key in one of the ``extra`` headers."""
    value = request.headers.get("authorization")
    if value:
        return value
    for name in extra:
        key = request.headers.get(name)
        if key:
            return key if key.lower().startswith("bearer ") else f"Bearer {key}"
    return None


def call_options(deployment: Deployment, stream: bool) -> dict[str, Any]:
    """The engine options of one deployment (credentials, project, location, api_base), as the chat endpoint uses them."""
    return {
        **deployment.options,
        "model": deployment.model,
        "num_retries": 0,  # the router retries, on another deployment where it can
        "timeout": (deployment.stream_timeout or deployment.timeout) if stream else deployment.timeout,
    }


def check_model(proxy: Proxy, body: dict[str, Any], caller: Caller) -> str:
    """The model name of a chat-like request, checked as the chat endpoint checks it."""
    # metrics and traces of this request (no-op when off)
    proxy.telemetry.adopt(caller, body.get("model"), body)
    return proxy._model(body, caller, CHAT)


async def routed(
    proxy: Proxy, request: Request, name: str, invoke: Callable[[Deployment], Awaitable[Any]]
) -> tuple[Any, Lease] | None:
    """Run ``invoke`` on a deployment of ``name`` (router, fallbacks); None when the client went away."""
    trail = current_trail()
    if trail is not None:
        invoke = trail.wrap(invoke)
    async with DisconnectGuard(request.receive) as guard:
        result, lease = await proxy.router.call(name, CHAT.operation, invoke)
    if guard.fired:
        proxy.disconnects += 1
        return None
    return result, lease


def current_trail() -> Any:
    """The trail :func:`check_model` adopted for this request, or None (telemetry off)."""
    return _TRAIL.get()


def closed() -> Response:
    return Response(status_code=CLIENT_CLOSED)


class DialectStream(SSEReply):
    """``text/event-stream`` of a dialect's events; ``encode`` frames one, ``error`` frames a failure.

    As the chat stream does: a disconnect cancels the upstream read, a shutdown ends the
    stream with an error event, ``on_close`` runs once with the tokens ``count`` saw.
    """

    def __init__(
        self,
        events: AsyncIterator[Any],
        encode: Callable[[Any], bytes],
        error: Callable[[APIError], bytes],
        count: Callable[[Any, int], int],
        on_close: Callable[[int], None],
        shutdown: asyncio.Event,
        headers: dict[str, str] | None = None,
        trailer: bytes = b"",
    ) -> None:
        self.source = events
        self.encode = encode
        self.error = error
        self.count = count
        self.on_close = on_close
        self.shutdown = shutdown
        self.trailer = trailer
        self._prepare(headers)

    async def _pump(self, send: Send, tokens: list[int]) -> None:
        stopper = asyncio.ensure_future(self.shutdown.wait())
        pending: asyncio.Future[Any] | None = None
        try:
            while True:
                if self.shutdown.is_set():
                    raise ServiceUnavailableError(
                        "the proxy is shutting down; the stream was ended early", llm_provider="proxy"
                    )
                pending = asyncio.ensure_future(anext(self.source))
                await asyncio.wait((pending, stopper), return_when=asyncio.FIRST_COMPLETED)
                if not pending.done():
                    continue
                try:
                    event = pending.result()
                except StopAsyncIteration:
                    break
                tokens[0] = self.count(event, tokens[0])
                await send({"type": "http.response.body", "body": self.encode(event), "more_body": True})
            await send({"type": "http.response.body", "body": self.trailer, "more_body": False})
        except APIError as exc:
            self.failed = exc
            trail = current_trail()
            if trail is not None:  # the request's metrics and span count it as the failure it became
                trail.failed = exc
            await send({"type": "http.response.body", "body": self.error(exc), "more_body": False})
        finally:
            stopper.cancel()
            if pending is not None and not pending.done():
                pending.cancel()
                await _settle(pending)
