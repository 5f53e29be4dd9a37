"""Function calling, response side: Google-published replies with ``functionCall`` parts → OpenAI tool calls.

Fixtures: tests/fixtures/gemini (FirebaseExtended/vertexai-sdk-test-data recordings;
the source of each is inside the file). Every result is validated against the openai
package's ChatCompletion / ChatCompletionChunk types.
"""

from __future__ import annotations

import json

from tests.fixtures.load import load
from tests.gemini.helpers import body, normalize, stream


def test_parallel_function_calls_are_all_returned() -> None:
    resp = normalize(load("gemini/generate_content_function_call.json")["body"])
    choice = resp.model_dump()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert [(c["type"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("function", "sum", {"y": 1, "x": 2}),
        ("function", "multiply", {"y": 3, "x": 4}),
        ("function", "subtract", {"y": 5, "x": 6}),
    ]
    assert all(isinstance(c["function"]["arguments"], str) for c in calls)
    ids = [c["id"] for c in calls]
    assert len(set(ids)) == 3 and all(i.startswith("call_") for i in ids)


def test_nested_arguments_are_a_json_string() -> None:
    resp = normalize(load("gemini/generate_content_function_call_single.json")["body"])
    (call,) = resp.choices[0].message.tool_calls
    assert call.function.name == "fetchWeather"
    assert json.loads(call.function.arguments) == {
        "param": {"state": "MA", "city": "Boston", "date": "2024-10-17"}
    }
    assert resp.usage.completion_tokens_details.reasoning_tokens == 139


def test_thought_signature_rides_in_provider_fields_and_in_the_id() -> None:
    data = load("gemini/generate_content_thinking_signature.json")["body"]
    part = data["candidates"][0]["content"]["parts"]
    signature = part[1]["thoughtSignature"]
    resp = normalize(data, "gemini-2.5-pro")
    message = resp.model_dump()["choices"][0]["message"]
    (call,) = message["tool_calls"]
    assert call["provider_specific_fields"] == {"thought_signature": signature}
    assert call["id"].startswith("call_") and call["id"].endswith("__thought__" + signature)
    assert message["reasoning_content"] == part[0]["text"]
    assert message["thinking_blocks"] == [{"type": "thinking", "thinking": part[0]["text"]}]
    assert message["content"] is None
    assert resp.choices[0].finish_reason == "tool_calls"


def test_the_signature_travels_back_even_when_a_client_drops_unknown_fields() -> None:
    """Gemini 3 multi-turn tool use: reply → assistant message → next request carries the signature."""
    data = load("gemini/generate_content_thinking_signature.json")["body"]
    signature = data["candidates"][0]["content"]["parts"][1]["thoughtSignature"]
    message = normalize(data, "gemini-2.5-pro").model_dump()["choices"][0]["message"]
    (call,) = message["tool_calls"]
    as_sdk_keeps_it = {
        "id": call["id"],
        "type": "function",
        "function": call["function"],
    }  # no provider fields
    for kept in (call, as_sdk_keeps_it):
        messages = [
            {"role": "user", "content": "How many days until New Year's Eve?"},
            {"role": "assistant", "content": None, "tool_calls": [kept]},
            {"role": "tool", "tool_call_id": kept["id"], "content": "2025-07-28"},
        ]
        contents = body("gemini-3-pro-preview", messages=messages)["contents"]
        assert contents[1]["parts"] == [
            {"functionCall": {"name": "now", "args": {}}, "thoughtSignature": signature}
        ]
        assert contents[2]["parts"] == [
            {"functionResponse": {"name": "now", "response": {"content": "2025-07-28"}}}
        ]


def test_ids_are_stable_for_the_same_reply() -> None:
    data = load("gemini/generate_content_thinking_signature.json")["body"]
    first = normalize(data).choices[0].message.tool_calls[0].id
    assert normalize(data).choices[0].message.tool_calls[0].id == first


def test_streamed_function_call_becomes_a_tool_call_delta() -> None:
    fixture = load("gemini/generate_content_stream_thinking_function_call.json")
    chunks, _ = stream(fixture["events"])
    reasoning = [c["choices"][0]["delta"].get("reasoning_content") for c in chunks[:2]]
    assert reasoning == [e["candidates"][0]["content"]["parts"][0]["text"] for e in fixture["events"][:2]]
    assert all("content" not in c["choices"][0]["delta"] for c in chunks)
    last = chunks[-1]["choices"][0]
    signature = fixture["events"][2]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    (delta,) = last["delta"]["tool_calls"]
    assert delta["index"] == 0
    assert delta["type"] == "function"
    assert delta["function"] == {"name": "now", "arguments": "{}"}
    assert delta["id"].endswith("__thought__" + signature)
    assert delta["provider_specific_fields"] == {"thought_signature": signature}
    assert last["finish_reason"] == "tool_calls"


def test_streamed_parallel_calls_get_consecutive_indices() -> None:
    data = load("gemini/generate_content_function_call.json")["body"]
    parts = data["candidates"][0]["content"]["parts"]
    events = [
        {"candidates": [{"content": {"role": "model", "parts": [parts[0]]}}], "responseId": "r1"},
        {
            "candidates": [{"content": {"role": "model", "parts": parts[1:]}, "finishReason": "STOP"}],
            "responseId": "r1",
        },
    ]
    chunks, _ = stream(events)
    deltas = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls", [])]
    assert [(d["index"], d["function"]["name"]) for d in deltas] == [
        (0, "sum"),
        (1, "multiply"),
        (2, "subtract"),
    ]
    assert len({d["id"] for d in deltas}) == 3
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
