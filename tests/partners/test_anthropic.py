"""Claude on Vertex AI: golden requests/replies from Google's and Anthropic's published examples, and
end-to-end calls against the emulator (unary, streamed, tools, thinking, caching, errors).

Fixtures (tests/fixtures/): anthropic/request_vertex_rawpredict.json (Google's partner-model
label example), anthropic/request_vertex_stream_raw_predict.json (Anthropic's Vertex page),
anthropic/request_tool_result.json, messages_response*.json, messages_tool_use.json,
messages_stream*.json, stream_error_event.json (Anthropic SDK recordings and docs), and
partners/anthropic_thinking_redacted.json (Anthropic's extended-thinking docs).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import engine
from tests.conformance import assert_chat_chunk, assert_chat_completion
from tests.fixtures.load import load
from tests.partners.helpers import assert_anthropic_request, prepared

MODEL = "vertex_ai/claude-3-7-sonnet@20250219"
UPSTREAM = "claude-3-7-sonnet@20250219"
HI = [{"role": "user", "content": "hi"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}


# --------------------------------------------------------------------------- golden requests


def test_vertex_rawpredict_body_matches_googles_example(vx: dict[str, Any]) -> None:
    golden = load("anthropic/request_vertex_rawpredict.json")["body"]
    call = prepared(
        "chat",
        model="vertex_ai/claude-3-5-sonnet@20240620",
        messages=golden["messages"],
        max_tokens=1024,
        **vx,
    )
    # Google's example also says "stream": false, which is Anthropic's default; the engine leaves it out.
    assert call.body == {k: v for k, v in golden.items() if k != "stream"}
    assert call.url.endswith(
        "/locations/us-central1/publishers/anthropic/models/claude-3-5-sonnet@20240620:rawPredict"
    )
    assert_anthropic_request(call.body, "claude-3-5-sonnet@20240620")


def test_stream_raw_predict_body_matches_anthropics_example(vx: dict[str, Any]) -> None:
    golden = load("anthropic/request_vertex_stream_raw_predict.json")["body"]
    call = prepared("chat", model=MODEL, messages=golden["messages"], max_tokens=100, stream=True, **vx)
    assert call.body == {**golden, "stream": True}
    assert call.url.endswith(f"/publishers/anthropic/models/{UPSTREAM}:streamRawPredict")
    assert_anthropic_request(call.body, UPSTREAM)


def test_tool_round_trip_body_matches_the_recorded_request(vx: dict[str, Any]) -> None:
    """The OpenAI form of the recorded conversation converts to exactly the recorded Anthropic turns."""
    golden = load("anthropic/request_tool_result.json")["body"]
    assistant = golden["messages"][1]["content"]
    messages = [
        {"role": "user", "content": golden["messages"][0]["content"]},
        {
            "role": "assistant",
            "content": assistant[0]["text"],
            "tool_calls": [
                {
                    "id": b["id"],
                    "type": "function",
                    "function": {"name": b["name"], "arguments": json.dumps(b["input"])},
                }
                for b in assistant[1:]
            ],
        },
    ] + [
        {"role": "tool", "tool_call_id": r["tool_use_id"], "content": r["content"]}
        for r in golden["messages"][2]["content"]
    ]
    recorded_tool = golden["tools"][0]
    tool = {
        "type": "function",
        "function": {
            "name": recorded_tool["name"],
            "description": recorded_tool["description"],
            "parameters": recorded_tool["input_schema"],
        },
    }
    call = prepared(
        "chat", model=MODEL, messages=messages, tools=[tool], max_tokens=golden["max_tokens"], **vx
    )
    assert call.body["messages"] == golden["messages"]
    assert call.body["tools"] == [{k: v for k, v in recorded_tool.items() if k != "type"}]
    assert_anthropic_request(call.body, UPSTREAM)


def test_max_tokens_defaults_from_the_model_spec_and_system_moves_out(vx: dict[str, Any]) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Use English."},
        *HI,
    ]
    body = prepared("chat", model="vertex_ai/claude-3-haiku@20240307", messages=messages, **vx).body
    assert body["max_tokens"] == 4096
    assert body["system"] == [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use English."}]
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert_anthropic_request(body, "claude-3-haiku@20240307")


def test_max_tokens_above_the_models_limit_is_rejected(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="max_tokens"):
        prepared("chat", model="vertex_ai/claude-3-haiku@20240307", messages=HI, max_tokens=5000, **vx)


def test_cache_control_images_and_documents_pass_through(vx: dict[str, Any]) -> None:
    cache = {"type": "ephemeral"}
    messages = [
        {
            "role": "system",
            "content": [{"type": "text", "text": "Long instructions", "cache_control": cache}],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe these", "cache_control": cache},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": "data:image/jpeg;base64,/9j/4AAQ"},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}},
            ],
        },
        {"role": "assistant", "content": "Sure."},
        {"role": "user", "content": "Go on", "cache_control": cache},
    ]
    tools = [{**WEATHER_TOOL, "cache_control": cache}]
    body = prepared("chat", model=MODEL, messages=messages, tools=tools, **vx).body
    assert body["system"] == [{"type": "text", "text": "Long instructions", "cache_control": cache}]
    first = body["messages"][0]["content"]
    assert first[0] == {"type": "text", "text": "Describe these", "cache_control": cache}
    assert first[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assert first[2] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"},
    }
    assert first[3]["type"] == "document" and first[3]["source"]["media_type"] == "application/pdf"
    assert body["messages"][2] == {
        "role": "user",
        "content": [{"type": "text", "text": "Go on", "cache_control": cache}],
    }
    assert body["tools"][0]["cache_control"] == cache
    assert_anthropic_request(body, UPSTREAM)


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("none", None, {"type": "none"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            None,
            {"type": "tool", "name": "get_weather"},
        ),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ],
)
def test_tool_choice_and_parallel_tool_calls(
    vx: dict[str, Any], choice: Any, parallel: Any, expected: dict[str, Any]
) -> None:
    body = prepared(
        "chat",
        model=MODEL,
        messages=HI,
        tools=[WEATHER_TOOL],
        tool_choice=choice,
        parallel_tool_calls=parallel,
        **vx,
    ).body
    assert body["tool_choice"] == expected
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Get the weather",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
        }
    ]
    assert_anthropic_request(body, UPSTREAM)


def test_bad_tool_choice_is_rejected(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="tool_choice"):
        prepared("chat", model=MODEL, messages=HI, tools=[WEATHER_TOOL], tool_choice="sometimes", **vx)


@pytest.mark.parametrize(
    ("kwargs", "thinking", "max_tokens"),
    [
        (
            {"thinking": {"type": "enabled", "budget_tokens": 1024}},
            {"type": "enabled", "budget_tokens": 1024},
            4096,
        ),
        ({"reasoning_effort": "low"}, {"type": "enabled", "budget_tokens": 1024}, 4096),
        ({"reasoning_effort": "high"}, {"type": "enabled", "budget_tokens": 4096}, 4096 + 4096),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 8000}, "max_tokens": 9000},
            {"type": "enabled", "budget_tokens": 8000},
            9000,
        ),
    ],
)
def test_thinking_and_reasoning_effort(
    vx: dict[str, Any], kwargs: dict[str, Any], thinking: dict[str, Any], max_tokens: int
) -> None:
    body = prepared("chat", model="vertex_ai/claude-3-7-sonnet-20250219", messages=HI, **kwargs, **vx).body
    assert body["thinking"] == thinking
    assert body["max_tokens"] == max_tokens
    assert_anthropic_request(body, UPSTREAM)


def test_thinking_is_refused_for_models_without_it(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.UnsupportedParamsError, match="reasoning_effort"):
        prepared("chat", model="vertex_ai/claude-3-opus@20240229", messages=HI, reasoning_effort="low", **vx)
    body = prepared(
        "chat",
        model="vertex_ai/claude-3-opus@20240229",
        messages=HI,
        reasoning_effort="low",
        drop_params=True,
        **vx,
    ).body
    assert "thinking" not in body


def test_unknown_params_are_named(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.UnsupportedParamsError, match="logit_bias"):
        prepared("chat", model=MODEL, messages=HI, logit_bias={"1": 2}, **vx)


def test_dash_named_and_newer_models_map_to_vertex_ids(vx: dict[str, Any]) -> None:
    assert prepared("chat", model="vertex_ai/claude-3-7-sonnet-20250219", messages=HI, **vx).url.endswith(
        "/models/claude-3-7-sonnet@20250219:rawPredict"
    )
    assert prepared("chat", model="vertex_ai/claude-sonnet-4-5-20250929", messages=HI, **vx).url.endswith(
        "/models/claude-sonnet-4-5@20250929:rawPredict"
    )
    assert prepared("chat", model="vertex_ai/claude-opus-4-1@20250805", messages=HI, **vx).url.endswith(
        "/models/claude-opus-4-1@20250805:rawPredict"
    )


def test_default_location_is_the_specs(emulator: Any, service_account: dict[str, Any]) -> None:
    call = prepared(
        "chat", model=MODEL, messages=HI, api_base=emulator.url, vertex_credentials=service_account
    )
    assert "/locations/us-east5/" in call.url


# --------------------------------------------------------------------------- golden replies (through the emulator)


def test_recorded_reply_with_cache_usage(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("anthropic/messages_response.json")["body"]
    emulator.script(UPSTREAM, [{"json": golden}])
    resp = engine.completion(model=MODEL, messages=HI, **vx)
    assert_chat_completion(resp)
    assert resp.id == golden["id"]
    assert resp.choices[0].message.content == golden["content"][0]["text"]
    assert resp.choices[0].finish_reason == "stop"
    assert (
        resp.usage.prompt_tokens == 505
        and resp.usage.completion_tokens == 45
        and resp.usage.total_tokens == 550
    )
    assert resp.usage.cache_creation_input_tokens == 0 and resp.usage.cache_read_input_tokens == 0
    assert resp._hidden_params["stop_reason"] == "end_turn"


def test_cached_tokens_count_into_prompt_tokens(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("anthropic/messages_response_doc_example.json")["body"]
    usage = {**golden["usage"], "cache_creation_input_tokens": 20, "cache_read_input_tokens": 30}
    emulator.script(UPSTREAM, [{"json": {**golden, "usage": usage}}])
    resp = engine.completion(model=MODEL, messages=HI, **vx)
    assert resp.usage.prompt_tokens == 150 and resp.usage.prompt_tokens_details.cached_tokens == 30
    assert resp.usage.cache_creation_input_tokens == 20 and resp.usage.cache_read_input_tokens == 30


def test_recorded_parallel_tool_use(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("anthropic/messages_tool_use.json")["body"]
    emulator.script(UPSTREAM, [{"json": golden}])
    resp = engine.completion(model=MODEL, messages=HI, tools=[WEATHER_TOOL], **vx)
    assert_chat_completion(resp)
    calls = resp.choices[0].message.tool_calls
    assert [c.id for c in calls] == ["toolu_0179r6ofLHbaispTuUAqMJfr", "toolu_012uz9XtyrRxAoELvYgkQnxi"]
    assert [json.loads(c.function.arguments) for c in calls] == [{"count": 1}, {"count": 2}]
    assert resp.choices[0].finish_reason == "tool_calls"
    assert resp.choices[0].message.content == golden["content"][0]["text"]


def test_thinking_blocks_and_redacted_thinking_come_back_and_go_out_again(
    emulator: Any, vx: dict[str, Any]
) -> None:
    golden = load("partners/anthropic_thinking_redacted.json")["body"]
    reply = {"id": "msg_1", "type": "message", "role": "assistant", "stop_reason": "end_turn", **golden}
    emulator.script(UPSTREAM, [{"json": reply}])
    resp = engine.completion(
        model=MODEL, messages=HI, thinking={"type": "enabled", "budget_tokens": 1024}, **vx
    )
    message = resp.choices[0].message
    assert message.content == "Based on my analysis..."
    assert message.reasoning_content == "Let me analyze this step by step..."
    assert message.thinking_blocks == golden["content"][:2]
    # The next turn sends the blocks back unchanged, first in the assistant turn (Anthropic's rule).
    history = [*HI, message.model_dump(), {"role": "user", "content": "and?"}]
    body = prepared(
        "chat", model=MODEL, messages=history, thinking={"type": "enabled", "budget_tokens": 1024}, **vx
    ).body
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [*golden["content"][:2], {"type": "text", "text": "Based on my analysis..."}],
    }
    assert_anthropic_request(body, UPSTREAM)


def _stream(emulator: Any, vx: dict[str, Any], events: list[Any], **kwargs: Any) -> list[Any]:
    emulator.script(UPSTREAM, [{"stream_events": events}])
    chunks = list(engine.completion(model=MODEL, messages=HI, stream=True, **kwargs, **vx))
    for chunk in chunks:
        assert_chat_chunk(chunk)
    return chunks


def test_recorded_text_stream(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("anthropic/messages_stream.json")["events"]
    chunks = _stream(emulator, vx, golden, stream_options={"include_usage": True})
    assert "".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices) == "Hello there!"
    assert {c.id for c in chunks} == {golden[0]["message"]["id"]}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].usage.prompt_tokens == 11 and chunks[-1].usage.completion_tokens == 6


def test_recorded_tool_use_stream(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("anthropic/messages_stream_tool_use.json")["events"]
    chunks = _stream(emulator, vx, golden)
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.get("tool_calls") or []]
    start = next(
        e for e in golden if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use"
    )
    assert (
        deltas[0].id == start["content_block"]["id"]
        and deltas[0].function.name == start["content_block"]["name"]
    )
    assert {d.index for d in deltas} == {0}
    expected = "".join(
        e["delta"]["partial_json"]
        for e in golden
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
    )
    assert "".join(d.function.arguments for d in deltas) == expected
    assert json.loads(expected)  # the fragments add up to the tool's JSON input
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_mid_stream_error_event_raises(emulator: Any, vx: dict[str, Any]) -> None:
    start = load("anthropic/messages_stream.json")["events"][0]
    error = load("anthropic/stream_error_event.json")["events"]
    emulator.script(UPSTREAM, [{"stream_events": [start, *error]}])
    with pytest.raises(engine.APIError, match="Overloaded"):
        list(engine.completion(model=MODEL, messages=HI, stream=True, **vx))


# --------------------------------------------------------------------------- emulator behavior


def test_unary_call_end_to_end(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.completion(
        model=MODEL, messages=[{"role": "system", "content": "Be brief."}, *HI], temperature=0.7, **vx
    )
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == "Echo: hi"
    (logged,) = emulator.requests(UPSTREAM)
    assert logged["path"].endswith(f"/publishers/anthropic/models/{UPSTREAM}:rawPredict")
    assert logged["body"]["system"] == "Be brief." and logged["body"]["temperature"] == 0.7
    assert_anthropic_request(logged["body"], UPSTREAM)


async def test_async_stream_with_thinking(emulator: Any, vx: dict[str, Any]) -> None:
    stream = await engine.acompletion(model=MODEL, messages=HI, reasoning_effort="low", stream=True, **vx)
    chunks = [c async for c in stream]
    reasoning = "".join(c.choices[0].delta.get("reasoning_content") or "" for c in chunks if c.choices)
    assert reasoning == "Thinking about: hi"
    signatures = [
        b.signature
        for c in chunks
        if c.choices
        for b in c.choices[0].delta.get("thinking_blocks") or []
        if b.signature
    ]
    assert len(signatures) == 1
    assert "".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices) == "Echo: hi"
    assert emulator.requests(UPSTREAM)[0]["path"].endswith(":streamRawPredict")


def test_scripted_tool_call_then_result(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(UPSTREAM, [{"function_calls": [{"name": "get_weather", "args": {"location": "Paris"}}]}])
    resp = engine.completion(model=MODEL, messages=HI, tools=[WEATHER_TOOL], **vx)
    call = resp.choices[0].message.tool_calls[0]
    assert (
        json.loads(call.function.arguments) == {"location": "Paris"}
        and resp.choices[0].finish_reason == "tool_calls"
    )
    history = [
        *HI,
        resp.choices[0].message.model_dump(),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    follow = engine.completion(model=MODEL, messages=history, tools=[WEATHER_TOOL], **vx)
    assert follow.choices[0].message.content == f'Echo: {call.id} returned "sunny"'


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 429, "retry_after": 0}, engine.RateLimitError),
        ({"status": 529, "json": load("anthropic/error.json")["body"]}, engine.ServiceUnavailableError),
        ({"status": 529}, engine.ServiceUnavailableError),  # the emulator's own overloaded_error body
        ({"status": 500}, engine.InternalServerError),  # Anthropic's api_error
        ({"status": 404, "json": load("anthropic/error.json")["body"]}, engine.NotFoundError),
    ],
)
def test_errors_are_typed(emulator: Any, vx: dict[str, Any], fault: dict[str, Any], error: type) -> None:
    emulator.script(UPSTREAM, [fault])
    with pytest.raises(error) as info:
        engine.completion(model=MODEL, messages=HI, **vx)
    assert info.value.model == UPSTREAM
    if fault == {"status": 529}:
        assert "Overloaded" in str(info.value)


def test_anthropic_validation_error_reaches_the_caller(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="model: Extra inputs are not permitted"):
        engine.completion(model=MODEL, messages=HI, extra_body={"model": "claude"}, **vx)


def test_response_format_json_schema_forces_the_json_tool(vx: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    response_format = {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}}
    messages = [{"role": "system", "content": "Be brief."}, *HI]
    body = prepared("chat", model=MODEL, messages=messages, response_format=response_format, **vx).body
    assert body["system"] == "Be brief."
    assert body["tools"][-1]["name"] == "json_tool_call" and body["tools"][-1]["input_schema"] == schema
    assert body["tool_choice"] == {"type": "tool", "name": "json_tool_call"}
    assert_anthropic_request(body, UPSTREAM)
    # with thinking on, a forced tool is refused by Anthropic: the schema goes in the system prompt
    thinking = prepared(
        "chat", model=MODEL, messages=messages, response_format=response_format, reasoning_effort="low", **vx
    ).body
    first, second = thinking["system"]
    assert first == {"type": "text", "text": "Be brief."}
    assert json.dumps(schema) in second["text"] and "JSON" in second["text"]
    plain = prepared("chat", model=MODEL, messages=HI, response_format={"type": "json_object"}, **vx).body
    assert plain["system"] == "Respond with a single JSON object and nothing else."
    assert (
        "system"
        not in prepared("chat", model=MODEL, messages=HI, response_format={"type": "text"}, **vx).body
    )
    with pytest.raises(engine.BadRequestError, match="response_format"):
        prepared("chat", model=MODEL, messages=HI, response_format={"type": "json_schema"}, **vx)
