"""The library calls without the proxy: sync and async, native Claude and translated Gemini, streams and the store."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import Message

import engine
from engine.dialects.store import MemoryStore
from engine.errors import BadRequestError, NotFoundError

CLAUDE = "vertex_ai/claude-sonnet-4@20250514"
GEMINI = "vertex_ai/gemini-2.5-flash"
ASK = [{"role": "user", "content": "library call"}]


@pytest.mark.parametrize("model", [CLAUDE, GEMINI])
def test_anthropic_messages_sync_and_stream(vx: dict[str, Any], model: str) -> None:
    message = engine.anthropic_messages(model=model, max_tokens=32, messages=ASK, **vx)
    assert Message.model_validate(dict(message)).content[0].text == "Echo: library call"  # type: ignore[union-attr]
    events = list(engine.anthropic_messages(model=model, max_tokens=32, messages=ASK, stream=True, **vx))
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    assert text == "Echo: library call"


@pytest.mark.parametrize("model", [CLAUDE, GEMINI])
async def test_aanthropic_messages_stream(vx: dict[str, Any], model: str) -> None:
    stream = await engine.aanthropic_messages(model=model, max_tokens=32, messages=ASK, stream=True, **vx)
    kinds = [event["type"] async for event in stream]
    assert kinds[0] == "message_start" and "content_block_delta" in kinds and kinds[-1] == "message_stop"
    count = await engine.aanthropic_count_tokens(model=model, messages=ASK, **vx)
    assert count["input_tokens"] > 0


def test_anthropic_messages_validates_at_the_edge(vx: dict[str, Any]) -> None:
    with pytest.raises(BadRequestError, match="max_tokens"):
        engine.anthropic_messages(model=GEMINI, messages=ASK, **vx)
    with pytest.raises(BadRequestError, match="model"):
        engine.anthropic_messages(max_tokens=5, messages=ASK, **vx)
    with pytest.raises(BadRequestError, match="temperature"):  # the native spec table checks ranges
        engine.anthropic_messages(model=CLAUDE, max_tokens=5, messages=ASK, temperature=3, **vx)


def test_responses_stream_is_stored(vx: dict[str, Any]) -> None:
    store = MemoryStore()
    events = list(engine.responses(model=GEMINI, input="first", stream=True, response_store=store, **vx))
    done = events[-1]["response"]
    assert events[-1]["type"] == "response.completed" and store.get(done["id"]) is not None
    follow = engine.responses(
        model=CLAUDE, input="second", previous_response_id=done["id"], response_store=store, **vx
    )
    assert follow.output_text == "Echo: second"
    assert [m["role"] for m in store.get(follow.id).messages] == ["user", "assistant", "user", "assistant"]
    assert engine.get_responses(follow.id, response_store=store).id == follow.id
    assert engine.delete_responses(follow.id, response_store=store)["deleted"] is True
    with pytest.raises(NotFoundError):
        engine.get_responses(follow.id, response_store=store)


async def test_aresponses(vx: dict[str, Any]) -> None:
    response = await engine.aresponses(model=GEMINI, input="async", store=False, **vx)
    assert response.output_text == "Echo: async"


def test_maas_partner_is_translated(vx: dict[str, Any]) -> None:
    """A MaaS partner (OpenAI-compatible on Vertex) takes both dialects through the chat pipeline."""
    model = "vertex_ai/meta/llama-3.3-70b-instruct-maas"
    message = engine.anthropic_messages(model=model, max_tokens=32, system="Be brief.", messages=ASK, **vx)
    assert message["content"] == [{"type": "text", "text": "Echo: library call"}]
    assert engine.responses(model=model, input="partner", store=False, **vx).output_text == "Echo: partner"
