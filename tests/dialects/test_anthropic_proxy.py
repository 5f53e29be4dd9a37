"""``POST /v1/messages`` end to end: the official ``anthropic`` client → proxy → engine → emulator.

Each behaviour runs on a Claude deployment (native: the body reaches ``:rawPredict`` as
sent) and on a Gemini deployment (translated through the chat pipeline and back).
"""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import pytest

from tests.dialects.conftest import MASTER_KEY, UPSTREAM

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city and state"}},
        "required": ["location"],
    },
}
MODELS = ["claude", "gemini"]


@pytest.fixture
def client(dialect_proxy: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=MASTER_KEY, base_url=dialect_proxy.url, max_retries=0)


def _model_calls(emulator: Any, name: str) -> list[dict[str, Any]]:
    return [
        r
        for r in emulator.requests()
        if UPSTREAM[name] in r["path"]
        and not r["path"].endswith(":countTokens")
        and "count-tokens" not in r["path"]
    ]


@pytest.mark.parametrize("name", MODELS)
def test_text_with_system(client: anthropic.Anthropic, emulator: Any, name: str) -> None:
    message = client.messages.create(
        model=name,
        max_tokens=64,
        system="You are terse.",
        messages=[{"role": "user", "content": "Hello, Claude"}],
    )
    assert message.type == "message" and message.role == "assistant"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "Echo: Hello, Claude"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    (upstream,) = _model_calls(emulator, name)
    if name == "claude":  # native: Anthropic's body, Vertex's version, no model field
        assert upstream["body"]["system"] == "You are terse."
        assert upstream["body"]["anthropic_version"] == "vertex-2023-10-16"
        assert "model" not in upstream["body"] and upstream["path"].endswith(":rawPredict")
    else:
        assert upstream["body"]["systemInstruction"]["parts"] == [{"text": "You are terse."}]
        assert upstream["path"].endswith(":generateContent")


@pytest.mark.parametrize("name", MODELS)
def test_stream_text(client: anthropic.Anthropic, name: str) -> None:
    with client.messages.stream(
        model=name, max_tokens=64, messages=[{"role": "user", "content": "stream this please"}]
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_start" in kinds and "content_block_stop" in kinds and "message_delta" in kinds
    assert final.content[0].text == "Echo: stream this please"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("streamed", [False, True])
def test_tool_loop_with_result_turn(
    client: anthropic.Anthropic, emulator: Any, name: str, streamed: bool
) -> None:
    emulator.script(
        UPSTREAM[name],
        [
            {
                "thought": "I need the weather.",
                "thought_signature": "sig-tools-1",
                "function_calls": [{"name": "get_weather", "args": {"location": "San Francisco, CA"}}],
            }
        ],
    )
    ask = {"role": "user", "content": "What's the weather like in San Francisco?"}
    params: dict[str, Any] = {
        "model": name,
        "max_tokens": 2048,
        "tools": [WEATHER],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    if streamed:
        with client.messages.stream(messages=[ask], **params) as stream:
            first = stream.get_final_message()
    else:
        first = client.messages.create(messages=[ask], **params)
    assert first.stop_reason == "tool_use"
    thinking = next(b for b in first.content if b.type == "thinking")
    tool = next(b for b in first.content if b.type == "tool_use")
    assert thinking.thinking == "I need the weather."
    if name == "claude":
        assert thinking.signature == "sig-tools-1"
    # Gemini put the signature on the function call: it rides in the tool_use id, back as tool_use_id
    assert (tool.name, tool.input) == ("get_weather", {"location": "San Francisco, CA"})
    result = {"type": "tool_result", "tool_use_id": tool.id, "content": "15 degrees, sunny"}
    second = client.messages.create(
        messages=[
            ask,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {"role": "user", "content": [result]},
        ],
        **params,
    )
    assert second.stop_reason == "end_turn"
    assert "15 degrees, sunny" in next(b for b in second.content if b.type == "text").text
    upstream = _model_calls(emulator, name)[-1]["body"]
    if name == "gemini":  # the thought signature went back on the function call
        model_turn = upstream["contents"][1]
        call = next(p for p in model_turn["parts"] if "functionCall" in p)
        assert call["thoughtSignature"] == "sig-tools-1"
        assert upstream["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_weather"
    else:  # native: the assistant turn and the result as the client sent them
        assert upstream["messages"][1]["content"][0]["signature"] == "sig-tools-1"
        assert upstream["messages"][2]["content"] == [result]


@pytest.mark.parametrize("name", MODELS)
def test_thinking_stream_has_signature(client: anthropic.Anthropic, name: str) -> None:
    with client.messages.stream(
        model=name,
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "think first"}],
    ) as stream:
        deltas = [e.delta.type for e in stream if e.type == "content_block_delta"]
        final = stream.get_final_message()
    assert "thinking_delta" in deltas and "signature_delta" in deltas
    block = final.content[0]
    assert block.type == "thinking" and block.thinking == "Thinking about: think first" and block.signature


@pytest.mark.parametrize("name", MODELS)
def test_image_block(client: anthropic.Anthropic, emulator: Any, name: str) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}}
    message = client.messages.create(
        model=name,
        max_tokens=64,
        messages=[{"role": "user", "content": [image, {"type": "text", "text": "Describe this image."}]}],
    )
    assert message.content[0].text == "Echo: Describe this image."
    upstream = _model_calls(emulator, name)[-1]["body"]
    if name == "gemini":
        assert upstream["contents"][0]["parts"][0] == {
            "inlineData": {"mimeType": "image/png", "data": PNG_B64}
        }
        assert base64.b64decode(PNG_B64)[:4] == b"\x89PNG"
    else:
        assert upstream["messages"][0]["content"][0] == image


@pytest.mark.parametrize("name", MODELS)
def test_count_tokens(client: anthropic.Anthropic, emulator: Any, name: str) -> None:
    count = client.messages.count_tokens(
        model=name,
        system="You are a scientist",
        messages=[{"role": "user", "content": "Hello, Claude, tell me about the moon"}],
        tools=[WEATHER],
    )
    assert count.input_tokens > 0
    path = emulator.requests()[-1]["path"]
    assert path.endswith("count-tokens:rawPredict" if name == "claude" else "gemini-2.5-flash:countTokens")


def test_bearer_key_and_beta_header(dialect_proxy: Any, emulator: Any) -> None:
    client = anthropic.Anthropic(
        auth_token=MASTER_KEY,
        base_url=dialect_proxy.url,
        max_retries=0,
        default_headers={"anthropic-beta": "context-1m-2025-08-07"},
    )
    message = client.messages.create(
        model="claude", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].text == "Echo: hi"
    assert _model_calls(emulator, "claude")[-1]["headers"]["anthropic-beta"] == "context-1m-2025-08-07"


def test_errors_are_anthropic_shaped(dialect_proxy: Any, client: anthropic.Anthropic) -> None:
    wrong = anthropic.Anthropic(api_key="sk-wrong", base_url=dialect_proxy.url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as auth:
        wrong.messages.create(model="claude", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    rid = auth.value.response.headers["x-request-id"]
    assert auth.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid API key"},
        "request_id": rid,  # top level, as Anthropic's API puts it
    }
    assert auth.value.request_id == rid  # the official client reads Anthropic's request-id header
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="nope", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert missing.value.body["error"]["type"] == "not_found_error"
    assert missing.value.request_id == missing.value.body["request_id"] != rid
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(model="gemini", max_tokens=8, messages=[{"role": "robot", "content": "x"}])  # type: ignore[typeddict-item]
    assert bad.value.body["type"] == "error" and "role" in bad.value.body["error"]["message"]


def test_upstream_error_mid_route(client: anthropic.Anthropic, emulator: Any) -> None:
    emulator.script(UPSTREAM["claude"], [{"status": 429, "message": "Resource exhausted"}])
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(
            model="claude",
            max_tokens=8,
            messages=[{"role": "user", "content": "x"}],
            extra_headers={"x-request-id": "trace-me-42"},
        )
    assert limited.value.body["error"]["type"] == "rate_limit_error"
    assert limited.value.body["request_id"] == limited.value.request_id == "trace-me-42"


def test_replies_carry_the_request_id_header(client: anthropic.Anthropic) -> None:
    hello = [{"role": "user", "content": "x"}]
    message = client.messages.create(model="gemini", max_tokens=8, messages=hello)
    assert message._request_id  # the official client's attribute, from Anthropic's request-id header
    raw = client.messages.with_raw_response.create(model="claude", max_tokens=8, messages=hello)
    assert raw.headers["request-id"] == raw.headers["x-request-id"]
    with client.messages.stream(model="gemini", max_tokens=8, messages=hello) as stream:
        assert stream.get_final_text()
        assert stream.response.headers["request-id"] == stream.response.headers["x-request-id"]


def test_fallback_from_claude_to_gemini_and_key_limits(
    start_proxy: Any, deployment: Any, emulator: Any
) -> None:
    """A proxy model name routes as chat does: Claude failing over to a Gemini fallback, per-key model lists."""
    proxy = start_proxy(
        {
            "model_list": [
                deployment("claude", "vertex_ai/claude-sonnet-4@20250514", location="us-east5"),
                deployment("gemini", "vertex_ai/gemini-2.5-flash"),
            ],
            "router_settings": {"fallbacks": [{"claude": ["gemini"]}]},
            "general_settings": {
                "master_key": MASTER_KEY,
                "keys": [{"key": "sk-gemini-only-00", "key_alias": "g", "models": ["gemini"]}],
            },
        }
    )
    emulator.script(UPSTREAM["claude"], [{"status": 503, "message": "overloaded"}])
    client = anthropic.Anthropic(api_key=MASTER_KEY, base_url=proxy.url, max_retries=0)
    raw = client.messages.with_raw_response.create(
        model="claude", max_tokens=32, messages=[{"role": "user", "content": "fall back"}]
    )
    assert raw.headers["x-vertexlate-deployment"] == "gemini-1"
    assert raw.parse().content[0].text == "Echo: fall back"
    limited = anthropic.Anthropic(api_key="sk-gemini-only-00", base_url=proxy.url, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as denied:
        limited.messages.create(model="claude", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert denied.value.body["error"]["type"] == "permission_error"


def test_error_in_mid_stream_is_an_anthropic_error_event(client: anthropic.Anthropic, emulator: Any) -> None:
    emulator.script(
        UPSTREAM["gemini"], [{"text": "one two three four five six seven eight", "cut_stream_after": 1}]
    )
    with (
        pytest.raises(anthropic.APIStatusError) as failed,
        client.messages.stream(
            model="gemini", max_tokens=64, messages=[{"role": "user", "content": "x"}]
        ) as stream,
    ):
        for _ in stream:
            pass
    assert failed.value.body["type"] == "error"
    assert failed.value.body["request_id"]  # the error event names the request too


def test_request_size_limit_applies(start_proxy: Any, deployment: Any) -> None:
    proxy = start_proxy(
        {
            "model_list": [deployment("gemini", "vertex_ai/gemini-2.5-flash")],
            "general_settings": {"master_key": MASTER_KEY, "max_request_size_mb": 0.01},
        }
    )
    client = anthropic.Anthropic(api_key=MASTER_KEY, base_url=proxy.url, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as big:
        client.messages.create(
            model="gemini", max_tokens=8, messages=[{"role": "user", "content": "x" * 20000}]
        )
    assert big.value.status_code == 413 and big.value.body["error"]["type"] == "request_too_large"
