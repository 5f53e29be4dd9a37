"""Traces: one server span per request, auth / route / attempt children, GenAI attributes, traceparent kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from engine.proxy import BackgroundProxy
from tests.proxy.conftest import MASTER_KEY, VISION
from tests.requires import need

need("opentelemetry.sdk")
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from engine.proxy.observability.tracing import Tracing  # noqa: E402

HELLO = [{"role": "user", "content": "hi"}]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.fixture
def traced(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> tuple[BackgroundProxy, InMemorySpanExporter]:
    proxy = start_proxy(
        {
            "model_list": [
                deployment("gemini-vision", VISION, project="proj-a"),
                deployment("gemini-vision", VISION, project="proj-b"),
            ],
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    proxy.proxy.telemetry.tracing = Tracing(provider)
    return proxy, exporter


def by_name(spans: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for span in spans:
        out.setdefault(span.name, []).append(span)
    return out


def test_request_span_with_children_and_incoming_trace(
    traced: tuple[BackgroundProxy, Any], emulator: Any
) -> None:
    proxy, exporter = traced
    emulator.script("gemini-1.0-pro-vision-001", [{"status": 503}])  # first attempt fails, second answers
    headers = {"authorization": f"Bearer {MASTER_KEY}", "traceparent": f"00-{TRACE_ID}-{PARENT}-01"}
    reply = httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": "gemini-vision", "messages": HELLO},
        headers=headers,
    )
    assert reply.status_code == 200
    spans = by_name(exporter.get_finished_spans())
    (root,) = spans["POST /v1/chat/completions"]
    (auth,) = spans["auth"]
    (route,) = spans["route"]
    attempts = spans["chat vertex_ai/gemini-1.0-pro-vision-001"]
    assert len(attempts) == 2
    assert format(root.context.trace_id, "032x") == TRACE_ID  # the caller's trace goes on
    assert format(root.parent.span_id, "016x") == PARENT
    assert auth.parent.span_id == root.context.span_id
    assert route.parent.span_id == root.context.span_id
    assert all(a.parent.span_id == route.context.span_id for a in attempts)
    assert {s.context.trace_id for group in spans.values() for s in group} == {root.context.trace_id}
    failed, served = sorted(attempts, key=lambda s: s.start_time)
    assert failed.attributes["http.response.status_code"] == 503
    assert failed.status.status_code.name == "ERROR"
    assert served.attributes["gen_ai.usage.input_tokens"] > 0
    assert served.attributes["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert served.kind.name == "CLIENT"
    assert root.kind.name == "SERVER"
    assert root.attributes["gen_ai.request.model"] == "gemini-vision"
    assert root.attributes["gen_ai.operation.name"] == "chat"
    assert root.attributes["gen_ai.usage.output_tokens"] > 0
    assert root.attributes["http.response.status_code"] == 200
    assert root.attributes["vertexlate.request_id"] == reply.headers["x-request-id"]


def test_stream_span_ends_with_the_stream(traced: tuple[BackgroundProxy, Any]) -> None:
    proxy, exporter = traced
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key=MASTER_KEY, max_retries=0)
    chunks = list(client.chat.completions.create(model="gemini-vision", messages=HELLO, stream=True))
    assert chunks
    (root,) = by_name(exporter.get_finished_spans())["POST /v1/chat/completions"]
    assert root.attributes["gen_ai.usage.output_tokens"] > 0  # known only at the stream's end
    assert root.attributes["vertexlate.time_to_first_token_s"] >= 0
    assert root.parent is None  # no traceparent: a new trace


def test_an_error_reply_marks_the_span(traced: tuple[BackgroundProxy, Any]) -> None:
    proxy, exporter = traced
    reply = httpx.post(proxy.url + "/v1/chat/completions", json={"model": "gemini-vision", "messages": HELLO})
    assert reply.status_code == 401
    spans = by_name(exporter.get_finished_spans())
    (root,) = spans["POST /v1/chat/completions"]
    assert root.status.status_code.name == "ERROR"
    assert root.attributes["http.response.status_code"] == 401
    assert "auth" not in spans and "route" not in spans


def test_otlp_http_export_from_the_environment(
    start_proxy: Callable[..., BackgroundProxy],
    deployment: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT alone turns traces on; spans reach an OTLP/HTTP receiver on loopback."""
    need("opentelemetry.exporter.otlp.proto.http")
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[tuple[str, str, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((self.path, self.headers["content-type"], body))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        proxy = start_proxy(
            {
                "model_list": [deployment("gemini-vision", VISION)],
                "general_settings": {"master_key": MASTER_KEY},
            }
        )
        assert proxy.proxy.telemetry.tracing is not None
        headers = {"authorization": f"Bearer {MASTER_KEY}", "traceparent": f"00-{TRACE_ID}-{PARENT}-01"}
        body = {"model": "gemini-vision", "messages": HELLO}
        assert httpx.post(proxy.url + "/v1/chat/completions", json=body, headers=headers).status_code == 200
        proxy.stop()  # shutdown flushes the batch processor
    finally:
        server.shutdown()
    assert received and all(path == "/v1/traces" for path, _, _ in received)
    assert received[0][1] == "application/x-protobuf"
    spans = []
    for _, _, raw in received:
        request = ExportTraceServiceRequest()
        request.ParseFromString(raw)
        for resource in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"]
            assert service == "vertexlate-proxy"
            spans += [s for scope in resource.scope_spans for s in scope.spans]
    names = {s.name for s in spans}
    assert {"POST /v1/chat/completions", "auth", "route"} <= names
    assert {s.trace_id.hex() for s in spans} == {TRACE_ID}
