"""Every route writes a spend row: the dialects (/v1/messages, /v1/responses), the Vertex AI pass-through
and the files/batches/fine-tuning routes, through the same accounting as chat.

The official ``anthropic`` and ``openai`` clients and ``google-genai`` call a proxy whose
key comes from ``/key/generate``; the key's spend in ``/key/info`` must equal the sum of the
``x-litellm-response-cost`` headers it received.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import openai
import pytest

from engine.proxy import BackgroundProxy
from engine.proxy.store.records import hash_key
from tests.proxy.conftest import MASTER_KEY, FakeClock

MASTER = {"authorization": f"Bearer {MASTER_KEY}"}
COST = "x-litellm-response-cost"
HELLO = [{"role": "user", "content": "Hello, Claude"}]


def admin(proxy: BackgroundProxy, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, proxy.url + path, headers=MASTER, timeout=30, **kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # rate windows on the proxy's clock: no minute boundary in mid-test


@pytest.fixture
def proxy(
    database_url: str,  # first: torn down (schema dropped) after the proxy has stopped
    start_proxy: Callable[..., BackgroundProxy],
    deployment: Callable[..., dict[str, Any]],
    emulator: Any,
    service_account: dict[str, Any],
    clock: FakeClock,
) -> BackgroundProxy:
    return start_proxy(
        {
            "model_list": [
                deployment("claude", "vertex_ai/claude-sonnet-4@20250514", location="us-east5"),
                deployment("gemini", "vertex_ai/gemini-2.5-flash"),
            ],
            "default_vertex_config": {
                "vertex_project": "proj-default",
                "vertex_location": "us-central1",
                "vertex_credentials": service_account,
                "api_base": emulator.url,
            },
            "general_settings": {"master_key": MASTER_KEY, "database_url": database_url},
        },
        clock=clock,
    )


def _key(proxy: BackgroundProxy) -> str:
    return str(admin(proxy, "POST", "/key/generate", json={"max_budget": 10.0}).json()["key"])


def _logs(proxy: BackgroundProxy, key: str) -> list[dict[str, Any]]:
    rows = admin(proxy, "GET", "/spend/logs", params={"api_key": key}).json()  # flushes the writer
    assert isinstance(rows, list)
    return rows


@pytest.mark.parametrize("name", ["claude", "gemini"])
def test_messages_spend_equals_the_cost_headers(proxy: BackgroundProxy, name: str) -> None:
    key = _key(proxy)
    client = anthropic.Anthropic(api_key=key, base_url=proxy.url, max_retries=0)
    costs = []
    for _ in range(2):
        raw = client.messages.with_raw_response.create(model=name, max_tokens=64, messages=HELLO)
        assert raw.parse().usage.output_tokens > 0
        costs.append(float(raw.headers[COST]))
    with client.messages.stream(model=name, max_tokens=64, messages=HELLO) as stream:
        assert stream.get_final_message().usage.output_tokens > 0
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model=name, max_tokens=64, messages=HELLO, extra_body={"temperature": 5})
    client.messages.count_tokens(model=name, messages=HELLO)

    rows = _logs(proxy, key)
    assert [r["status"] for r in rows] == ["success", "success", "success", "failure", "success"]
    assert {r["call_type"] for r in rows} == {"aanthropic_messages", "aanthropic_count_tokens"}
    one, two, streamed, failed, counted = rows
    assert all(c > 0 for c in costs) and one["spend"] == pytest.approx(costs[0])
    assert one["model_group"] == name and one["api_key"] == hash_key(key)
    assert one["prompt_tokens"] > 0 and one["completion_tokens"] > 0
    assert streamed["spend"] > 0 and streamed["completion_tokens"] > 0 and streamed["metadata"]["cost_known"]
    assert failed["metadata"]["error_type"] == "invalid_request_error" and failed["spend"] == 0
    assert counted["metadata"]["cost_known"] is False  # counting tokens is free: no price, no figure
    spend = admin(proxy, "GET", "/key/info", params={"key": key}).json()["info"]["spend"]
    assert spend == pytest.approx(sum(costs) + streamed["spend"], rel=1e-9)


def test_responses_spend_equals_the_cost_headers(proxy: BackgroundProxy) -> None:
    key = _key(proxy)
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)
    raw = client.responses.with_raw_response.create(model="gemini", input="Hello there")
    cost = float(raw.headers[COST])
    events = list(client.responses.create(model="gemini", input="Hello again", stream=True))
    assert events[-1].type == "response.completed"

    rows = _logs(proxy, key)
    assert [(r["call_type"], r["status"]) for r in rows] == [("aresponses", "success")] * 2
    assert rows[0]["spend"] == pytest.approx(cost) and rows[0]["prompt_tokens"] > 0
    assert rows[1]["spend"] > 0 and rows[1]["total_tokens"] > 0
    spend = admin(proxy, "GET", "/key/info", params={"key": key}).json()["info"]["spend"]
    assert spend == pytest.approx(cost + rows[1]["spend"], rel=1e-9)


def test_pass_through_writes_rows_without_a_price(proxy: BackgroundProxy) -> None:
    key = _key(proxy)
    path = "/vertex_ai/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash"
    body = {"contents": [{"role": "user", "parts": [{"text": "Why is the sky blue?"}]}]}
    headers = {"authorization": f"Bearer {key}"}
    ok = httpx.post(proxy.url + path + ":generateContent", json=body, headers=headers, timeout=30)
    assert ok.status_code == 200
    missing = httpx.post(proxy.url + path + ":noSuchMethod", json=body, headers=headers, timeout=30)
    assert missing.status_code == 404, missing.text

    rows = _logs(proxy, key)
    assert [r["status"] for r in rows] == ["success", "failure"]
    assert {r["call_type"] for r in rows} == {"pass_through_endpoint"}
    assert rows[0]["model_group"] == "gemini-2.5-flash" and rows[0]["prompt_tokens"] > 0
    assert rows[0]["total_tokens"] > 0 and rows[0]["metadata"]["cost_known"] is False
    assert rows[1]["metadata"]["error_type"] == "not_found_error"


def test_a_pass_through_stream_cut_mid_way_is_a_failure_row(proxy: BackgroundProxy, emulator: Any) -> None:
    key = _key(proxy)
    emulator.script("gemini-2.5-flash", [{"text": "one two three four five six", "cut_stream_after": 1}])
    url = (
        proxy.url + "/vertex_ai/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash"
    )
    body = {"contents": [{"role": "user", "parts": [{"text": "Why is the sky blue?"}]}]}
    headers = {"authorization": f"Bearer {key}"}
    received = b""
    stream = httpx.stream(
        "POST", url + ":streamGenerateContent?alt=sse", json=body, headers=headers, timeout=30
    )
    with pytest.raises(httpx.RemoteProtocolError), stream as reply:  # the client's copy is cut as well
        assert reply.status_code == 200
        for chunk in reply.iter_raw():
            received += chunk
    assert received.startswith(b"data: ")  # the first event was relayed before the cut

    (row,) = _logs(proxy, key)
    assert row["status"] == "failure" and row["call_type"] == "pass_through_endpoint"
    assert row["metadata"]["error_type"] == "api_connection_error"


def test_resource_routes_write_rows(proxy: BackgroundProxy) -> None:
    key = _key(proxy)
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.APIStatusError):
        client.batches.retrieve("no-such-batch")
    rows = _logs(proxy, key)
    assert [(r["call_type"], r["status"]) for r in rows] == [("aretrieve_batch", "failure")]
    assert rows[0]["metadata"]["error_type"]


def test_limits_answer_429_with_retry_after_on_every_route(proxy: BackgroundProxy, clock: FakeClock) -> None:
    made = admin(proxy, "POST", "/key/generate", json={"rpm_limit": 1}).json()["key"]
    client = anthropic.Anthropic(api_key=made, base_url=proxy.url, max_retries=0)
    client.messages.create(model="gemini", max_tokens=16, messages=HELLO)
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(model="gemini", max_tokens=16, messages=HELLO)
    assert limited.value.body["error"]["type"] == "rate_limit_error"
    assert 1 <= int(limited.value.response.headers["retry-after"]) <= 60
    path = "/vertex_ai/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash"
    reply = httpx.post(
        proxy.url + path + ":generateContent",
        json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        headers={"authorization": f"Bearer {made}"},
        timeout=30,
    )
    assert reply.status_code == 429 and reply.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert 1 <= int(reply.headers["retry-after"]) <= 60
    clock.advance(60)
    client.messages.create(model="gemini", max_tokens=16, messages=HELLO)
