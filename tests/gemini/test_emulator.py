"""The seed's examples for tools, JSON, grounding, thinking and media, end to end against the emulator.

engine.completion/acompletion → real HTTP on 127.0.0.1 → the emulator, which validates
every body against the discovery document (a 400 would fail the test) and answers with
the scripted reply. Each test checks what the seed documents for the feature.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

import engine
from tests.conformance import assert_chat_chunk, assert_chat_completion, assert_valid_request
from tests.fixtures.load import load
from tests.gemini.helpers import RECIPES, WEATHER_TOOL

BOSTON = [{"role": "user", "content": "What's the weather like in Boston today?"}]


def only_request(emulator: Any, model: str) -> dict[str, Any]:
    (logged,) = emulator.requests(model)
    assert_valid_request(logged["body"])
    return logged["body"]


def test_seed_function_calling(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(
        "gemini-pro-vision",
        [{"function_calls": [{"name": "get_current_weather", "args": {"location": "Boston, MA"}}]}],
    )
    response = engine.completion(
        model="vertex_ai/gemini-pro-vision", messages=BOSTON, tools=[WEATHER_TOOL], **vx
    )
    assert_chat_completion(response)
    call = response.choices[0].message.tool_calls[0]
    assert isinstance(call.function.name, str) and isinstance(
        call.function.arguments, str
    )  # the seed's assertions
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_current_weather",
        {"location": "Boston, MA"},
    )
    assert response.choices[0].finish_reason == "tool_calls"
    assert (
        only_request(emulator, "gemini-pro-vision")["tools"][0]["functionDeclarations"][0]["name"]
        == "get_current_weather"
    )


def test_tool_round_trip_with_text_and_a_thought_signature(emulator: Any, vx: dict[str, Any]) -> None:
    model = "gemini-3-pro-preview"
    calls = [
        {"name": "get_current_weather", "args": {"location": "Boston, MA"}},
        {"name": "get_current_weather", "args": {"location": "Paris"}},
    ]
    emulator.script(
        model, [{"text": "Checking both.", "function_calls": calls, "thought_signature": "c2lnLTM="}]
    )
    first = engine.completion(
        model=f"vertex_ai/{model}", messages=BOSTON, tools=[WEATHER_TOOL], tool_choice="auto", **vx
    )
    message = first.choices[0].message
    assert message.content == "Checking both."
    assert [json.loads(c.function.arguments)["location"] for c in message.tool_calls] == [
        "Boston, MA",
        "Paris",
    ]
    # The openai SDK keeps only id/type/function of a tool call: the signature must survive in the id.
    kept = [{"id": c.id, "type": "function", "function": dict(c.function)} for c in message.tool_calls]
    results = [
        {"role": "tool", "tool_call_id": c["id"], "content": t}
        for c, t in zip(kept, ["5 C", "18 C"], strict=True)
    ]
    second = engine.completion(
        model=f"vertex_ai/{model}",
        messages=[
            *BOSTON,
            {
                "role": "assistant",
                "content": message.content,
                "tool_calls": kept,
                "thinking_blocks": message.thinking_blocks,
            },
            *results,
        ],
        tools=[WEATHER_TOOL],
        **vx,
    )
    assert (
        second.choices[0].message.content
        == 'Echo: get_current_weather returned {"content": "5 C"} get_current_weather returned {"content": "18 C"}'
    )
    sent = emulator.requests(model)[1]["body"]["contents"]
    assert_valid_request(emulator.requests(model)[1]["body"])
    assert sent[1]["parts"][0] == {"text": "Checking both.", "thoughtSignature": "c2lnLTM="}
    assert [p["functionCall"]["args"]["location"] for p in sent[1]["parts"][1:]] == ["Boston, MA", "Paris"]


def test_streamed_function_calls(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(
        "gemini-2.5-flash",
        [{"function_calls": [{"name": "get_current_weather", "args": {"location": "Boston, MA"}}]}],
    )
    chunks = list(
        engine.completion(
            model="vertex_ai/gemini-2.5-flash", messages=BOSTON, tools=[WEATHER_TOOL], stream=True, **vx
        )
    )
    for chunk in chunks:
        assert_chat_chunk(chunk)
    deltas = [d for c in chunks for d in (c.choices[0].delta.get("tool_calls") or [])]
    assert [(d["index"], d["function"]["name"], json.loads(d["function"]["arguments"])) for d in deltas] == [
        (0, "get_current_weather", {"location": "Boston, MA"})
    ]
    assert deltas[0]["id"].startswith("call_")
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_seed_response_schema(emulator: Any, vx: dict[str, Any]) -> None:
    messages = [{"role": "user", "content": "List 5 popular cookie recipes."}]
    response = engine.completion(
        model="vertex_ai/gemini-1.5-pro",
        messages=messages,
        response_format={"type": "json_object", "response_schema": RECIPES},
        **vx,
    )
    recipes = json.loads(response.choices[0].message.content)
    assert isinstance(recipes, list) and all("recipe_name" in r for r in recipes)
    assert only_request(emulator, "gemini-1.5-pro")["generationConfig"]["responseSchema"]["type"] == "ARRAY"


def test_seed_enforce_validation(emulator: Any, vx: dict[str, Any]) -> None:
    messages = [{"role": "user", "content": "List 5 popular cookie recipes."}]
    fmt = {"type": "json_object", "response_schema": RECIPES, "enforce_validation": True}
    emulator.script("gemini-1.5-pro", [{"text": '[{"recipe": "Snickerdoodle"}]'}])
    with pytest.raises(engine.JSONSchemaValidationError) as info:
        engine.completion(model="vertex_ai/gemini-1.5-pro", messages=messages, response_format=fmt, **vx)
    assert info.value.raw_response == '[{"recipe": "Snickerdoodle"}]'
    ok = engine.completion(model="vertex_ai/gemini-1.5-pro", messages=messages, response_format=fmt, **vx)
    assert json.loads(ok.choices[0].message.content)


def test_seed_json_mode_with_prompted_schema(emulator: Any, vx: dict[str, Any]) -> None:
    messages = [
        {
            "role": "user",
            "content": 'List 5 popular cookie recipes.\n\nUsing this JSON schema:\n\nRecipe = {"recipe_name": str}',
        }
    ]
    response = engine.completion(
        model="vertex_ai/gemini-1.5-flash-preview-0514",
        messages=messages,
        response_format={"type": "json_object"},
        **vx,
    )
    assert json.loads(response.choices[0].message.content)  # JSON mode answers JSON
    assert only_request(emulator, "gemini-1.5-flash-preview-0514")["generationConfig"] == {
        "responseMimeType": "application/json"
    }


@pytest.mark.parametrize(
    ("tools", "sent"),
    [
        ([{"googleSearch": {}}], [{"googleSearch": {}}]),
        ([{"enterpriseWebSearch": {}}], [{"enterpriseWebSearch": {}}]),
        ([{"googleSearch": {"disable_attributon": False}}], [{"googleSearch": {}}]),
    ],
)
def test_seed_grounding(emulator: Any, vx: dict[str, Any], tools: list[Any], sent: list[Any]) -> None:
    reply = load("gemini/generate_content_grounding.json")["body"]["candidates"][0]
    emulator.script(
        "gemini-1.0-pro-001",
        [{"text": reply["content"]["parts"][0]["text"], "grounding_metadata": reply["groundingMetadata"]}],
    )
    messages = [{"role": "user", "content": "Who won the world cup?"}]
    resp = engine.completion(model="vertex_ai/gemini-1.0-pro-001", messages=messages, tools=tools, **vx)
    assert resp._hidden_params["vertex_ai_grounding_metadata"] == [reply["groundingMetadata"]]
    assert [a.url_citation.url for a in resp.choices[0].message.annotations] == [
        reply["groundingMetadata"]["groundingChunks"][i]["web"]["uri"] for i in (0, 1, 1)
    ]
    assert only_request(emulator, "gemini-1.0-pro-001")["tools"] == sent


async def test_streamed_grounding_is_one_entry_per_candidate(emulator: Any, vx: dict[str, Any]) -> None:
    reply = load("gemini/generate_content_grounding.json")["body"]["candidates"][0]
    emulator.script(
        "gemini-2.5-flash",
        [{"text": reply["content"]["parts"][0]["text"], "grounding_metadata": reply["groundingMetadata"]}],
    )
    stream = await engine.acompletion(
        model="vertex_ai/gemini-2.5-flash",
        messages=[{"role": "user", "content": "Weather?"}],
        web_search_options={},
        stream=True,
        **vx,
    )
    chunks = [c async for c in stream]
    assert chunks[-1]._hidden_params["vertex_ai_grounding_metadata"] == [reply["groundingMetadata"]]
    assert (
        "".join(c.choices[0].delta.get("content") or "" for c in chunks)
        == reply["content"]["parts"][0]["text"]
    )


def test_seed_reasoning_effort(emulator: Any, vx: dict[str, Any]) -> None:
    model = "gemini-2.5-flash-preview-04-17"
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    emulator.script(
        model,
        [
            {
                "thought": "The capital of France is Paris. This is a very straightforward factual question.",
                "text": "The capital of France is Paris.",
            }
        ],
    )
    resp = engine.completion(model=f"vertex_ai/{model}", messages=messages, reasoning_effort="low", **vx)
    assert_chat_completion(resp)
    message = resp.choices[0].message
    assert message.content == "The capital of France is Paris."
    assert (
        message.reasoning_content
        == "The capital of France is Paris. This is a very straightforward factual question."
    )
    assert (
        message.thinking_blocks[0]["thinking"] == message.reasoning_content
        and message.thinking_blocks[0]["signature"]
    )
    assert resp.usage.completion_tokens_details.reasoning_tokens > 0
    assert only_request(emulator, model)["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}
    }


def test_seed_thinking_parameter_streams_reasoning(emulator: Any, vx: dict[str, Any]) -> None:
    model = "gemini-2.5-flash-preview-04-17"
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    chunks = list(
        engine.completion(
            model=f"vertex_ai/{model}",
            messages=messages,
            thinking={"type": "enabled", "budget_tokens": 1024},
            stream=True,
            **vx,
        )
    )
    reasoning = "".join(c.choices[0].delta.get("reasoning_content") or "" for c in chunks)
    content = "".join(c.choices[0].delta.get("content") or "" for c in chunks)
    assert reasoning == "Thinking about: What is the capital of France?"  # the emulator's default thought
    assert content == "Echo: What is the capital of France?"


def test_seed_vision(emulator: Any, vx: dict[str, Any]) -> None:
    url = "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"
    content = [
        {"type": "text", "text": "Whats in this image?"},
        {"type": "image_url", "image_url": {"url": url}},
    ]
    resp = engine.completion(
        model="vertex_ai/gemini-pro-vision", messages=[{"role": "user", "content": content}], **vx
    )
    assert resp.choices[0].message.content == "Echo: Whats in this image?"
    assert only_request(emulator, "gemini-pro-vision")["contents"][0]["parts"][1] == {
        "fileData": {"mimeType": "image/jpeg", "fileUri": url}
    }


def test_seed_pdf_summaries(emulator: Any, vx: dict[str, Any]) -> None:
    text = (
        "You are a very professional document summarization specialist. Please summarize the given document."
    )
    uri = "gs://cloud-samples-data/generative-ai/pdf/2403.05530.pdf"
    encoded = base64.b64encode(b"%PDF-1.4 stand-in").decode()
    by_uri = [
        {"type": "text", "text": text},
        {"type": "file", "file": {"file_id": uri, "format": "application/pdf"}},
    ]
    inline = [
        {"type": "text", "text": text},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{encoded}"}},
        {"type": "audio_input", "audio_input": {"audio_input": f"data:audio/mp3;base64,{encoded}"}},
    ]
    for content in (by_uri, inline):
        resp = engine.completion(
            model="vertex_ai/gemini-1.5-flash",
            messages=[{"role": "user", "content": content}],
            max_tokens=300,
            **vx,
        )
        assert resp.choices[0].message.content == f"Echo: {text}"
    first, second = (r["body"] for r in emulator.requests("gemini-1.5-flash"))
    assert first["contents"][0]["parts"][1] == {"fileData": {"mimeType": "application/pdf", "fileUri": uri}}
    assert [p["inlineData"]["mimeType"] for p in second["contents"][0]["parts"][1:]] == [
        "application/pdf",
        "audio/mp3",
    ]
    assert first["generationConfig"] == {"maxOutputTokens": 300}


def test_function_call_signature_survives_a_client_that_keeps_only_the_id(
    emulator: Any, vx: dict[str, Any]
) -> None:
    model = "gemini-3-pro-preview"
    call = {"name": "get_current_weather", "args": {"location": "Boston, MA"}}
    emulator.script(
        model,
        [{"thought": "Need the weather tool.", "function_calls": [call], "thought_signature": "c2lnLWZj"}],
    )
    first = engine.completion(
        model=f"vertex_ai/{model}", messages=BOSTON, tools=[WEATHER_TOOL], reasoning_effort="high", **vx
    )
    (tool_call,) = first.choices[0].message.tool_calls
    assert tool_call.provider_specific_fields == {"thought_signature": "c2lnLWZj"}
    stripped = {"id": tool_call.id, "type": "function", "function": dict(tool_call.function)}
    engine.completion(
        model=f"vertex_ai/{model}",
        messages=[
            *BOSTON,
            {"role": "assistant", "content": None, "tool_calls": [stripped]},
            {"role": "tool", "tool_call_id": tool_call.id, "content": "5 C"},
        ],
        tools=[WEATHER_TOOL],
        **vx,
    )
    sent = emulator.requests(model)[1]["body"]
    assert_valid_request(sent)
    assert sent["contents"][1]["parts"] == [{"functionCall": call, "thoughtSignature": "c2lnLWZj"}]


def test_seed_tool_choice_required(emulator: Any, vx: dict[str, Any]) -> None:
    model = "gemini-1.5-pro-preview-0514"
    messages = [
        {"role": "system", "content": "Your name is Litellm Bot, you are a helpful assistant"},
        {"role": "user", "content": "Hello, what is your name and can you tell me the weather?"},
    ]
    tool = {"type": "function", "function": {**WEATHER_TOOL["function"], "name": "get_weather"}}
    emulator.script(
        model, [{"function_calls": [{"name": "get_weather", "args": {"location": "San Francisco, CA"}}]}]
    )
    resp = engine.completion(
        model=f"vertex_ai/{model}", messages=messages, tools=[tool], tool_choice="required", **vx
    )
    assert resp.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert only_request(emulator, model)["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
