"""What the proxy does with one request: authenticate, parse, route, call the engine, answer.

Every OpenAI POST endpoint runs :meth:`Proxy.handle` with its row of the endpoint
table; the engine does the translation, the router picks the deployment, and every
failure, local or upstream, leaves as OpenAI's error JSON with its status code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from engine.errors import APIError, BadRequestError, InternalServerError, NotFoundError
from engine.proxy.config import Deployment, ProxyConfig
from engine.proxy.intake import MIB, read_body, replay_error
from engine.proxy.keys import Caller, KeyTable
from engine.proxy.observability import NULL_TRAIL, request_id
from engine.proxy.observability import build as build_telemetry
from engine.proxy.observability.logs import register_secret
from engine.proxy.operations import CLIENT_FORBIDDEN, CLIENT_IGNORED, Endpoint
from engine.proxy.router import Lease, Router
from engine.proxy.streaming import DisconnectGuard, EventStream, ShutdownSignal, dumps
from engine.proxy.upstream import choose
from engine.redact import short

if TYPE_CHECKING:
    from engine.proxy.shared.cache import Lookup, ResponseCache
    from engine.proxy.shared.runtime import Shared
    from engine.proxy.store.service import Store

log = logging.getLogger("vertexlate.proxy")
COST_HEADER = "x-litellm-response-cost"  # LiteLLM's name

JSON = "application/json"
CLIENT_CLOSED = 499  # nginx's code for "client closed request"; nobody reads it, logs do
STREAM_MARGIN = 1.0  # seconds before the grace period ends at which open streams are ended

MAX_MESSAGE = 2000  # characters of an error message sent to a client; longer ones quoted client input


def error_response(error: APIError) -> Response:
    """OpenAI's ``{"error": {...}}`` with the error's status (and ``Retry-After`` when known).

    ASCII JSON, so a lone surrogate quoted from the request still makes valid UTF-8; the
    message is capped, so a huge value quoted from the request never comes back whole.
    """
    headers = {}
    retry_after = (error.headers or {}).get("retry-after")
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    payload = error.to_openai_error()
    fields = payload["error"]
    rid = request_id.current()
    if rid is not None:  # the id the reply's x-request-id header carries, for bug reports and log searches
        fields["request_id"] = rid
    for name in ("message", "param", "code"):
        value = fields.get(name)
        if isinstance(value, str) and len(value) > MAX_MESSAGE:
            fields[name] = f"{value[:MAX_MESSAGE]}…({len(value)} characters)"
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(body, status_code=error.status_code, media_type=JSON, headers=headers)


def client_closed() -> APIError:
    """What a spend row records for a request its client abandoned before the answer."""
    error = APIError("the client closed the request", status_code=CLIENT_CLOSED, llm_provider="proxy")
    error.type = "client_closed"
    return error


def internal_error(where: str) -> Response:
    log.exception("unexpected error while handling %s", where)
    return error_response(
        InternalServerError(
            "internal error in the proxy (the proxy's log has the details)", llm_provider="proxy"
        )
    )


def json_object(raw: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object; 400 in OpenAI's format otherwise.

    Nesting is bounded (:data:`MAX_DEPTH`): a deeper body could only exhaust the stack
    of some later step. The bracket count gates the walk, so ordinary bodies pay two
    byte scans and nothing else.
    """
    try:
        body = _DECODER.decode(raw.decode("utf-8")) if raw else None  # JSON is UTF-8 (RFC 8259)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)[:120]
        raise BadRequestError(
            f"the request body is not valid JSON: {msg}{where}", code="invalid_json", llm_provider="proxy"
        ) from None
    if not isinstance(body, dict):
        raise BadRequestError(
            "the request body must be a JSON object", code="invalid_json", llm_provider="proxy"
        )
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth(body) > MAX_DEPTH:
        raise _too_deep()
    return body


# Nesting levels of objects and arrays a request body may have (tool and response schemas are the deepest parts).
MAX_DEPTH = 64


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


# One decoder for every request: json.loads(raw, parse_constant=...) would build a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _too_deep() -> BadRequestError:
    return BadRequestError(
        f"the request body is nested more than {MAX_DEPTH} levels deep",
        code="invalid_json",
        llm_provider="proxy",
    )


def _depth(node: Any) -> int:
    """Deepest nesting of dicts and lists, without recursion."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def _tokens(result: Any) -> int:
    usage = result.get("usage") if isinstance(result, dict) else None
    return int(usage.get("total_tokens") or 0) if isinstance(usage, dict) else 0


class Proxy:
    """The running proxy: config, keys, router, and its shutdown state."""

    def __init__(self, config: ProxyConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.keys = KeyTable(config, clock)
        self.shared: Shared | None = None  # Redis-backed limits and the response cache, when configured
        self.cache: ResponseCache | None = None
        if config.redis is not None or config.cache is not None:
            from engine.proxy.shared.runtime import build as build_shared

            self.shared = build_shared(config, clock)
            self.cache = self.shared.cache
            if self.shared.backend.shared:
                self.keys.shared = self.shared.backend
        self.router = Router(config, clock=clock, backend=self.shared.backend if self.shared else None)
        self.max_body = int(config.max_request_size_mb * MIB) if config.max_request_size_mb else None
        self.send = choose(config.upstream_http)
        self.created = int(time.time())
        self.draining = False
        self.grace = config.graceful_shutdown_timeout
        self.stop_streams = ShutdownSignal()
        self.in_flight = 0
        self._idle: asyncio.Event | None = None
        self.disconnects = 0  # requests abandoned by their client (upstream cancelled)
        self.store: Store | None = None  # the database (virtual keys, spend logs); opened by start()
        # metrics and traces (engine/proxy/observability)
        self.telemetry = build_telemetry(config.callbacks, config.groups, config.end_user_metrics)
        self.router.observer = self.telemetry
        if self.shared is not None:
            for client in self.shared.clients:
                client.on_failure = self.telemetry.metrics.redis_failure
        for secret in (config.master_key, *(k.key for k in config.keys)):
            register_secret(secret)  # never in a log line

    # ------------------------------------------------------------------ the store (accounting hook)
    async def start(self) -> None:
        """Open the store when the config has one: connect, migrate (a failure stops the start)."""
        if self.config.database_url is None or self.store is not None:
            return
        from engine.proxy.store.service import Store

        self.store = await Store.open(
            self.config.database_url, base=self.config.path.parent, ttl=self.config.key_cache_ttl
        )
        self.store.accounts.window_clock = self.router.clock
        if self.shared is not None and self.shared.backend.shared:
            self.store.accounts.shared = self.shared.backend  # budgets: every process's spend at once
        self.store.writer.on_failure = self.telemetry.metrics.db_failure
        accounts = self.store.accounts
        self.telemetry.metrics.watch_budgets(lambda: tuple(accounts.budgets.values()))  # budget gauges
        self.keys.virtual = self.store.accounts.authenticate

    async def stop(self) -> None:
        """Flush the spend logs and close the database (and the Redis connections)."""
        if self.shared is not None:
            await self.shared.close()
        if self.store is not None:
            store, self.store = self.store, None
            self.keys.virtual = None
            await store.close()
        self.telemetry.shutdown()

    def account(
        self,
        caller: Caller,
        endpoint: Endpoint | str,
        name: str | None,
        started: float,
        result: Any = None,
        lease: Lease | None = None,
        error: APIError | None = None,
    ) -> float | None:
        """Record one finished request in the store (no I/O: batched); its cost, or None when unknown.

        ``endpoint`` is the chat-like endpoint, or the call type of another route (dialects,
        pass-through, files and jobs). A dialect reply's usage in OpenAI's names rides in its
        ``_hidden_params["openai_usage"]`` (engine/dialects/priced.py).
        """
        hidden = getattr(result, "_hidden_params", None) or {}
        cost = hidden.get("response_cost") if error is None else None
        if self.store is not None:
            self.store.record(
                caller,
                request_id=request_id.spend_id(),
                call_type=endpoint if isinstance(endpoint, str) else endpoint.function,
                model_group=name,
                deployment=lease.deployment if lease is not None else None,
                result=result,
                usage=hidden.get("openai_usage"),
                cost=cost,
                started=started,
                status="success" if error is None else "failure",
                error_type=None if error is None else error.type,
            )
        return cost

    # ------------------------------------------------------------------ graceful shutdown
    @contextlib.contextmanager
    def tracked(self) -> Iterator[None]:
        """Count a request (and its streamed reply) as in flight while the block runs."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            if self.in_flight == 0 and self._idle is not None:
                self._idle.set()

    def begin_drain(self) -> None:
        """Shutdown started: readiness turns 503; streams still open shortly before the grace period ends are ended."""
        if self.draining:
            return
        self.draining = True
        log.warning(
            "shutting down: finishing %d requests in flight (grace period %gs)", self.in_flight, self.grace
        )
        delay = max(self.grace - STREAM_MARGIN, self.grace * 0.5)
        asyncio.get_running_loop().call_later(delay, self.stop_streams.set)

    async def drain(self) -> None:
        """Begin draining and wait (up to the grace period) until no request is in flight."""
        self.begin_drain()
        if self.in_flight:
            self._idle = asyncio.Event()
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.grace)

    # ------------------------------------------------------------------ request parsing
    async def _body(self, request: Request) -> dict[str, Any]:
        body = json_object(await read_body(request, self.max_body))
        if not isinstance(body.get("stream", False), (bool, type(None))):
            raise BadRequestError(
                f"'stream' must be true or false, got {short(body['stream'])}",
                param="stream",
                llm_provider="proxy",
            )
        if not isinstance(body.get("stream_options") or {}, dict):
            raise BadRequestError(
                f"'stream_options' must be an object, got {short(body['stream_options'])}",
                param="stream_options",
                llm_provider="proxy",
            )
        return body

    def _model(self, body: dict[str, Any], caller: Caller, endpoint: Endpoint) -> str:
        name = body.pop("model", None)
        if not isinstance(name, str) or not name:
            raise BadRequestError(
                "the request must name a 'model' (see GET /v1/models)", param="model", llm_provider="proxy"
            )
        forbidden = sorted(CLIENT_FORBIDDEN & body.keys())
        if forbidden:
            raise BadRequestError(
                f"parameter {forbidden[0]!r} is set by the proxy's config and cannot be sent by a client",
                param=forbidden[0],
                llm_provider="proxy",
            )
        for key in CLIENT_IGNORED & body.keys():
            del body[key]
        self.keys.check_model(caller, name)
        states = self.router.states.get(name)
        if states is None:
            available = ", ".join(n for n in self.router.states if caller.allows(n)) or "none"
            raise NotFoundError(
                f"model {short(name)} is not served by this proxy (available: {available})",
                param="model",
                code="model_not_found",
                llm_provider="proxy",
            )
        if not any(endpoint.operation in s.deployment.operations for s in states):
            raise BadRequestError(
                f"model {short(name)} does not support {endpoint.operation.replace('_', ' ')}",
                param="model",
                llm_provider="proxy",
            )
        return name

    @staticmethod
    def _kwargs(
        deployment: Deployment, endpoint: Endpoint, body: dict[str, Any], stream: bool
    ) -> dict[str, Any]:
        kwargs = {**deployment.defaults[endpoint.operation], **deployment.options, **body}
        kwargs["model"] = deployment.model
        kwargs["num_retries"] = 0  # the router retries, on another deployment where it can
        kwargs["timeout"] = (
            (deployment.stream_timeout or deployment.timeout) if stream else deployment.timeout
        )
        if stream:
            kwargs["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        return kwargs

    # ------------------------------------------------------------------ endpoints
    async def handle(self, request: Request, endpoint: Endpoint) -> Response:
        """One OpenAI POST endpoint, start to finish; every failure leaves as OpenAI's error JSON."""
        started = time.time()
        trail = self.telemetry.begin(request, endpoint)
        try:
            caller = await self.keys.aauthenticate(request.headers.get("authorization"))
            trail.authenticated(caller)
            body = await self._body(request)
            trail.named(body.get("model"), body)
            name = self._model(body, caller, endpoint)
            caller = await self.keys.admit(caller, defer=True)  # checked with the routing (one round trip)
        except APIError as exc:
            return trail.finish(error_response(exc), exc)
        except Exception as exc:
            return trail.finish(internal_error(request.url.path), exc)
        try:
            return trail.finish(await self._serve(request, endpoint, caller, name, body, started, trail))
        except APIError as exc:
            caller.done(0)
            self.account(caller, endpoint, name, started, error=exc)
            return trail.finish(error_response(exc), exc)
        except Exception as exc:
            caller.done(0)
            self.account(caller, endpoint, name, started, error=InternalServerError("internal error"))
            return trail.finish(internal_error(request.url.path), exc)

    async def _serve(
        self,
        request: Request,
        endpoint: Endpoint,
        caller: Caller,
        name: str,
        body: dict[str, Any],
        started: float = 0.0,
        trail: Any = NULL_TRAIL,
    ) -> Response:
        stream = endpoint.streams and bool(body.get("stream"))
        lookup, hit = await self.cache_read(endpoint.function, name, body, caller, stream)
        if hit is not None:
            assert lookup is not None
            return self._cached(hit.body, lookup, stream, body, caller, endpoint, name, started)

        async def invoke(deployment: Deployment) -> Any:
            kwargs = self._kwargs(deployment, endpoint, body, stream)
            try:
                return await self.send(endpoint, kwargs, stream)
            except APIError:
                raise
            except Exception as exc:  # not typed: the request's fault (400) if building it fails again
                raise replay_error(exc, endpoint.operation, kwargs) from None

        async with DisconnectGuard(request.receive) as guard:
            result, lease = await self.router.call(
                name, endpoint.operation, trail.wrap(invoke), caller if caller.pending else None
            )
        if guard.fired:  # the router released the deployment when the cancellation reached it
            self.disconnects += 1
            caller.done(0)
            self.account(caller, endpoint, name, started, error=client_closed())
            return Response(status_code=CLIENT_CLOSED)
        headers = {"x-vertexlate-deployment": lease.deployment.id}
        if stream:
            keep_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            if lookup is not None and lookup.write:
                result = self.recording(result, lookup)
            events = EventStream(result, lambda tokens: None, keep_usage, self.stop_streams, headers)
            events.on_close = self._closer(  # a stream that ended with an error event: a failure row
                lease,
                caller,
                lambda: self.account(caller, endpoint, name, started, events.final, lease, events.failed),
            )
            return events
        tokens = _tokens(result)
        lease.release(tokens)
        caller.done(tokens)
        cost = self.account(caller, endpoint, name, started, result, lease)
        if cost is not None:
            headers[COST_HEADER] = repr(cost)
        if endpoint.binary:
            return Response(result.content, media_type=result.media_type, headers=headers)
        reply = dumps(result)
        await self.cache_write(lookup, result, reply)
        return Response(reply, media_type=JSON, headers=headers)

    # ------------------------------------------------------------------ the response cache
    # One path for every cached endpoint (chat-like here, /v1/responses in dialects/responses.py):
    # cache_read before routing, cache_write / recording after, cached_marks on a hit.
    async def cache_read(
        self, call_type: str, name: str, body: dict[str, Any], caller: Caller, stream: bool
    ) -> tuple[Lookup | None, Any]:
        """Remove ``body``'s cache controls; the request's cache lookup and the entry that answers it, if any."""
        if self.cache is None:
            return None, None
        lookup = self.cache.lookup(call_type, name, body, self._cache_scope(caller))
        if lookup is not None and lookup.read:
            hit = await self.cache.get(lookup)
            if hit is not None and (hit.kind == "stream") == stream:
                self.telemetry.metrics.cache_hit(name, caller)
                await self.keys.settle(caller)
                return lookup, hit
            self.telemetry.metrics.cache_miss(name, caller)
        return lookup, None

    async def cache_write(self, lookup: Lookup | None, result: Any, reply: bytes) -> None:
        """Store a non-streamed ``reply`` the lookup may store; mark its result as not from the cache."""
        if lookup is None or self.cache is None:
            return
        hidden = getattr(result, "_hidden_params", None)
        if isinstance(hidden, dict):
            hidden["cache_hit"] = False
        if lookup.write:
            await self.cache.put(lookup, "json", reply)

    @staticmethod
    def cached_marks(lookup: Lookup) -> tuple[dict[str, str], dict[str, Any]]:
        """The headers and ``_hidden_params`` of a reply from the cache, as LiteLLM marks it."""
        from engine.proxy.shared.cache import CACHE_KEY_HEADER

        headers = {CACHE_KEY_HEADER: lookup.key, COST_HEADER: "0.0"}
        return headers, {"cache_hit": True, "cache_key": lookup.key, "response_cost": 0.0}

    def _cache_scope(self, caller: Caller) -> str:
        """Who may share cached replies with this caller (cache_params.scope; see engine/proxy/shared/cache.py)."""
        scope = self.cache.settings.scope if self.cache is not None else "key"
        if scope == "global":
            return ""
        if scope == "team" and caller.team_id:
            return f"team:{caller.team_id}"
        return f"key:{caller.token or caller.alias}"

    def recording(self, result: Any, lookup: Lookup) -> Any:
        from engine.proxy.shared.cache import Recording

        cache = self.cache
        assert cache is not None

        async def store(chunks: list[Any]) -> None:
            await cache.put(lookup, "stream", b"[" + b",".join(dumps(c) for c in chunks) + b"]")

        return Recording(result, store)

    def _cached(
        self,
        raw: bytes,
        lookup: Lookup,
        stream: bool,
        body: dict[str, Any],
        caller: Caller,
        endpoint: Endpoint,
        name: str,
        started: float,
    ) -> Response:
        """A reply from the cache: no deployment, no upstream call; marked as LiteLLM marks it."""
        from engine.proxy.shared.cache import replay
        from engine.types import OpenAIObject

        headers, hidden = self.cached_marks(lookup)
        if stream:
            chunks = json.loads(raw)
            final = next((c for c in reversed(chunks) if c.get("usage")), None)
            keep_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = EventStream(replay(chunks), lambda tokens: None, keep_usage, self.stop_streams, headers)
            result = OpenAIObject(final or {})
            result._hidden_params = hidden

            def close(tokens: int) -> None:
                caller.done(0)  # nothing reached the upstream: no tokens against the key's tpm
                self.account(caller, endpoint, name, started, result)

            events.on_close = close
            return events
        result = OpenAIObject(json.loads(raw))
        result._hidden_params = hidden
        caller.done(0)
        self.account(caller, endpoint, name, started, result)
        return Response(raw, media_type=JSON, headers=headers)

    @staticmethod
    def _closer(
        lease: Lease, caller: Caller, account: Callable[[], Any] | None = None
    ) -> Callable[[int], None]:
        def close(tokens: int) -> None:
            lease.release(tokens)
            caller.done(tokens)
            if account is not None:
                account()

        return close

    async def models(self, request: Request) -> Response:
        """``GET /v1/models``: the model names this key may use."""
        try:
            caller = await self.keys.aauthenticate(request.headers.get("authorization"))
        except APIError as exc:
            return error_response(exc)
        data = [self._model_card(name) for name in self.router.states if caller.allows(name)]
        return Response(dumps({"object": "list", "data": data}), media_type=JSON)

    async def model(self, request: Request) -> Response:
        """``GET /v1/models/{model}``."""
        try:
            caller = await self.keys.aauthenticate(request.headers.get("authorization"))
            name = request.path_params["model"]
            if name not in self.router.states or not caller.allows(name):
                raise NotFoundError(
                    f"model {short(name)} is not served by this proxy", param="model", code="model_not_found"
                )
        except APIError as exc:
            return error_response(exc)
        return Response(dumps(self._model_card(name)), media_type=JSON)

    def _model_card(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": self.created, "owned_by": "vertexlate"}

    async def liveliness(self, request: Request) -> Response:
        return Response(dumps("I'm alive!"), media_type=JSON)

    async def readiness(self, request: Request) -> Response:
        now = self.router.clock()
        cooling = [
            s.deployment.id for group in self.router.states.values() for s in group if s.cooldown_until > now
        ]
        status = "draining" if self.draining else "healthy"
        body = {
            "status": status,
            "model_names": len(self.router.states),
            "deployments": len(self.config.deployments),
            "cooling_down": cooling,
        }
        return Response(dumps(body), status_code=503 if self.draining else 200, media_type=JSON)
