"""A stream that ends with an error event is a failed request (and deployment call) in /metrics and an error span.

LiteLLM counts a request that failed after its stream began in its failure hook:
``litellm_proxy_failed_requests_metric`` with the error's status and class, and
``litellm_proxy_total_requests_metric`` with the error's status as ``status_code``
(litellm/integrations/prometheus.py, ``async_post_call_failure_hook``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from engine.proxy import BackgroundProxy
from tests.proxy.conftest import FLASH, MASTER_KEY, VISION
from tests.proxy.observability.test_metrics import samples, total
from tests.requires import need

need("opentelemetry.sdk")
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from engine.proxy.observability.tracing import Tracing  # noqa: E402

HELLO = [{"role": "user", "content": "hi"}]
AUTH = {"authorization": f"Bearer {MASTER_KEY}"}
REQUESTS = "litellm_proxy_total_requests_metric_total"
FAILED = "litellm_proxy_failed_requests_metric_total"
CUT = {"text": "one two three four five six seven eight", "cut_stream_after": 1}


@pytest.fixture
def observed(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> tuple[BackgroundProxy, InMemorySpanExporter]:
    proxy = start_proxy(
        {
            "model_list": [deployment("vision", VISION), deployment("flash", FLASH)],
            "litellm_settings": {"callbacks": ["prometheus"]},
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    proxy.proxy.telemetry.tracing = Tracing(provider)
    return proxy, exporter


def _stream(proxy: BackgroundProxy, model: str) -> list[str]:
    body = {"model": model, "messages": HELLO, "stream": True}
    with httpx.stream(
        "POST", proxy.url + "/v1/chat/completions", json=body, headers=AUTH, timeout=30
    ) as response:
        assert response.status_code == 200  # the stream began as a success
        return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def _root(exporter: InMemorySpanExporter, name: str) -> Any:
    (root,) = [s for s in exporter.get_finished_spans() if s.name == name]
    return root


@pytest.mark.parametrize("fault", [CUT, {"text": "hello there", "malformed_chunk": True}])
def test_chat_stream_ending_in_an_error_is_a_failure(
    observed: tuple[BackgroundProxy, InMemorySpanExporter], emulator: Any, fault: dict[str, Any]
) -> None:
    proxy, exporter = observed
    emulator.script("gemini-1.0-pro-vision-001", [fault])
    events = _stream(proxy, "vision")
    error = json.loads(events[-1])["error"]  # the error event the stream ended with
    assert error["message"]
    assert _stream(proxy, "vision")[-1] == "[DONE]"  # an unscripted stream succeeds
    found = samples(proxy)
    assert total(found, REQUESTS, requested_model="vision", status_code="200") == 1
    (failed,) = [s for s in found[FAILED] if s.labels["requested_model"] == "vision"]
    assert failed.value == 1
    status = failed.labels["exception_status"]
    assert status.isdigit() and int(status) >= 400
    assert failed.labels["exception_class"].endswith("Error")
    assert total(found, REQUESTS, requested_model="vision", status_code=status) == 1  # LiteLLM's total
    assert total(found, "litellm_request_total_latency_metric_count", requested_model="vision") == 2
    # the deployment's outcome is the stream's: the one that ended in an error event failed
    assert total(found, "litellm_deployment_total_requests_total", requested_model="vision") == 2
    assert total(found, "litellm_deployment_success_responses_total", requested_model="vision") == 1
    assert total(found, "litellm_deployment_failure_responses_total", requested_model="vision") == 1
    spans = [s for s in exporter.get_finished_spans() if s.name == "POST /v1/chat/completions"]
    assert sorted(s.status.status_code.name for s in spans) == ["ERROR", "UNSET"]
    failed_span = next(s for s in spans if s.status.status_code.name == "ERROR")
    assert failed_span.attributes["http.response.status_code"] == 200  # what the client received
    assert failed_span.attributes["error.type"] == failed.labels["exception_class"]


def test_anthropic_stream_ending_in_an_error_is_a_failure(
    observed: tuple[BackgroundProxy, InMemorySpanExporter], emulator: Any
) -> None:
    proxy, exporter = observed
    emulator.script("gemini-2.5-flash", [CUT])
    body = {"model": "flash", "max_tokens": 64, "messages": HELLO, "stream": True}
    with httpx.stream("POST", proxy.url + "/v1/messages", json=body, headers=AUTH, timeout=30) as response:
        assert response.status_code == 200
        lines = list(response.iter_lines())
    assert "event: error" in lines
    found = samples(proxy)
    assert total(found, REQUESTS, requested_model="flash", status_code="200") == 0
    assert total(found, FAILED, requested_model="flash") == 1
    assert total(found, "litellm_deployment_success_responses_total", requested_model="flash") == 0
    assert total(found, "litellm_deployment_failure_responses_total", requested_model="flash") == 1
    root = _root(exporter, "POST /v1/messages")
    assert root.status.status_code.name == "ERROR"


def test_end_user_label_is_off_by_default_and_on_as_litellm(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> None:
    def run(settings: dict[str, Any]) -> dict[str, Any]:
        proxy = start_proxy(
            {
                "model_list": [deployment("vision", VISION), deployment("flash", FLASH)],
                "litellm_settings": {"callbacks": ["prometheus"], **settings},
                "general_settings": {"master_key": MASTER_KEY},
            }
        )
        chat = {"model": "vision", "messages": HELLO, "user": "customer-7"}
        assert httpx.post(proxy.url + "/v1/chat/completions", json=chat, headers=AUTH).status_code == 200
        messages = {"model": "flash", "max_tokens": 8, "messages": HELLO, "metadata": {"user_id": "cust-9"}}
        assert httpx.post(proxy.url + "/v1/messages", json=messages, headers=AUTH).status_code == 200
        return samples(proxy)

    off = run({})
    assert {s.labels["end_user"] for s in off[REQUESTS]} == {""}
    on = run({"enable_end_user_cost_tracking_prometheus_only": True})
    assert total(on, REQUESTS, end_user="customer-7", requested_model="vision", status_code="200") == 1
    assert (
        total(on, REQUESTS, end_user="cust-9", requested_model="flash") == 1
    )  # Anthropic's metadata.user_id
    assert total(on, "litellm_input_tokens_metric_total", end_user="customer-7") > 0
    assert total(on, "litellm_llm_api_latency_metric_count", end_user="customer-7") == 1


def test_spend_rows_of_failed_streams_say_failure(
    start_proxy: Callable[..., BackgroundProxy],
    deployment: Callable[..., dict[str, Any]],
    emulator: Any,
    tmp_path: Any,
) -> None:
    proxy = start_proxy(
        {
            "model_list": [deployment("flash", FLASH)],
            "general_settings": {"master_key": MASTER_KEY, "database_url": f"sqlite:///{tmp_path / 's.db'}"},
        }
    )
    routes = {
        "/v1/chat/completions": {"model": "flash", "messages": HELLO, "stream": True},
        "/v1/messages": {"model": "flash", "max_tokens": 64, "messages": HELLO, "stream": True},
        "/v1/responses": {"model": "flash", "input": "hi", "stream": True},
    }
    for path, body in routes.items():
        outcome = {}
        for fault in ([CUT], []):  # a failed stream, then one that ends normally
            emulator.script("gemini-2.5-flash", fault)
            with httpx.stream("POST", proxy.url + path, json=body, headers=AUTH, timeout=30) as response:
                assert response.status_code == 200
                response.read()
                rid = response.headers["x-request-id"]
            (row,) = httpx.get(
                proxy.url + "/spend/logs", params={"request_id": rid}, headers=AUTH, timeout=10
            ).json()
            outcome["cut" if fault else "ok"] = (row["status"], row["metadata"]["error_type"])
        assert outcome["ok"] == ("success", None), path
        assert outcome["cut"][0] == "failure" and outcome["cut"][1], path


def test_careless_model_and_user_values_never_break_metrics(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> None:
    """A list as the model is the handler's 400 (not a 500 from the metrics' label check); an end user
    that cannot be a label (a lone surrogate, or very long) is not kept, so /metrics keeps working."""
    proxy = start_proxy(
        {
            "model_list": [deployment("vision", VISION), deployment("flash", FLASH)],
            "litellm_settings": {
                "callbacks": ["prometheus"],
                "enable_end_user_cost_tracking_prometheus_only": True,
            },
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    for path, body in (
        ("/v1/chat/completions", {"model": ["vision"], "messages": HELLO}),
        ("/v1/messages", {"model": {"x": 1}, "max_tokens": 8, "messages": HELLO}),
        ("/v1/responses", {"model": ["flash"], "input": "hi"}),
    ):
        reply = httpx.post(proxy.url + path, json=body, headers=AUTH, timeout=30)
        assert reply.status_code == 400, (path, reply.text)
    for user in ("\ud800", "u" * 500):
        raw = json.dumps({"model": "vision", "messages": HELLO, "user": user})  # "\ud800" stays an escape
        reply = httpx.post(
            proxy.url + "/v1/chat/completions",
            content=raw,
            headers={**AUTH, "content-type": "application/json"},
        )
        assert reply.status_code == 200
    scrape = httpx.get(proxy.url + "/metrics", headers=AUTH, timeout=30)
    assert scrape.status_code == 200
    assert {
        s.labels["end_user"] for s in samples(proxy)[REQUESTS] if s.labels["requested_model"] == "vision"
    } == {""}


def test_pass_through_requests_are_counted(
    start_proxy: Callable[..., BackgroundProxy],
    deployment: Callable[..., dict[str, Any]],
    emulator: Any,
    service_account: dict[str, Any],
) -> None:
    proxy = start_proxy(
        {
            "model_list": [deployment("flash", FLASH)],
            "default_vertex_config": {
                "vertex_project": "proj-default",
                "vertex_location": "us-central1",
                "vertex_credentials": service_account,
                "api_base": emulator.url,
            },
            "litellm_settings": {"callbacks": ["prometheus"]},
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    path = "/vertex_ai/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    assert httpx.post(proxy.url + path + ":generateContent", json=body, headers=AUTH).status_code == 200
    assert httpx.post(proxy.url + path + ":noSuchMethod", json=body, headers=AUTH).status_code == 404
    found = samples(proxy)
    assert total(found, REQUESTS, status_code="200") == 1
    assert total(found, REQUESTS, status_code="404") == 1
