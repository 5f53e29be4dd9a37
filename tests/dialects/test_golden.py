"""Golden translations, both directions, from Anthropic's and OpenAI's published examples (tests/fixtures/SOURCES.md).

Requests go from the dialect to OpenAI chat; replies and streams come back from OpenAI
chat (the engine's output) to the dialect, and are checked with the official SDKs' own
types and stream accumulators, so a shape the SDK would reject fails here.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import anthropic
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from openai._types import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from engine.dialects import anthropic_messages as amsg
from engine.dialects import responses as resp
from engine.errors import BadRequestError
from tests.fixtures.load import load

ANTHROPIC_EVENT = TypeAdapter(RawMessageStreamEvent)
RESPONSES_EVENT = TypeAdapter(ResponseStreamEvent)


# --------------------------------------------------------------------------- Anthropic Messages


def test_anthropic_tool_result_request_to_chat() -> None:
    fixture = load("anthropic/request_tool_result.json")
    body = {k: v for k, v in fixture["body"].items() if k not in ("model", "stream")}
    chat = amsg.to_openai_request(body)
    assert chat["max_tokens"] == 1000
    user, assistant, first, second = chat["messages"]
    assert user == {
        "role": "user",
        "content": "Use the test_tool with count 1, then use it again with count 2",
    }
    assert (
        assistant["content"]
        == "I'll use the test_tool twice as requested, first with count 1 and then with count 2."
    )
    assert [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in assistant["tool_calls"]
    ] == [
        ("toolu_0179r6ofLHbaispTuUAqMJfr", "test_tool", {"count": 1}),
        ("toolu_012uz9XtyrRxAoELvYgkQnxi", "test_tool", {"count": 2}),
    ]
    assert first == {
        "role": "tool",
        "tool_call_id": "toolu_0179r6ofLHbaispTuUAqMJfr",
        "content": "Called with 1",
    }
    assert second == {
        "role": "tool",
        "tool_call_id": "toolu_012uz9XtyrRxAoELvYgkQnxi",
        "content": "Called with 2",
    }
    (tool,) = chat["tools"]
    source_tool = fixture["body"]["tools"][0]
    assert tool == {
        "type": "function",
        "function": {
            "name": "test_tool",
            **({"description": source_tool["description"]} if source_tool.get("description") else {}),
            "parameters": source_tool["input_schema"],
        },
    }


def test_anthropic_vertex_request_system_and_sampling() -> None:
    body = dict(load("anthropic/request_vertex_rawpredict.json")["body"])
    body.pop("anthropic_version", None)
    body.pop("stream", None)
    chat = amsg.to_openai_request(body)
    assert chat["max_tokens"] == body["max_tokens"]
    texts = [m["content"] for m in chat["messages"] if m["role"] == "user"]
    assert texts == [m["content"] for m in body["messages"] if isinstance(m["content"], str)]


def test_chat_completion_to_anthropic_message() -> None:
    chat = load("openai_compat/chat_completion.json")["body"]
    message = Message.model_validate(amsg.from_openai_response(chat, "gemini"))
    assert [(b.type, b.text) for b in message.content] == [("text", "Hello! How can I assist you today?")]  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (19, 10)


def test_chat_tool_calls_to_anthropic_tool_use() -> None:
    chat = load("openai_compat/chat_tool_calls.json")["body"]
    message = Message.model_validate(amsg.from_openai_response(chat, "gemini"))
    (block,) = message.content
    assert block.type == "tool_use"
    assert (block.id, block.name, block.input) == (
        "call_abc123",
        "get_current_weather",
        {"location": "Boston, MA"},
    )
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (82, 17)


def test_chat_stream_to_anthropic_events() -> None:
    chunks = load("openai_compat/chat_completion_stream.json")["events"]
    events = list(amsg.translate_stream(chunks, "gemini"))
    snapshot, buffers = None, {}
    for raw in events:
        event = ANTHROPIC_EVENT.validate_python(raw)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
    assert [e["type"] for e in events] == [
        "message_start",
        "content_block_start",
        *["content_block_delta"]
        * sum(1 for c in chunks for ch in c["choices"] if ch["delta"].get("content")),
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert snapshot is not None
    text = "".join(ch["delta"].get("content") or "" for c in chunks for ch in c["choices"])
    assert snapshot.content[0].text == text  # type: ignore[union-attr]
    assert snapshot.stop_reason == "end_turn"


def test_anthropic_thinking_and_signature_round_trip() -> None:
    """A thinking block with its signature and a tool call survive Anthropic → chat → Anthropic."""
    assistant = {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Let me check.", "signature": "EqQBCgIYAhIM"},
            {"type": "tool_use", "id": "call_1__thought__c2ln", "name": "lookup", "input": {"q": "x"}},
        ],
    }
    chat = amsg.to_openai_messages([{"role": "user", "content": "hi"}, assistant])[1]
    assert chat["thinking_blocks"] == [
        {"type": "thinking", "thinking": "Let me check.", "signature": "EqQBCgIYAhIM"}
    ]
    reply = {"choices": [{"message": chat, "finish_reason": "tool_calls"}], "usage": {}}
    back = Message.model_validate(amsg.from_openai_response(reply, "m"))
    assert [b.model_dump(exclude_none=True) for b in back.content] == assistant["content"]


def test_anthropic_refusals_name_the_field() -> None:
    with pytest.raises(BadRequestError, match="container"):
        amsg.to_openai_request({"messages": [{"role": "user", "content": "x"}], "container": "c1"})
    with pytest.raises(BadRequestError, match="bash_20250124"):
        amsg.to_openai_request(
            {
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "bash_20250124", "name": "bash"}],
            }
        )
    assert anthropic.types.MessageParam  # the SDK the shapes come from


# --------------------------------------------------------------------------- OpenAI Responses


def test_responses_function_tool_request_to_chat() -> None:
    body = dict(load("openai_responses/request_weather_tool.json")["body"])
    body.pop("model")
    chat, conversation = resp.to_chat_request(body, [])
    assert chat["messages"] == [{"role": "user", "content": "What is the weather like in Paris today?"}]
    assert conversation == chat["messages"]
    tool = body["tools"][0]
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": tool["parameters"],
                "description": tool["description"],
            },
        }
    ]


def test_responses_function_calls_and_outputs_to_chat() -> None:
    calls = load("openai_responses/function_calls_output.json")["body"]
    question = load("openai_responses/request_weather_tool.json")["body"]["input"]
    outputs = [
        {"type": "function_call_output", "call_id": c["call_id"], "output": f"result {i}"}
        for i, c in enumerate(calls)
    ]
    chat, _ = resp.to_chat_request({"input": [*question, *calls, *outputs]}, [])
    user, assistant, *tools = chat["messages"]
    assert user["content"] == "What is the weather like in Paris today?"
    assert assistant["content"] is None
    assert [
        (c["id"], c["function"]["name"], c["function"]["arguments"]) for c in assistant["tool_calls"]
    ] == [(c["call_id"], c["name"], c["arguments"]) for c in calls]
    assert tools == [
        {"role": "tool", "tool_call_id": c["call_id"], "content": f"result {i}"} for i, c in enumerate(calls)
    ]


def test_chat_completion_to_response() -> None:
    chat = load("openai_compat/chat_completion.json")["body"]
    body = {"instructions": "Be kind.", "temperature": 0.5}
    response, stored = resp.from_chat_response(chat, body, "gemini")
    parsed = Response.model_validate(response)
    assert parsed.output_text == "Hello! How can I assist you today?"
    assert parsed.status == "completed" and parsed.instructions == "Be kind." and parsed.temperature == 0.5
    assert parsed.usage is not None and (
        parsed.usage.input_tokens,
        parsed.usage.output_tokens,
        parsed.usage.total_tokens,
    ) == (19, 10, 29)
    assert stored == {"role": "assistant", "content": "Hello! How can I assist you today?"}


def test_chat_tool_calls_to_response_function_call() -> None:
    chat = load("openai_compat/chat_tool_calls.json")["body"]
    response, stored = resp.from_chat_response(chat, {}, "gemini")
    (item,) = Response.model_validate(response).output
    assert item.type == "function_call"
    assert (item.call_id, item.name, json.loads(item.arguments)) == (
        "call_abc123",
        "get_current_weather",
        {"location": "Boston, MA"},
    )
    assert stored["tool_calls"] == chat["choices"][0]["message"]["tool_calls"]


def test_chat_stream_to_response_events() -> None:
    chunks = load("openai_compat/chat_completion_stream.json")["events"]
    translator = resp.StreamTranslator(resp.envelope({}, "gemini", "resp_golden", 1694268190))
    events = translator.start() + [e for c in chunks for e in translator.feed(c)] + translator.finish()
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    for raw in events:
        state.handle_event(RESPONSES_EVENT.validate_python(raw))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    final = state._completed_response
    assert final is not None
    text = "".join(ch["delta"].get("content") or "" for c in chunks for ch in c["choices"])
    assert final.output_text == text and final.id == "resp_golden"


def test_reasoning_signature_travels_in_encrypted_content() -> None:
    message = {
        "role": "assistant",
        "content": "Done.",
        "reasoning_content": "Thinking.",
        "thinking_blocks": [{"type": "thinking", "thinking": "Thinking.", "signature": "sig=="}],
    }
    items = resp.output_items(message)
    assert items[0]["type"] == "reasoning" and items[0]["summary"][0]["text"] == "Thinking."
    replayed, _ = resp.to_chat_request({"input": [{"role": "user", "content": "q"}, *items]}, [])
    assert replayed["messages"][1]["thinking_blocks"] == message["thinking_blocks"]
    assert replayed["messages"][1]["content"] == "Done."


def test_responses_refusals_name_the_parameter() -> None:
    with pytest.raises(BadRequestError, match="file_search"):
        resp.to_chat_request(
            {"input": "x", "tools": [{"type": "file_search", "vector_store_ids": ["v"]}]}, []
        )
    with pytest.raises(BadRequestError, match="prompt"):
        resp.to_chat_request({"input": "x", "prompt": {"id": "pmpt_1"}}, [])


def test_store_bounds_and_expiry() -> None:
    from engine.dialects.store import MemoryStore, StoredResponse

    now = [0.0]
    store = MemoryStore(max_items=2, ttl=10.0, clock=lambda: now[0])
    for name in ("a", "b", "c"):
        store.put(name, StoredResponse({"id": name}, []))
    assert store.get("a") is None and store.get("c") is not None and len(store) == 2
    now[0] = 11.0
    assert store.get("c") is None and len(store) == 0


def test_responses_media_parts_tool_choice_and_limits() -> None:
    image = {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}
    pdf = {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}
    body = {
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "what is this"}, image, pdf]}],
        "instructions": "Be exact.",
        "tools": load("openai_responses/request_weather_tool.json")["body"]["tools"],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "max_output_tokens": 256,
        "reasoning": {"effort": "high"},
        "text": {
            "format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True}
        },
    }
    chat, conversation = resp.to_chat_request(body, [])
    system, user = chat["messages"]
    assert system == {"role": "system", "content": "Be exact."} and conversation == [user]
    assert user["content"] == [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"}},
    ]
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert (chat["max_tokens"], chat["reasoning_effort"]) == (256, "high")
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
    }


def test_anthropic_tool_choice_images_documents_and_output_config() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
                    },
                    {"type": "text", "text": "compare"},
                ],
            }
        ],
        "tools": [
            {"name": "pick", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search"},
        ],
        "tool_choice": {"type": "tool", "name": "pick", "disable_parallel_tool_use": True},
        "stop_sequences": ["END"],
        "output_config": {"effort": "low"},
    }
    chat = amsg.to_openai_request(body)
    assert chat["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x"}},
        {"type": "text", "text": "compare"},
    ]
    assert chat["web_search_options"] == {} and len(chat["tools"]) == 1
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "pick"}}
    assert (chat["parallel_tool_calls"], chat["stop"], chat["reasoning_effort"]) == (False, ["END"], "low")


JUNK = [None, 1, "x", [], {}, [1], [None], {"type": 1}, {"type": "text"}, {"type": "tool_result"},
        {"type": "tool_result", "tool_use_id": "t", "content": 5}, {"type": "image", "source": 5},
        {"type": "image", "source": {"type": "base64"}}, {"role": "user"}, {"role": "assistant", "content": [5]},
        {"type": "function_call"}, {"type": "reasoning", "summary": 5}, {"type": "input_file"},
        {"type": "document", "source": 5}, {"type": "message", "role": "user", "content": [{"type": "input_image"}]}]  # fmt: skip


@pytest.mark.parametrize("value", JUNK, ids=range(len(JUNK)))
def test_translators_refuse_malformed_input_with_typed_errors(value: Any) -> None:
    """Rule 6: whatever a client sends, the translators answer a BadRequestError naming it, never a TypeError."""
    anthropic_bodies = [
        {"messages": value},
        {"messages": [value]},
        {"messages": [{"role": "user", "content": [value]}]},
        {"messages": [{"role": "assistant", "content": [value]}]},
        *(
            {"messages": [{"role": "user", "content": "x"}], key: value}
            for key in ("system", "tools", "tool_choice", "thinking", "output_config")
        ),
    ]
    responses_bodies = [
        {"input": value},
        {"input": [value]},
        {"input": [{"role": "user", "content": [value]}]},
        *(
            {"input": "x", key: value}
            for key in ("tools", "tool_choice", "reasoning", "text", "instructions")
        ),
    ]
    for body in anthropic_bodies:
        with contextlib.suppress(BadRequestError):
            amsg.to_openai_request(body)
    for body in responses_bodies:
        with contextlib.suppress(BadRequestError):
            resp.to_chat_request(body, [])
