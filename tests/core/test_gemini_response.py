"""Golden tests: Google-published generateContent replies → exact OpenAI-format output.

Fixtures come from tests/fixtures/gemini (sources in each file and in tests/fixtures/SOURCES.md).
Every normalized response and chunk is validated against the openai package's types.
"""

from __future__ import annotations

import json
from typing import Any

from engine.registry import default_registry
from engine.response import ChatStream, build_chat
from tests.conformance import assert_chat_chunk, assert_chat_completion
from tests.fixtures.load import load

MODEL = "gemini-2.5-flash"


def chat_op() -> Any:
    return default_registry().resolve(MODEL, "chat").family.operations["chat"]


def normalize(fixture: str) -> Any:
    resp = build_chat(chat_op().response, load(fixture)["body"], MODEL)
    assert_chat_completion(resp)
    return resp


def stream(events: list[Any], include_usage: bool = True) -> list[dict[str, Any]]:
    spec = chat_op().stream
    normalizer = ChatStream(spec.events, spec.chunk, spec.event_key, MODEL, include_usage)
    chunks = [c for e in events for c in normalizer.feed(e)] + normalizer.finish()
    for chunk in chunks:
        assert_chat_chunk(chunk)
    return [c.model_dump() for c in chunks]


def test_text_reply() -> None:
    resp = normalize("gemini/generate_content_text.json")
    body = load("gemini/generate_content_text.json")["body"]
    assert resp.model_dump()["choices"] == [
        {
            "index": 0,
            "finish_reason": "stop",
            "logprobs": None,
            "message": {"role": "assistant", "content": "Mountain View, California"},
        }
    ]
    meta = body["usageMetadata"]
    assert resp.usage.prompt_tokens == meta["promptTokenCount"]
    assert resp.usage.completion_tokens == meta["candidatesTokenCount"]
    assert resp.usage.total_tokens == meta["totalTokenCount"]
    assert resp.object == "chat.completion" and resp.model == MODEL
    assert resp._hidden_params["raw_usage"] == meta
    assert resp._hidden_params["vertex_ai_safety_results"] == [body["candidates"][0]["safetyRatings"]]


def test_cached_and_thought_tokens_in_usage() -> None:
    resp = normalize("gemini/generate_content_cached_tokens.json")
    assert resp.model_dump()["usage"] == {
        "prompt_tokens": 12013,
        "completion_tokens": 15 + 73,  # candidates + thoughts, as OpenAI counts reasoning tokens
        "total_tokens": 12101,
        "prompt_tokens_details": {"cached_tokens": 11243, "text_tokens": 12013},  # promptTokensDetails TEXT
        "completion_tokens_details": {"reasoning_tokens": 73},
    }
    assert resp._hidden_params["model_version"] == "gemini-2.5-flash"


def test_blocked_prompt_is_a_content_filter_result() -> None:
    resp = normalize("gemini/generate_content_prompt_blocked.json")
    assert resp.choices[0].finish_reason == "content_filter"
    assert resp.choices[0].message.content is None
    assert resp._hidden_params["block_reason"] == "SAFETY"
    assert resp._hidden_params["prompt_feedback"]["blockReasonMessage"] == "Reasons"


def test_safety_finish_reason() -> None:
    resp = normalize("gemini/generate_content_safety_finish.json")
    assert resp.choices[0].finish_reason == "content_filter"


def test_stream_chunks() -> None:
    fixture = load("gemini/generate_content_stream.json")
    chunks = stream(fixture["events"])
    texts = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    expected = [e["candidates"][0]["content"]["parts"][0]["text"] for e in fixture["events"]]
    assert texts == expected
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all("role" not in c["choices"][0]["delta"] for c in chunks[1:] if c["choices"])
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]] == [None, None, None, "stop"]
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"] == fixture["events"][0]["responseId"]
    last_usage = fixture["events"][-1]["usageMetadata"]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == last_usage["promptTokenCount"]
    assert chunks[-1]["usage"]["total_tokens"] == last_usage["totalTokenCount"]


def test_stream_without_include_usage_has_no_usage_chunk() -> None:
    chunks = stream(load("gemini/generate_content_stream.json")["events"], include_usage=False)
    assert all("usage" not in c for c in chunks)


def test_stream_blocked_prompt() -> None:
    chunks = stream(load("gemini/generate_content_prompt_blocked.json")["events"], include_usage=False)
    assert [c["choices"][0]["finish_reason"] for c in chunks] == ["content_filter"]


def test_raw_sse_text_through_the_decoder() -> None:
    """The published SSE text, decoded by our decoder, gives the published events."""
    from engine.sse import SSEDecoder

    fixture = load("gemini/generate_content_stream.json")
    decoder = SSEDecoder()
    raw = fixture["sse"].encode()
    events = [json.loads(e.data) for e in [*decoder.feed(raw), *decoder.close()]]
    assert events == fixture["events"]
