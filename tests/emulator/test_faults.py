"""Injected faults reach clients exactly as Google (or the partner API) would send them.

Error bodies: google.rpc.Status JSON mapping (https://cloud.google.com/apis/design/errors);
429 with Retry-After as Vertex sends for quota errors
(https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429).
"""

from __future__ import annotations

import builtins
import json

import anthropic
import httpx
import openai
import pytest

from engine.emulator import Emulator

from .helpers import model_path, parent_path, sse_data, user

MODEL = "gemini-2.0-flash-001"
CLAUDE = "claude-sonnet-4@20250514"
LLAMA = "meta/llama3-405b-instruct-maas"
CLAUDE_BODY = {
    "anthropic_version": "vertex-2023-10-16",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hello, Claude"}],
}


@pytest.mark.parametrize(
    ("status", "name"), [(429, "RESOURCE_EXHAUSTED"), (500, "INTERNAL"), (503, "UNAVAILABLE")]
)
def test_status_faults_in_google_format(
    emulator: Emulator, client: httpx.Client, status: int, name: str
) -> None:
    emulator.script(MODEL, [{"status": status}])
    response = client.post(model_path(MODEL, "generateContent"), json=user("x"))
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (status, name) and error["message"]
    assert client.post(model_path(MODEL, "generateContent"), json=user("x")).status_code == 200


def test_429_carries_retry_after(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(MODEL, [{"status": 429, "retry_after": 1}])
    response = client.post(model_path(MODEL, "streamGenerateContent"), params={"alt": "sse"}, json=user("x"))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert "error-code-429" in response.json()["error"]["message"]


def test_delay_keeps_content(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(MODEL, [{"delay_ms": 50, "text": "late"}])
    response = client.post(model_path(MODEL, "generateContent"), json=user("x"))
    assert response.json()["candidates"][0]["content"]["parts"] == [{"text": "late"}]


def test_delay_beyond_client_timeout_times_out(emulator: Emulator, token: str) -> None:
    emulator.script(MODEL, [{"delay_ms": 1500}])
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            emulator.url + model_path(MODEL, "generateContent"),
            json=user("x"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(5, read=0.1),
        )


def test_cut_stream_after_n_events(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(MODEL, [{"cut_stream_after": 2}])
    received = []
    request = {"params": {"alt": "sse"}, "json": user("one two three four five six seven eight nine")}
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", model_path(MODEL, "streamGenerateContent"), **request) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                received.append(json.loads(line[len("data: ") :]))
    assert len(received) == 2
    assert all("finishReason" not in chunk["candidates"][0] for chunk in received)


def test_malformed_chunk_is_one_non_json_event(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(MODEL, [{"malformed_chunk": True}])
    response = client.post(
        model_path(MODEL, "streamGenerateContent"), params={"alt": "sse"}, json=user("a b c d e")
    )
    payloads = sse_data(response.text, "\r\n\r\n")
    broken = []
    for payload in payloads:
        try:
            json.loads(payload)
        except ValueError:
            broken.append(payload)
    assert len(broken) == 1 and len(payloads) >= 3


def test_raw_stream_events(emulator: Emulator, client: httpx.Client) -> None:
    events = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "raw"}]}, "finishReason": "STOP"}]},
        "ping",
    ]
    emulator.script(MODEL, [{"stream_events": events}])
    response = client.post(model_path(MODEL, "streamGenerateContent"), params={"alt": "sse"}, json=user("x"))
    assert response.text == f"data: {json.dumps(events[0])}\r\n\r\ndata: ping\r\n\r\n"


def test_fault_script_over_http_control_api(emulator: Emulator, client: httpx.Client) -> None:
    queued = httpx.post(
        f"{emulator.url}/emulator/script", json={"model": MODEL, "responses": [{"status": 503}]}
    )
    assert queued.json() == {"queued": 1}
    assert client.post(model_path(MODEL, "generateContent"), json=user("x")).status_code == 503
    assert httpx.post(f"{emulator.url}/emulator/script", json={"model": MODEL}).status_code == 400


def test_anthropic_sdk_sees_rate_limit(emulator: Emulator, token: str) -> None:
    emulator.script(CLAUDE, [{"status": 429, "retry_after": 0}])
    claude = anthropic.AnthropicVertex(
        region="us-east5", project_id="p", access_token=token, base_url=f"{emulator.url}/v1", max_retries=0
    )
    with pytest.raises(anthropic.RateLimitError) as caught:
        claude.messages.create(
            model=CLAUDE,
            max_tokens=64,
            messages=CLAUDE_BODY["messages"],
            extra_body={"anthropic_version": "vertex-2023-10-16"},
        )
    assert caught.value.status_code == 429
    assert caught.value.body["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_anthropic_stream_cut(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(CLAUDE, [{"cut_stream_after": 3}])
    seen = []
    path = model_path(CLAUDE, "streamRawPredict", publisher="anthropic")
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", path, json={**CLAUDE_BODY, "stream": True}) as response,
    ):
        seen.extend(line for line in response.iter_lines() if line.startswith("event: "))
    assert seen == ["event: message_start", "event: content_block_start", "event: ping"]


def test_openai_sdk_retries_after_429_then_succeeds(emulator: Emulator, token: str) -> None:
    emulator.script(LLAMA, [{"status": 429, "retry_after": 0}])
    llama = openai.OpenAI(
        base_url=f"{emulator.url}{parent_path()}/endpoints/openapi", api_key=token, max_retries=1
    )
    answer = llama.chat.completions.create(model=LLAMA, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "Echo: hi"
    assert len(emulator.requests(LLAMA)) == 2


def test_openai_sdk_sees_server_error(emulator: Emulator, token: str) -> None:
    emulator.script(LLAMA, [{"status": 500}])
    llama = openai.OpenAI(
        base_url=f"{emulator.url}{parent_path()}/endpoints/openapi", api_key=token, max_retries=0
    )
    with pytest.raises(openai.InternalServerError):
        llama.chat.completions.create(model=LLAMA, messages=[{"role": "user", "content": "hi"}])


def test_openai_stream_malformed_chunk(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(LLAMA, [{"malformed_chunk": True}])
    response = client.post(
        f"{parent_path()}/endpoints/openapi/chat/completions",
        json={"model": LLAMA, "stream": True, "messages": [{"role": "user", "content": "a b c"}]},
    )
    payloads = sse_data(response.text)
    assert payloads[-1] == "[DONE]"
    broken = [p for p in payloads[:-1] if not p.startswith("{") or not p.endswith("}")]
    assert len(broken) == 1


def test_the_quiet_cut_filter_survives_a_looping_exception_chain() -> None:
    """It runs inside uvicorn's logging: a chain that loops must not raise RecursionError there."""
    from engine.emulator.streaming import StreamCut, _is_cut

    first, second = ValueError("a"), RuntimeError("b")
    first.__context__, second.__context__ = second, first
    assert _is_cut(first) is False
    wrapped = RuntimeError("outer")
    group_type = getattr(builtins, "BaseExceptionGroup", None)  # Python 3.11+
    inner: BaseException = (
        StreamCut("cut") if group_type is None else group_type("several", [ValueError("c"), StreamCut("cut")])
    )
    wrapped.__cause__ = inner
    inner.__context__ = wrapped
    assert _is_cut(wrapped) is True
