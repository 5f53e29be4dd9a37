"""OpenAI-format partner families: Llama MaaS, Mistral (+ Codestral FIM), AI21 Jamba, Model Garden endpoints.

Golden fixtures (tests/fixtures/): partners/mistral_vertex_chat_request.json and
partners/codestral_vertex_fim_request.json (Mistral's Vertex AI deployment guide),
openai_compat/mistral_chat_response.json (Mistral's API reference example),
openai_compat/chat_completion*.json, chat_tool_calls.json and request_tools.json (OpenAI's
API reference examples: the shapes Vertex's OpenAI-compatible endpoint returns).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import engine
from tests.conformance import (
    assert_chat_chunk,
    assert_chat_completion,
    assert_completion,
    assert_embedding_response,
)
from tests.fixtures.load import load
from tests.partners.helpers import assert_openai_request, prepared

LLAMA = "meta/llama3-405b-instruct-maas"
HI = [{"role": "user", "content": "hi"}]

# (model as called, script key in the emulator, path suffix of the chat URL, path suffix when streamed)
FAMILIES = [
    (
        "vertex_ai/" + LLAMA,
        LLAMA,
        "/endpoints/openapi/chat/completions",
        "/endpoints/openapi/chat/completions",
    ),
    (
        "vertex_ai/mistral-large@2407",
        "mistral-large@2407",
        "/publishers/mistralai/models/mistral-large@2407:rawPredict",
        "/publishers/mistralai/models/mistral-large@2407:streamRawPredict",
    ),
    (
        "vertex_ai/jamba-1.5-mini@001",
        "jamba-1.5-mini@001",
        "/publishers/ai21/models/jamba-1.5-mini@001:rawPredict",
        "/publishers/ai21/models/jamba-1.5-mini@001:streamRawPredict",
    ),
    (
        "vertex_ai/openai/4965075652664360960",
        "4965075652664360960",
        "/endpoints/4965075652664360960/chat/completions",
        "/endpoints/4965075652664360960/chat/completions",
    ),
]
IDS = ["llama", "mistral", "ai21", "model_garden"]


# --------------------------------------------------------------------------- golden requests


def test_mistral_chat_body_matches_mistrals_vertex_example(vx: dict[str, Any]) -> None:
    golden = load("partners/mistral_vertex_chat_request.json")["body"]
    call = prepared(
        "chat", model="vertex_ai/mistral-large@2407", messages=golden["messages"], temperature=0, **vx
    )
    assert call.body == {k: v for k, v in golden.items() if k != "stream"}  # "stream": false is the default
    assert call.url.endswith(
        "/locations/us-central1/publishers/mistralai/models/mistral-large@2407:rawPredict"
    )


def test_codestral_fim_body_matches_mistrals_vertex_example(vx: dict[str, Any]) -> None:
    golden = load("partners/codestral_vertex_fim_request.json")["body"]
    call = prepared(
        "text_completion",
        model="vertex_ai/codestral@2405",
        prompt=golden["prompt"],
        suffix=golden["suffix"],
        **vx,
    )
    assert call.body == {k: v for k, v in golden.items() if k != "stream"}
    assert call.url.endswith("/publishers/mistralai/models/codestral@2405:rawPredict")


def test_the_seeds_codestral_fim_call(vx: dict[str, Any]) -> None:
    """The seed's text_completion example, argument for argument."""
    call = prepared(
        "text_completion",
        model="vertex_ai/codestral@2405",
        prompt="def is_odd(n): \n return n % 2 == 1 \ndef test_is_odd():",
        suffix="return True",
        temperature=0,
        top_p=1,
        max_tokens=10,
        min_tokens=10,
        seed=10,
        stop=["return"],
        **vx,
    )
    assert call.body == {
        "model": "codestral",
        "prompt": "def is_odd(n): \n return n % 2 == 1 \ndef test_is_odd():",
        "suffix": "return True",
        "temperature": 0,
        "top_p": 1,
        "max_tokens": 10,
        "min_tokens": 10,
        "random_seed": 10,
        "stop": ["return"],
    }


def test_openai_tools_request_reaches_llama_unchanged(vx: dict[str, Any]) -> None:
    golden = load("openai_compat/request_tools.json")["body"]
    call = prepared(
        "chat", model="vertex_ai/" + LLAMA, **{k: v for k, v in golden.items() if k != "model"}, **vx
    )
    assert call.body == {**golden, "model": LLAMA}
    assert_openai_request(call.body)


def test_replayed_assistant_messages_are_reduced_to_openai_fields(vx: dict[str, Any]) -> None:
    replayed = {
        "role": "assistant",
        "content": "ok",
        "reasoning_content": "thought",
        "thinking_blocks": [{"type": "thinking", "thinking": "t", "signature": "s"}],
        "function_call": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "f", "arguments": "{}"},
                "provider_specific_fields": {},
            }
        ],
    }
    body = prepared("chat", model="vertex_ai/mistral-large@2407", messages=[*HI, replayed], **vx).body
    assert body["messages"][1] == {
        "role": "assistant",
        "content": "ok",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }


def test_family_specific_parameters(vx: dict[str, Any]) -> None:
    mistral = prepared("chat", model="vertex_ai/mistral-nemo@latest", messages=HI, seed=7, **vx).body
    assert mistral["random_seed"] == 7 and "seed" not in mistral and mistral["model"] == "mistral-nemo"
    assert_openai_request(mistral, extra=frozenset({"random_seed"}))
    with pytest.raises(AssertionError, match="random_seed"):
        assert_openai_request(mistral)  # the check does catch fields OpenAI's params do not define
    llama = prepared("chat", model="vertex_ai/" + LLAMA, messages=HI, seed=7, user="u1", **vx).body
    assert llama["seed"] == 7 and llama["user"] == "u1"
    with pytest.raises(engine.UnsupportedParamsError, match="seed"):
        prepared("chat", model="vertex_ai/jamba-1.5-large@001", messages=HI, seed=7, **vx)
    with pytest.raises(engine.BadRequestError, match="'n'"):
        prepared("chat", model="vertex_ai/jamba-1.5-large@001", messages=HI, n=17, **vx)


def test_fim_is_only_for_codestral(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.NotFoundError, match="text_completion"):
        prepared("text_completion", model="vertex_ai/mistral-large@2407", prompt="x", **vx)


@pytest.mark.parametrize(
    ("model", "location"),
    [
        (LLAMA, "us-central1"),
        ("meta/llama-3.2-90b-vision-instruct-maas", "us-central1"),
        ("meta/llama-4-maverick-17b-128e-instruct-maas", "us-east5"),
        ("meta/llama-4-scout-128b-16e-instruct-maas", "us-east5"),  # the seed's call-form name
    ],
)
def test_llama_default_location_per_model(
    emulator: Any, service_account: dict[str, Any], model: str, location: str
) -> None:
    call = prepared(
        "chat",
        model="vertex_ai/" + model,
        messages=HI,
        api_base=emulator.url,
        vertex_credentials=service_account,
    )
    assert f"/locations/{location}/endpoints/openapi/chat/completions" in call.url


def test_explicit_location_wins_over_the_specs(vx: dict[str, Any]) -> None:
    call = prepared("chat", model="vertex_ai/meta/llama-4-maverick-17b-128e-instruct-maas", messages=HI, **vx)
    assert "/locations/us-central1/" in call.url


# --------------------------------------------------------------------------- golden replies (through the emulator)


def test_openai_reply_from_llama(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("openai_compat/chat_completion.json")["body"]
    emulator.script(LLAMA, [{"json": golden}])
    resp = engine.completion(model="vertex_ai/" + LLAMA, messages=HI, **vx)
    assert_chat_completion(resp)
    assert resp.id == golden["id"] and resp.created == golden["created"]
    assert resp.choices[0].message.content == "Hello! How can I assist you today?"
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (19, 10, 29)
    assert resp._hidden_params["upstream_model"] == golden["model"]


def test_openai_tool_call_reply_from_model_garden(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("openai_compat/chat_tool_calls.json")["body"]
    emulator.script("4965075652664360960", [{"json": golden}])
    resp = engine.completion(model="vertex_ai/openai/4965075652664360960", messages=HI, **vx)
    assert_chat_completion(resp)
    (call,) = resp.choices[0].message.tool_calls
    assert call.id == "call_abc123" and call.function.name == "get_current_weather"
    assert json.loads(call.function.arguments) == {"location": "Boston, MA"}
    assert resp.choices[0].finish_reason == "tool_calls"


def test_mistrals_published_reply(emulator: Any, vx: dict[str, Any]) -> None:
    """Mistral's example has object-valued tool arguments and no tool-call 'type': both are normalized."""
    golden = load("openai_compat/mistral_chat_response.json")["body"]
    emulator.script("mistral-large@2407", [{"json": golden}])
    resp = engine.completion(model="vertex_ai/mistral-large@2407", messages=HI, **vx)
    assert_chat_completion(resp)
    (call,) = resp.choices[0].message.tool_calls
    assert call.type == "function" and call.function.arguments == "{}"
    assert resp.choices[0].finish_reason == "tool_calls"
    assert resp.usage.total_tokens == 50


def test_codestral_fim_reply_is_a_text_completion(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("openai_compat/mistral_chat_response.json")[
        "body"
    ]  # FIM answers with this chat-completion shape
    emulator.script("codestral@2405", [{"json": golden}])
    resp = engine.text_completion(model="vertex_ai/codestral@2405", prompt="def f(", suffix="return 1", **vx)
    assert_completion(resp)
    assert resp.object == "text_completion" and resp.choices[0].text == "string"
    assert resp.usage.prompt_tokens == 16 and resp.usage.completion_tokens == 34


def test_openai_stream_events_from_llama(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("openai_compat/chat_completion_stream.json")["events"]
    emulator.script(LLAMA, [{"stream_events": [*golden, "[DONE]"]}])
    chunks = list(engine.completion(model="vertex_ai/" + LLAMA, messages=HI, stream=True, **vx))
    for chunk in chunks:
        assert_chat_chunk(chunk)
    assert "".join(c.choices[0].delta.get("content") or "" for c in chunks) == "Hello"
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[-1].choices[0].finish_reason == "stop"
    assert {c.id for c in chunks} == {"chatcmpl-123"}


# --------------------------------------------------------------------------- emulator behavior per family


@pytest.mark.parametrize(("model", "key", "path", "stream_path"), FAMILIES, ids=IDS)
def test_unary_and_streamed_calls(
    emulator: Any, vx: dict[str, Any], model: str, key: str, path: str, stream_path: str
) -> None:
    resp = engine.completion(
        model=model, messages=[{"role": "system", "content": "Be brief."}, *HI], max_tokens=20, **vx
    )
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == "Echo: hi" and resp.usage.total_tokens > 0
    chunks = list(
        engine.completion(model=model, messages=HI, stream=True, stream_options={"include_usage": True}, **vx)
    )
    for chunk in chunks:
        assert_chat_chunk(chunk)
    assert "".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices) == "Echo: hi"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert "usage" in chunks[-1]
    unary, streamed = emulator.requests(key)
    assert unary["path"].endswith(path) and streamed["path"].endswith(stream_path)
    assert unary["body"]["max_tokens"] == 20 and "stream" not in unary["body"]
    assert_openai_request(unary["body"], model=key)
    assert_openai_request(streamed["body"], model=key)
    assert streamed["body"]["stream"] is True


@pytest.mark.parametrize(("model", "key", "path", "stream_path"), FAMILIES, ids=IDS)
async def test_streamed_tool_calls(
    emulator: Any, vx: dict[str, Any], model: str, key: str, path: str, stream_path: str
) -> None:
    tool = load("openai_compat/request_tools.json")["body"]["tools"][0]
    emulator.script(
        key, [{"function_calls": [{"name": "get_current_weather", "args": {"location": "Paris"}}]}]
    )
    stream = await engine.acompletion(
        model=model, messages=HI, tools=[tool], tool_choice="auto", stream=True, **vx
    )
    chunks = [c async for c in stream]
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.get("tool_calls") or []]
    assert deltas[0].function.name == "get_current_weather" and deltas[0].id
    assert json.loads("".join(d.function.arguments for d in deltas)) == {"location": "Paris"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert emulator.requests(key)[0]["body"]["tools"] == [tool]


@pytest.mark.parametrize(("model", "key", "path", "stream_path"), FAMILIES, ids=IDS)
def test_errors_are_typed(
    emulator: Any, vx: dict[str, Any], model: str, key: str, path: str, stream_path: str
) -> None:
    emulator.script(key, [{"status": 429, "retry_after": 0}, {"status": 400, "message": "bad request"}])
    with pytest.raises(engine.RateLimitError):
        engine.completion(model=model, messages=HI, **vx)
    with pytest.raises(engine.BadRequestError, match="bad request"):
        engine.completion(model=model, messages=HI, **vx)


def test_retry_then_success(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(LLAMA, [{"status": 503, "retry_after": 0}, {"text": "fine"}])
    assert (
        engine.completion(model="vertex_ai/" + LLAMA, messages=HI, num_retries=1, **vx)
        .choices[0]
        .message.content
        == "fine"
    )


async def test_codestral_fim_end_to_end_and_streamed(emulator: Any, vx: dict[str, Any]) -> None:
    resp = await engine.atext_completion(
        model="vertex_ai/codestral@latest", prompt="def add(a, b):", suffix="return c", max_tokens=64, **vx
    )
    assert_completion(resp)
    assert resp.choices[0].text == "Echo: def add(a, b):"
    stream = await engine.atext_completion(
        model="vertex_ai/codestral@latest", prompt="def add(a, b):", stream=True, **vx
    )
    text = "".join([c.choices[0].delta.get("content") or "" async for c in stream])
    assert text == "Echo: def add(a, b):"
    unary, streamed = emulator.requests("codestral@latest")
    assert unary["body"] == {
        "model": "codestral",
        "prompt": "def add(a, b):",
        "suffix": "return c",
        "max_tokens": 64,
    }
    assert (
        streamed["path"].endswith("/codestral@latest:streamRawPredict") and streamed["body"]["stream"] is True
    )


def test_model_garden_embeddings(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.embedding(
        model="vertex_ai/openai/4965075652664360960", input=["hello", "world"], dimensions=8, **vx
    )
    assert_embedding_response(resp)
    assert [d.index for d in resp.data] == [0, 1] and all(len(d.embedding) == 8 for d in resp.data)
    assert resp.data[0].embedding != resp.data[1].embedding
    (logged,) = emulator.requests("4965075652664360960")
    assert logged["path"].endswith("/endpoints/4965075652664360960/embeddings")
    assert logged["body"] == {"input": ["hello", "world"], "dimensions": 8}


def test_unknown_endpoint_is_not_found(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.mark_unknown("404404")
    with pytest.raises(engine.NotFoundError, match="404404"):
        engine.completion(model="vertex_ai/openai/404404", messages=HI, **vx)
