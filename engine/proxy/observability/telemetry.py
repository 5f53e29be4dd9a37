"""Per-request bookkeeping that feeds the metrics and the trace: one :class:`Trail` per request.

Why one object: the request path (``Proxy.handle``) calls a handful of hooks on it
(``authenticated``, ``named``, ``wrap``, ``finish``) and stays ignorant of Prometheus and
OpenTelemetry; with both off every hook is a method of :data:`NULL_TRAIL` that does nothing.
A streamed reply finishes its trail when the stream closes, so latency, tokens and the
request span cover the whole stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from engine.proxy.observability import request_id
from engine.proxy.observability.metrics import Metrics, NullMetrics

log = logging.getLogger("vertexlate.proxy")

CURRENT: ContextVar[Any] = ContextVar("vertexlate_trail", default=None)
PENDING: ContextVar[Any] = ContextVar("vertexlate_pending_trail", default=None)  # (perf, ns, scope)


def _usage(result: Any) -> tuple[Any, float | None]:
    """The usage dict and cost of a reply (or a stream's final chunk), as the spend log reads them."""
    usage = result.get("usage") if isinstance(result, dict) else None
    hidden = getattr(result, "_hidden_params", None) or {}
    return usage, hidden.get("response_cost")


MAX_END_USER = 128  # characters of an end_user label; a longer or unencodable one is not kept


def end_user_of(body: dict[str, Any]) -> str:
    """The end user a request names, where LiteLLM looks (``user``, else Anthropic's ``metadata.user_id``)."""
    user = body.get("user")
    if user is None:
        metadata = body.get("metadata")
        user = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user, bool) or not isinstance(user, (str, int)):
        return ""  # no dict labels
    text = str(user)
    # A label must encode (a lone surrogate would break every later /metrics scrape) and stay short.
    if len(text) > MAX_END_USER or not text.isprintable():
        return ""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return ""
    return text


class NullTrail:
    """Telemetry off: every hook does nothing (``wrap`` hands back the call it was given)."""

    def authenticated(self, caller: Any) -> None: ...
    def named(self, name: Any, body: Any = None) -> None: ...

    def wrap(self, invoke: Any) -> Any:
        return invoke

    def finish(self, response: Any, error: Any = None) -> Any:
        return response


NULL_TRAIL = NullTrail()


class Trail(NullTrail):
    """What one request did: who called, which group and deployment served it, and how it ended."""

    __slots__ = ("telemetry", "started", "caller", "name", "deployment", "usage", "cost", "attempt_start",
                 "span", "route", "operation", "failed", "end_user", "streaming")  # fmt: skip

    def __init__(
        self, telemetry: Telemetry, request: Any, endpoint: Any, started: tuple[float, int] | None = None
    ) -> None:
        self.telemetry = telemetry
        self.started = time.perf_counter() if started is None else started[0]
        self.caller: Any = None
        self.name: str | None = None
        self.deployment: Any = None
        self.usage: Any = None
        self.cost: float | None = None
        self.attempt_start = 0.0
        self.route: Any = None
        self.operation = getattr(endpoint, "operation", "")
        self.failed: Any = None  # the error a dialect's stream ended with (set by its DialectStream)
        self.end_user = ""  # the request's end user, when telemetry.end_user asks for that label
        self.streaming = False  # the last attempt opened a stream: its outcome is counted when it ends
        tracing = telemetry.tracing
        self.span: Any = None
        if tracing is not None:
            self.span = tracing.start_request(
                request.method,
                request.url.path,
                request.headers,
                self.operation,
                request_id.current() or "",
                None if started is None else started[1],
            )
            if not self.span.is_recording():  # not sampled: no child spans either (the SDK's no-op span)
                self.span = None
        CURRENT.set(self)

    def authenticated(self, caller: Any) -> None:
        self.caller = caller
        if self.span is not None:
            tracing = self.telemetry.tracing
            start = getattr(self.span, "start_time", None)  # auth comes first (None: a span not sampled)
            auth = tracing.child(self.span, "auth", start)
            auth.set_attribute("vertexlate.key_alias", caller.alias)
            auth.end()

    def named(self, name: Any, body: Any = None) -> None:
        """The requested model group; a name the proxy does not serve is not kept (no label per typo).

        ``body`` (the request's JSON) gives the ``end_user`` label when that label is switched on.
        """
        if self.telemetry.end_user and isinstance(body, dict):
            self.end_user = end_user_of(body)
        if not isinstance(name, str) or name not in self.telemetry.groups:
            return  # (a list or dict is the handler's 400 to give, not a label)
        self.name = name
        if self.span is not None:
            self.span.set_attribute("gen_ai.request.model", name)

    def wrap(self, invoke: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
        """``invoke`` timed per upstream attempt (metrics, a CLIENT span each under one routing span)."""
        tracing = self.telemetry.tracing
        metrics = self.telemetry.metrics
        if self.span is None:
            tracing = None  # telemetry without traces, or this request's trace not sampled
        if tracing is not None:
            self.route = tracing.child(
                self.span, "route", attributes={"gen_ai.request.model": self.name or ""}
            )

        async def attempt(deployment: Any) -> Any:
            span = None
            if tracing is not None:
                operation = tracing.operation(self.operation)
                attributes = {
                    "gen_ai.operation.name": operation,
                    "gen_ai.provider.name": tracing.provider_name,
                    "gen_ai.request.model": deployment.model,
                    "vertexlate.deployment": deployment.id,
                }
                span = tracing.child(
                    self.route, f"{operation} {deployment.model}", client=True, attributes=attributes
                )
            start = time.perf_counter()
            try:
                result = await invoke(deployment)
            except BaseException as exc:
                metrics.attempt(
                    self.caller, self.name or "", deployment, time.perf_counter() - start, exc, self.end_user
                )
                if span is not None:
                    tracing.fail(span, exc)
                    span.end()
                raise
            self.deployment, self.attempt_start = deployment, start
            if not isinstance(result, dict) and hasattr(result, "__aiter__"):
                # A stream: the deployment answered, but whether it served the request is known
                # when the stream ends (an error event mid-way is a failure, as LiteLLM counts it).
                self.streaming = True
            else:
                metrics.attempt(
                    self.caller, self.name or "", deployment, time.perf_counter() - start, None, self.end_user
                )
            usage, self.cost = _usage(result)
            if isinstance(usage, dict):
                self.usage = usage
                if span is not None:
                    _tokens(span, usage)
            if span is not None:
                span.end()
            return result

        return attempt

    def end_route(self, error: Any = None) -> None:
        if self.route is not None:
            if error is not None:
                self.telemetry.tracing.fail(self.route, error)
            self.route.end()
            self.route = None

    def finish(self, response: Any, error: Any = None) -> Any:
        """The handler's reply is ready: record it now, or when the stream it starts has closed."""
        self.end_route(error)
        close = getattr(response, "on_close", None)
        if close is not None and error is None:  # a stream: finish when it ends

            def on_close(tokens: int) -> None:
                close(tokens)
                self._stream_closed(response)

            response.on_close = on_close
            return response
        self._done(response.status_code, error)
        return response

    def _stream_closed(self, response: Any) -> None:
        final = getattr(response, "final", None)
        if final is not None:
            self.usage, cost = _usage(final)
            self.cost = cost if cost is not None else self.cost
        first = getattr(response, "first_chunk_at", None)
        if first is not None and self.deployment is not None:
            self.telemetry.metrics.first_token(
                self.caller, self.name or "", self.deployment, first - self.attempt_start, self.end_user
            )
            if self.span is not None:
                self.span.set_attribute("vertexlate.time_to_first_token_s", first - self.attempt_start)
        self._done(200, getattr(response, "failed", None))  # a stream that ended with an error event

    def _done(self, status: int, error: Any) -> None:
        """The request ended with HTTP ``status``; ``error``: how it failed (also after a 200 stream began).

        A stream that started as a 200 and ended with an error event counts as that error, as LiteLLM
        counts it (its failure hook: ``litellm_proxy_failed_requests_metric``, and the total with the
        error's status as ``status_code``); the span keeps the 200 the client received, marked as error.
        """
        label = status
        if error is not None and status < 400:
            label = int(getattr(error, "status_code", None) or 500)
        if self.streaming:  # the stream's deployment attempt, counted now that the outcome is known
            self.streaming = False
            try:
                self.telemetry.metrics.attempt(
                    self.caller, self.name or "", self.deployment,
                    time.perf_counter() - self.attempt_start, error, self.end_user,
                )  # fmt: skip
            except Exception:
                log.exception("metrics: recording an attempt failed")
        try:
            self.telemetry.metrics.request_finished(
                self.caller, self.name, self.deployment, label, error,
                time.perf_counter() - self.started, self.usage, self.cost, self.end_user,
            )  # fmt: skip
        except Exception:  # telemetry must never fail a request
            log.exception("metrics: recording a request failed")
        span = self.span
        if span is not None:
            if self.deployment is not None:
                span.set_attribute("gen_ai.response.model", self.deployment.model)
                span.set_attribute("vertexlate.deployment", self.deployment.id)
            if isinstance(self.usage, dict):
                _tokens(span, self.usage)
            if error is not None or status >= 500:
                self.telemetry.tracing.fail(span, error if error is not None else RuntimeError(str(status)))
            span.set_attribute("http.response.status_code", status)  # after fail(): the status sent
            span.end()


def _tokens(span: Any, usage: dict[str, Any]) -> None:
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(prompt, int):
        span.set_attribute("gen_ai.usage.input_tokens", prompt)
    if isinstance(completion, int):
        span.set_attribute("gen_ai.usage.output_tokens", completion)


class Telemetry:
    """The proxy's metrics and tracer, and the router's hooks (cooldowns, retries, fallbacks)."""

    def __init__(
        self,
        metrics: NullMetrics | None = None,
        tracing: Any = None,
        groups: Any = frozenset(),
        end_user: bool = False,
    ) -> None:
        self.metrics = metrics if metrics is not None else NullMetrics()
        self.tracing = tracing
        self.groups = frozenset(groups)  # the model groups served: the only requested_model values kept
        # the end_user label from the request (LiteLLM's enable_end_user_cost_tracking_prometheus_only;
        # off by default, as LiteLLM's: one series per end user would be a cardinality explosion)
        self.end_user = end_user

    @property
    def active(self) -> bool:
        return self.metrics.enabled or self.tracing is not None

    def begin(self, request: Any, endpoint: Any) -> NullTrail:
        """A trail for one request (:data:`NULL_TRAIL` when metrics and traces are both off)."""
        if not self.metrics.enabled and self.tracing is None:
            return NULL_TRAIL
        return Trail(self, request, endpoint)

    # ------------------------------------------------------------------ the dialect endpoints
    # /v1/messages, /v1/responses, /vertex_ai/... run through Starlette, not Proxy.handle: the app
    # marks each such request pending (:meth:`watch`), the dialect's model check adopts it
    # (:meth:`adopt`), and the reply's own ASGI messages finish it (status, end of the body or stream).
    def watch(self, scope: Any, send: Any) -> Any:
        """``send`` that finishes the request's trail, if a dialect adopted one, when the reply ends."""
        PENDING.set((time.perf_counter(), time.time_ns(), scope))
        state = {"status": 200}

        async def sending(message: Any) -> None:
            trail = CURRENT.get()
            if trail is not None and message["type"] == "http.response.start":
                state["status"] = message["status"]
                trail.end_route()
            await send(message)
            if trail is not None and message["type"] == "http.response.body" and not message.get("more_body"):
                CURRENT.set(None)
                trail._done(state["status"], trail.failed)

        return sending

    def adopt(self, caller: Any, name: Any, body: Any = None) -> NullTrail:
        """The trail of the dialect request being handled (its caller and model group now known)."""
        pending = PENDING.get()
        if pending is None or not self.active:
            return NULL_TRAIL
        PENDING.set(None)
        from starlette.requests import Request

        from engine.proxy.operations import CHAT

        trail = Trail(self, Request(pending[2]), CHAT, (pending[0], pending[1]))
        trail.authenticated(caller)
        trail.named(name, body)
        return trail

    # the router's hooks (engine/proxy/router.py); the request's caller comes from its trail
    def cooled_down(self, deployment: Any, error: Any) -> None:
        self.metrics.cooled_down(deployment, error)

    def retry(self, requested: str) -> None:
        self.metrics.retry(requested)

    def fallback(self, requested: str, fallback: str, error: Any, ok: bool) -> None:
        trail = CURRENT.get()
        self.metrics.fallback(getattr(trail, "caller", None), requested, fallback, error, ok)

    def shutdown(self) -> None:
        if self.tracing is not None:
            self.tracing.shutdown()


def build(callbacks: tuple[str, ...] | list[str] = (), groups: Any = (), end_user: bool = False) -> Telemetry:
    """Telemetry as the config and environment ask: metrics with ``prometheus`` in the callbacks,
    traces when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set or ``otel`` is a callback.

    A missing package turns its half off with a warning that names the package; it never stops the proxy.
    """
    metrics: NullMetrics | None = None
    tracing = None
    if "prometheus" in callbacks:
        try:
            metrics = Metrics()
        except ImportError:
            log.warning(
                "metrics are off: prometheus_client is not installed (pip install 'vertexlate[proxy]')"
            )
    from engine.proxy.observability.tracing_switch import wanted

    if wanted(callbacks):
        try:
            from engine.proxy.observability.tracing import Tracing

            tracing = Tracing()
        except ImportError:
            log.warning(
                "traces are off: the OpenTelemetry SDK is not installed (pip install 'vertexlate[otel]')"
            )
    return Telemetry(metrics, tracing, groups, end_user)
