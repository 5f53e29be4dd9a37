"""Every endpoint through the official ``openai`` client (sync and async), proxy backed by the emulator."""

from __future__ import annotations

import base64
import json
from typing import Any

import openai
import pytest

from engine.proxy import BackgroundProxy
from tests.conformance import assert_valid_request
from tests.fixtures.load import load
from tests.proxy.conftest import MASTER_KEY, upstream_paths

HELLO = [{"role": "user", "content": "what llm are you"}]


def client(proxy: BackgroundProxy, key: str = MASTER_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)


def aclient(proxy: BackgroundProxy, key: str = MASTER_KEY) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)


def test_chat_sync(standard: BackgroundProxy, emulator: Any) -> None:
    resp = client(standard).chat.completions.create(
        model="gemini-vision", messages=HELLO, temperature=0.2, max_tokens=50
    )
    assert resp.object == "chat.completion"
    assert resp.choices[0].message.role == "assistant"
    assert "what llm are you" in resp.choices[0].message.content  # the emulator echoes the prompt
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens > 0
    # only this call's request: in random order a previous test's late request may reach the shared emulator
    (sent,) = [
        r
        for r in emulator.requests()
        if r["path"].endswith(":generateContent")
        and (r["body"].get("generationConfig") or {}).get("maxOutputTokens") == 50
    ]
    assert sent["body"]["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 50}
    assert_valid_request(sent["body"])


async def test_chat_async(standard: BackgroundProxy) -> None:
    async with aclient(standard) as api:
        resp = await api.chat.completions.create(model="gemini-vision", messages=HELLO)
    assert "what llm are you" in resp.choices[0].message.content
    assert resp.choices[0].finish_reason == "stop"


def test_chat_without_v1_prefix(standard: BackgroundProxy) -> None:
    api = openai.OpenAI(base_url=standard.url, api_key=MASTER_KEY, max_retries=0)
    assert api.chat.completions.create(model="gemini-vision", messages=HELLO).choices[0].message.content


def test_stream_sync_passes_chunks_and_done(standard: BackgroundProxy, emulator: Any) -> None:
    fixture = load("gemini/generate_content_stream.json")
    emulator.script("gemini-2.5-flash", [{"stream_events": fixture["events"]}])
    chunks = list(client(standard).chat.completions.create(model="gemini-flash", messages=HELLO, stream=True))
    published = "".join(
        p["text"] for e in fixture["events"] for c in e["candidates"] for p in c["content"].get("parts", [])
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == published
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)  # include_usage was not asked for
    assert any(p.endswith(":streamGenerateContent") for p in upstream_paths(emulator, "GenerateContent"))


async def test_stream_async_include_usage(standard: BackgroundProxy, emulator: Any) -> None:
    fixture = load("gemini/generate_content_stream.json")
    emulator.script("gemini-2.5-flash", [{"stream_events": fixture["events"]}])
    async with aclient(standard) as api:
        stream = await api.chat.completions.create(
            model="gemini-flash", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        chunks = [c async for c in stream]
    last = fixture["events"][-1]["usageMetadata"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage.prompt_tokens == last["promptTokenCount"]
    assert chunks[-1].usage.total_tokens == last["totalTokenCount"]


def test_tools_round_trip(standard: BackgroundProxy, emulator: Any) -> None:
    fixture = load("gemini/generate_content_function_call.json")
    emulator.script("gemini-2.5-flash", [{"json": fixture["body"]}])
    tools = [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": f"{name} of x and y",
                "parameters": {
                    "type": "object",
                    "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                },
            },
        }
        for name in ("sum", "multiply", "subtract")
    ]
    resp = client(standard).chat.completions.create(
        model="gemini-flash", messages=HELLO, tools=tools, tool_choice="auto"
    )
    calls = resp.choices[0].message.tool_calls
    published = [
        p["functionCall"] for p in fixture["body"]["candidates"][0]["content"]["parts"] if "functionCall" in p
    ]
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        (p["name"], p["args"]) for p in published
    ]
    assert resp.choices[0].finish_reason == "tool_calls"
    sent = [r for r in emulator.requests() if r["path"].endswith(":generateContent")][-1]["body"]
    assert [d["name"] for t in sent["tools"] for d in t["functionDeclarations"]] == [
        "sum",
        "multiply",
        "subtract",
    ]
    assert_valid_request(sent)


def test_json_schema_response_format(standard: BackgroundProxy, emulator: Any) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    resp = client(standard).chat.completions.create(
        model="gemini-flash",
        messages=HELLO,
        response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema}},
    )
    assert isinstance(json.loads(resp.choices[0].message.content)["city"], str)
    sent = [r for r in emulator.requests() if r["path"].endswith(":generateContent")][-1]["body"]
    assert sent["generationConfig"]["responseMimeType"] == "application/json"
    assert_valid_request(sent)


def test_vertex_extras_pass_through_extra_body(standard: BackgroundProxy, emulator: Any) -> None:
    safety = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    client(standard).chat.completions.create(
        model="gemini-flash", messages=HELLO, extra_body={"safety_settings": safety}
    )
    sent = [r for r in emulator.requests() if r["path"].endswith(":generateContent")][-1]["body"]
    assert sent["safetySettings"] == safety


def test_embeddings(standard: BackgroundProxy, emulator: Any) -> None:
    resp = client(standard).embeddings.create(model="embedder", input=["good morning", "good night"])
    assert [d.index for d in resp.data] == [0, 1]
    # text-embedding-005 answers 768 dimensions by default; the two inputs get different vectors
    assert [len(d.embedding) for d in resp.data] == [768, 768]
    assert all(isinstance(x, float) for d in resp.data for x in d.embedding)
    assert resp.data[0].embedding != resp.data[1].embedding
    sent = [r for r in emulator.requests() if r["path"].endswith(":predict")][-1]
    assert [i["content"] for i in sent["body"]["instances"]] == ["good morning", "good night"]


async def test_images_async(standard: BackgroundProxy, emulator: Any) -> None:
    async with aclient(standard) as api:
        resp = await api.images.generate(model="painter", prompt="a lighthouse at dawn", n=1)
    assert len(resp.data) == 1 and base64.b64decode(resp.data[0].b64_json)
    sent = [r for r in emulator.requests() if r["path"].endswith(":predict")][-1]
    assert sent["body"]["instances"][0]["prompt"] == "a lighthouse at dawn"


def test_speech_returns_audio_bytes(standard: BackgroundProxy, emulator: Any) -> None:
    resp = client(standard).audio.speech.create(model="voice", input="hello there", voice="alloy")
    audio = resp.read()
    assert audio.startswith(b"ID3")  # mp3 (OpenAI's default format), as the emulator encodes it
    sent = [r for r in emulator.requests() if r["path"].endswith("text:synthesize")][-1]
    assert sent["body"]["input"]["text"] == "hello there"


def test_models_list_and_get(standard: BackgroundProxy) -> None:
    api = client(standard)
    names = [m.id for m in api.models.list().data]
    assert names == ["gemini-vision", "gemini-flash", "embedder", "painter", "voice"]
    assert api.models.retrieve("embedder").id == "embedder"
    with pytest.raises(openai.NotFoundError):
        api.models.retrieve("nope")


def test_health_needs_no_key(standard: BackgroundProxy) -> None:
    import httpx

    assert httpx.get(standard.url + "/health/liveliness").json() == "I'm alive!"
    ready = httpx.get(standard.url + "/health/readiness")
    assert (
        ready.status_code == 200 and ready.json()["status"] == "healthy" and ready.json()["deployments"] == 6
    )


@pytest.mark.parametrize(
    "extra",
    [{"reasoning_effort": "low"}, {"extra_body": {"thinking": {"type": "enabled", "budget_tokens": 1024}}}],
    ids=["reasoning_effort", "thinking"],
)
def test_thinking_params_reach_vertex(
    standard: BackgroundProxy, emulator: Any, extra: dict[str, Any]
) -> None:
    client(standard).chat.completions.create(model="gemini-flash", messages=HELLO, **extra)
    sent = [r for r in emulator.requests() if r["path"].endswith(":generateContent")][-1]["body"]
    assert sent["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 1024, "includeThoughts": True}
    assert_valid_request(sent)
