"""OpenTelemetry traces: a server span per proxy request, with auth, routing and upstream-attempt children.

Only imported when tracing is on (``OTEL_EXPORTER_OTLP_ENDPOINT`` set, or ``otel`` in
``litellm_settings.callbacks``), so a proxy without tracing never loads the SDK.

Attributes follow the OpenTelemetry GenAI semantic conventions
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/): ``gen_ai.operation.name``,
``gen_ai.provider.name`` (``gcp.vertex_ai``, the registry's value for Vertex AI; it replaced
``gen_ai.system``), ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.usage.input_tokens`` / ``output_tokens``; attempt spans are CLIENT spans named
``"{operation} {model}"`` as the conventions ask. The incoming W3C ``traceparent`` is the parent.

Spans are started and ended explicitly (never made "current"), because a streamed reply ends
after the handler has returned; nothing depends on context attach/detach across awaits.
"""

from __future__ import annotations

import os
import time
from typing import Any

PROVIDER = "gcp.vertex_ai"
SERVICE = "vertexlate-proxy"
# engine operations -> gen_ai.operation.name (the conventions' well-known values; others pass through)
OPERATIONS = {"chat": "chat", "text_completion": "text_completion", "embedding": "embeddings"}


def provider_from_env() -> Any:
    """A tracer provider exporting over OTLP/HTTP; the exporter reads the standard OTEL_* variables."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


class Tracing:
    """The proxy's tracer; ``provider`` is the SDK's ``TracerProvider`` (tests pass one with an in-memory exporter)."""

    def __init__(self, provider: Any = None) -> None:
        from opentelemetry import trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.owned = provider is None  # ours to shut down (flush) when the proxy stops
        self.provider = provider if provider is not None else provider_from_env()
        self.tracer = self.provider.get_tracer("vertexlate.proxy")
        self.propagator = TraceContextTextMapPropagator()
        self._trace = trace
        self.kind = trace.SpanKind
        self.status = trace.Status
        self.error_code = trace.StatusCode.ERROR

    def start_request(
        self,
        method: str,
        path: str,
        headers: Any,
        operation: str,
        request_id: str,
        start_ns: int | None = None,
    ) -> Any:
        """The SERVER span of one request, a child of the incoming ``traceparent`` when there is one."""
        carrier = {"traceparent": headers.get("traceparent")} if headers.get("traceparent") else {}
        if carrier and headers.get("tracestate"):
            carrier["tracestate"] = headers.get("tracestate")
        parent = self.propagator.extract(carrier) if carrier else None
        attributes = {
            "http.request.method": method,
            "url.path": path,
            "gen_ai.operation.name": self.operation(operation),
            "gen_ai.provider.name": PROVIDER,
            "vertexlate.request_id": request_id,
        }
        return self.tracer.start_span(
            f"{method} {path}",
            context=parent,
            kind=self.kind.SERVER,
            attributes=attributes,
            start_time=start_ns,
        )

    provider_name = PROVIDER

    @staticmethod
    def operation(function: str) -> str:
        """``gen_ai.operation.name`` for an endpoint's engine function."""
        return OPERATIONS.get(function, function)

    def child(
        self,
        parent: Any,
        name: str,
        start_ns: int | None = None,
        client: bool = False,
        attributes: dict[str, Any] | None = None,
    ) -> Any:
        context = self._trace.set_span_in_context(parent)
        kind = self.kind.CLIENT if client else self.kind.INTERNAL
        return self.tracer.start_span(
            name, context=context, kind=kind, start_time=start_ns, attributes=attributes
        )

    def fail(self, span: Any, error: Any) -> None:
        status = getattr(error, "status_code", None)
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        span.set_attribute("error.type", type(error).__name__)
        span.set_status(self.status(self.error_code, str(getattr(error, "message", ""))[:200]))

    def shutdown(self) -> None:
        if self.owned:
            self.provider.shutdown()


def now_ns() -> int:
    return time.time_ns()
