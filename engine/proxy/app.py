"""The ASGI application: OpenAI's paths mapped onto :class:`~engine.proxy.handlers.Proxy`.

Every path is served with and without the ``/v1`` prefix (OpenAI clients use a base
URL ending in ``/v1``; LiteLLM's proxy accepts both). Unknown paths and wrong methods
answer in OpenAI's error format too, so a client always gets something it can parse.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

import engine
from engine.errors import APIError, NotFoundError
from engine.proxy import dialects
from engine.proxy.config import ProxyConfig, load_config
from engine.proxy.handlers import Proxy, error_response, internal_error
from engine.proxy.observability import exposition, request_id
from engine.proxy.operations import ENDPOINTS, RESOURCES
from engine.proxy.resources import Resources
from engine.proxy.store.routes import Management

log = logging.getLogger("vertexlate.proxy")

CONFIG_ENV = "VERTEXLATE_PROXY_CONFIG"
GRACE_ENV = "VERTEXLATE_PROXY_GRACE"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error: APIError = NotFoundError(
            f"no such endpoint: {request.method} {request.url.path}", llm_provider="proxy"
        )
    else:
        error = APIError(
            f"{exc.detail}: {request.method} {request.url.path}",
            status_code=exc.status_code,
            llm_provider="proxy",
        )
        error.type = "invalid_request_error"
    return error_response(error)


async def _unexpected(request: Request, exc: Exception) -> Response:
    return internal_error(request.url.path)


def routes(proxy: Proxy) -> list[Route]:
    table: list[Route] = []
    resources = Resources(proxy)
    served = [r for r in RESOURCES if hasattr(engine, r.function)]
    for prefix in ("/v1", ""):
        for path, endpoint in ENDPOINTS.items():
            table.append(Route(prefix + path, partial(proxy.handle, endpoint=endpoint), methods=["POST"]))
        for resource in served:
            handler = partial(resources.handle, resource=resource)
            table.append(Route(prefix + resource.path, handler, methods=[resource.method]))
        table.append(Route(prefix + "/models", proxy.models, methods=["GET"]))
        table.append(Route(prefix + "/models/{model:path}", proxy.model, methods=["GET"]))
    table.extend(Management(proxy).routes())  # LiteLLM's /key, /user, /team, /spend routes and /model/info
    for name in ("liveliness", "liveness"):  # LiteLLM's spelling, and the usual one
        table.append(Route(f"/health/{name}", proxy.liveliness, methods=["GET"]))
    table.append(Route("/health/readiness", proxy.readiness, methods=["GET"]))
    for path in (
        "/metrics",
        "/metrics/",
    ):  # Prometheus (LiteLLM's path; its Grafana setup scrapes "/metrics/")
        table.append(Route(path, exposition.route(proxy), methods=["GET"]))
    table += dialects.routes(proxy)  # /v1/messages, /v1/responses, /vertex_ai/...
    return table


class ProxyApp:
    """ASGI entry point: the OpenAI POST endpoints go straight to the proxy, the rest through Starlette.

    Why a shortcut: Starlette's middleware stack and route scan cost about a tenth of
    the proxy's time per request (py-spy under bench/proxy_bench.py); the POST endpoints
    catch every error themselves, so they do not need that stack. The Starlette app still
    has the same routes, so other methods on these paths get its 405.
    """

    def __init__(self, proxy: Proxy, fallback: Starlette) -> None:
        self.proxy = proxy
        self.fallback = fallback
        self.state = fallback.state
        self.posts = {
            prefix + path: endpoint for prefix in ("/v1", "") for path, endpoint in ENDPOINTS.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            rid, _ = request_id.begin(scope["headers"])  # x-request-id in (validated) or a new one
            if scope["method"] == "POST":
                endpoint = self.posts.get(scope["path"])
                if endpoint is not None:
                    with self.proxy.tracked():
                        response = await self.proxy.handle(Request(scope, receive), endpoint)
                        response.raw_headers.append((request_id.RAW_HEADER, rid.encode("ascii")))
                        await response(scope, receive, send)
                    return
            send = _with_request_id(send, rid)
            if self.proxy.telemetry.active:  # a dialect endpoint's request is counted when it ends
                send = self.proxy.telemetry.watch(scope, send)
            await self.fallback(scope, receive, send)
            return
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.fallback(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Startup opens the store (a failed migration stops the server); shutdown drains, then flushes spend."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.proxy.start()
                except Exception as exc:  # DatabaseError, MigrationError: say why and do not serve
                    log.error("the proxy cannot start: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                on_shutdown_signal(self.proxy.begin_drain)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.proxy.drain()
                await self.proxy.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _with_request_id(send: Send, rid: str) -> Send:
    """``send`` that adds the ``x-request-id`` header to the reply (routes outside the fast path)."""
    header = (request_id.RAW_HEADER, rid.encode("ascii"))

    async def sending(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), header]}
        await send(message)

    return sending


def on_shutdown_signal(callback: Callable[[], None]) -> None:
    """Run ``callback`` on the event loop as soon as SIGINT/SIGTERM arrives, before the server's own handler.

    Why: ASGI tells an app about shutdown only after the server has drained its
    connections (granian) or waited out its grace period (uvicorn); streams can only be
    ended cleanly if the app knows when draining *begins*. The server's handler still
    runs after ours. Outside the main thread (tests) signals cannot be watched: no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(callback)
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)


def create_app(config: ProxyConfig | str | Path, clock: Callable[[], float] | None = None) -> ProxyApp:
    """The proxy app for a validated config (or a config file path, validated here).

    ``clock`` (monotonic seconds) drives rate-limit windows and cooldowns; tests pass a fake one.
    """
    if not isinstance(config, ProxyConfig):
        config = load_config(config)
    for name, value in config.environment.items():  # LiteLLM's environment_variables section
        os.environ.setdefault(name, value)
    if config.set_verbose:  # process-wide, as litellm.set_verbose is in LiteLLM's proxy
        engine.set_verbose = True
    proxy = Proxy(config) if clock is None else Proxy(config, clock)
    handlers: dict[Any, Any] = {HTTPException: _http_error, Exception: _unexpected}
    fallback = Starlette(routes=routes(proxy), exception_handlers=handlers)
    fallback.router.redirect_slashes = False  # "/v1/files/" is an unknown path (404 JSON), not a 307
    fallback.state.proxy = proxy
    return ProxyApp(proxy, fallback)


def app_from_env() -> ProxyApp:
    """Factory for worker processes (granian, ``--workers N``): the config path comes from the environment."""
    app = create_app(os.environ[CONFIG_ENV])
    if os.environ.get(GRACE_ENV):
        app.proxy.grace = float(os.environ[GRACE_ENV])
    freeze_heap()
    return app


def freeze_heap() -> None:
    """Exempt everything alive at start-up (modules, specs, config) from cyclic garbage collection.

    Why: a full collection otherwise walks those objects again and again while requests
    wait; in one benchmark run (bench/proxy_bench.py, 16 connections) this cut p99 from
    about 19 ms to 8-11 ms.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*gc_thresholds())


GC_ENV = "VERTEXLATE_GC_THRESHOLD"
GC_DEFAULT = (10_000, 50, 100)


def gc_thresholds() -> tuple[int, int, int]:
    """The server process's cyclic-collector thresholds: ``VERTEXLATE_GC_THRESHOLD=g0,g1,g2`` or 10,000/50/100.

    Why not CPython's 700/10/10: with thousands of open streams their objects survive the young
    collections, so full collections came every few seconds and each walked all of them; measured
    with ``bench/stream_profile.py --concurrency 2000 --stream-seconds 2`` (gc callbacks timing
    each pass), 7 full passes took 3.2 s of a 2,000-stream run, one with these values, and the
    CPU per stream fell by about 10% (README "Benchmarks"). Streams' garbage is mostly acyclic
    (freed by reference counting), so memory stays flat (bench/slow_streams.py reports the peak RSS).
    """
    raw = os.environ.get(GC_ENV)
    if not raw:
        return GC_DEFAULT
    parts = raw.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts) or int(parts[0]) <= 0:
        raise ValueError(
            f"{GC_ENV} must be three whole numbers g0,g1,g2 with g0 > 0, e.g. 10000,50,100: {raw!r}"
        )
    return int(parts[0]), int(parts[1]), int(parts[2])
