"""``/v1/responses`` end to end: the official ``openai`` client → proxy → engine → emulator, on Gemini and Claude."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.responses import Response

from engine.dialects.store import default_store
from tests.dialects.conftest import MASTER_KEY, UPSTREAM

MODELS = ["gemini", "claude"]
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get current temperature for a given location.",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City and country e.g. Bogotá, Colombia"}
        },
        "required": ["location"],
        "additionalProperties": False,
    },
    "strict": True,
}
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.fixture
def client(dialect_proxy: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key=MASTER_KEY, base_url=dialect_proxy.url + "/v1", max_retries=0)


def _bodies(emulator: Any, name: str) -> list[dict[str, Any]]:
    return [r["body"] for r in emulator.requests() if UPSTREAM[name] in r["path"]]


@pytest.mark.parametrize("name", MODELS)
def test_text_with_instructions(client: openai.OpenAI, emulator: Any, name: str) -> None:
    response = client.responses.create(
        model=name, instructions="Talk like a pirate.", input="Are semicolons optional in JavaScript?"
    )
    assert isinstance(response, Response) and response.status == "completed"
    assert response.output_text == "Echo: Are semicolons optional in JavaScript?"
    assert response.model == name and response.instructions == "Talk like a pirate."
    assert response.usage is not None and response.usage.input_tokens > 0 and response.usage.total_tokens > 0
    upstream = _bodies(emulator, name)[-1]
    system = upstream["systemInstruction"]["parts"][0]["text"] if name == "gemini" else upstream["system"]
    assert system == "Talk like a pirate."
    raw = client.responses.with_raw_response.create(model=name, input="strict check")
    Response.model_validate(json.loads(raw.text))  # every field the SDK's type requires is there


@pytest.mark.parametrize("name", MODELS)
def test_stream_text(client: openai.OpenAI, name: str) -> None:
    with client.responses.stream(model=name, input="Say hello in a stream") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds and "response.output_item.done" in kinds
    assert final.output_text == "Echo: Say hello in a stream"
    assert final.usage is not None and final.usage.output_tokens > 0


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("streamed", [False, True])
def test_function_tool_then_previous_response_id(
    client: openai.OpenAI, emulator: Any, name: str, streamed: bool
) -> None:
    emulator.script(
        UPSTREAM[name],
        [
            {
                "thought": "Weather lookup needed.",
                "thought_signature": "sig-resp-1",
                "function_calls": [{"name": "get_weather", "args": {"location": "Paris, France"}}],
            }
        ],
    )
    ask: dict[str, Any] = {
        "model": name,
        "input": "What is the weather like in Paris today?",
        "tools": [WEATHER],
        "reasoning": {"effort": "low"},
    }
    if streamed:
        with client.responses.stream(**ask) as stream:
            first = stream.get_final_response()
    else:
        first = client.responses.create(**ask)
    calls = [item for item in first.output if item.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_weather", {"location": "Paris, France"})
    ]
    assert any(item.type == "reasoning" for item in first.output)
    second = client.responses.create(
        model=name,
        previous_response_id=first.id,
        input=[
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "14 degrees and sunny"}
        ],
        tools=[WEATHER],
        reasoning={"effort": "low"},
    )
    assert "14 degrees and sunny" in second.output_text
    assert second.previous_response_id == first.id
    upstream = _bodies(emulator, name)[-1]
    if name == "gemini":  # the stored turn replays the thought signature on the function call
        call = next(p for p in upstream["contents"][1]["parts"] if "functionCall" in p)
        assert call["thoughtSignature"] == "sig-resp-1"
        assert upstream["contents"][0]["parts"][0]["text"] == "What is the weather like in Paris today?"
    else:  # Claude gets the thinking block with its signature back, before the tool_use
        blocks = upstream["messages"][1]["content"]
        assert blocks[0]["type"] == "thinking" and blocks[0]["signature"] == "sig-resp-1"
        assert blocks[0]["thinking"] == "Weather lookup needed."
        assert upstream["messages"][2]["content"][0]["type"] == "tool_result"


@pytest.mark.parametrize("name", MODELS)
def test_manual_replay_of_output_items_keeps_signatures(
    client: openai.OpenAI, emulator: Any, name: str
) -> None:
    """Without previous_response_id: the client sends the output items back itself (store=False)."""
    emulator.script(
        UPSTREAM[name],
        [
            {
                "thought": "Look it up.",
                "thought_signature": "sig-manual",
                "function_calls": [{"name": "get_weather", "args": {"location": "Oslo"}}],
            }
        ],
    )
    question = {"role": "user", "content": "Weather in Oslo?"}
    first = client.responses.create(
        model=name, input=[question], tools=[WEATHER], reasoning={"effort": "low"}, store=False
    )
    call = next(i for i in first.output if i.type == "function_call")
    replay = [question, *[i.model_dump(exclude_none=True) for i in first.output]]
    replay.append({"type": "function_call_output", "call_id": call.call_id, "output": "-3 degrees"})
    second = client.responses.create(model=name, input=replay, tools=[WEATHER], reasoning={"effort": "low"})
    assert "-3 degrees" in second.output_text
    upstream = _bodies(emulator, name)[-1]
    if name == "gemini":
        part = next(p for p in upstream["contents"][1]["parts"] if "functionCall" in p)
        assert part["thoughtSignature"] == "sig-manual"
    else:
        assert upstream["messages"][1]["content"][0]["signature"] == "sig-manual"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)  # store=False kept nothing


@pytest.mark.parametrize("name", MODELS)
def test_structured_output(client: openai.OpenAI, emulator: Any, name: str) -> None:
    if name == "claude":  # the emulator's Claude echoes; script the JSON answer the prompt asks for
        emulator.script(UPSTREAM[name], [{"text": json.dumps({"name": "Ada", "age": 36})}])
    response = client.responses.create(
        model=name,
        input="Extract: Ada is 36.",
        text={"format": {"type": "json_schema", "name": "person", "schema": PERSON, "strict": True}},
    )
    data = json.loads(response.output_text)
    assert set(data) == {"name", "age"} and isinstance(data["age"], int)
    assert response.text is not None and response.text.format.type == "json_schema"
    upstream = _bodies(emulator, name)[-1]
    if name == "gemini":
        assert upstream["generationConfig"]["responseMimeType"] == "application/json"
    else:  # the spec's way for this Claude model: a forced JSON tool or the schema in the system prompt
        assert "json_tool_call" in json.dumps(upstream.get("tools")) or "JSON schema" in json.dumps(
            upstream.get("system")
        )


@pytest.mark.parametrize("name", MODELS)
def test_reasoning_stream(client: openai.OpenAI, name: str) -> None:
    with client.responses.stream(model=name, input="Think about it", reasoning={"effort": "low"}) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.reasoning_summary_text.delta" in kinds
    reasoning = final.output[0]
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "Thinking about: Think about it"
    assert reasoning.encrypted_content  # the thought signature, for a manual replay
    assert final.output_text == "Echo: Think about it"


def test_retrieve_delete_cancel_and_ownership(start_proxy: Any, deployment: Any, emulator: Any) -> None:
    proxy = start_proxy(
        {
            "model_list": [deployment("gemini", "vertex_ai/gemini-2.5-flash")],
            "general_settings": {
                "master_key": MASTER_KEY,
                "keys": [
                    {"key": "sk-team-a-000000", "key_alias": "a"},
                    {"key": "sk-team-b-000000", "key_alias": "b"},
                ],
            },
        }
    )
    a = openai.OpenAI(api_key="sk-team-a-000000", base_url=proxy.url + "/v1", max_retries=0)
    b = openai.OpenAI(api_key="sk-team-b-000000", base_url=proxy.url + "/v1", max_retries=0)
    created = a.responses.create(model="gemini", input="remember me")
    assert a.responses.retrieve(created.id).output_text == "Echo: remember me"
    assert default_store().get(created.id) is None  # the proxy keeps its own store, not the library's
    with pytest.raises(openai.NotFoundError):
        b.responses.retrieve(created.id)  # another key's response does not exist for it
    with pytest.raises(openai.NotFoundError):
        b.responses.create(model="gemini", input="continue", previous_response_id=created.id)
    with pytest.raises(openai.BadRequestError) as cancel:
        a.responses.cancel(created.id)
    assert "background" in cancel.value.message
    spoofed = b.responses.create(
        model="gemini", input="mine", extra_body={"owner": "a", "response_store": "x"}
    )
    with pytest.raises(openai.NotFoundError):
        a.responses.retrieve(spoofed.id)  # the proxy sets the owner; a body cannot
    assert b.responses.retrieve(spoofed.id).output_text == "Echo: mine"
    a.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        a.responses.retrieve(created.id)


def test_unsupported_parameter_is_named(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(
            model="gemini", input="x", tools=[{"type": "code_interpreter", "container": {"type": "auto"}}]
        )
    assert "code_interpreter" in bad.value.message


def test_web_search_becomes_google_search(client: openai.OpenAI, emulator: Any) -> None:
    client.responses.create(model="gemini", input="news today", tools=[{"type": "web_search"}])
    assert _bodies(emulator, "gemini")[-1]["tools"] == [{"googleSearch": {}}]


def test_web_search_citations_become_url_annotations(client: openai.OpenAI, emulator: Any) -> None:
    from tests.fixtures.load import load

    candidate = load("gemini/generate_content_grounding.json")["body"]["candidates"][0]
    text = candidate["content"]["parts"][0]["text"]
    emulator.script(
        UPSTREAM["gemini"], [{"text": text, "grounding_metadata": candidate["groundingMetadata"]}]
    )
    response = client.responses.create(
        model="gemini", input="weather in London?", tools=[{"type": "web_search"}]
    )
    (part,) = response.output[-1].content  # type: ignore[union-attr]
    urls = {a.url for a in part.annotations}  # type: ignore[union-attr]
    assert "https://www.google.com/search?q=weather+in+London" in urls
    first = part.annotations[0]  # type: ignore[union-attr]
    assert first.type == "url_citation" and text[first.start_index : first.end_index].startswith(
        "The current"
    )


def test_web_search_on_claude_is_its_server_tool(client: openai.OpenAI, emulator: Any) -> None:
    """web_search becomes chat's web_search_options, which Claude's spec turns into Anthropic's web search tool."""
    client.responses.create(model="claude", input="news", tools=[{"type": "web_search"}])
    tools = _bodies(emulator, "claude")[-1]["tools"]
    assert [t["type"] for t in tools] == ["web_search_20250305"]
