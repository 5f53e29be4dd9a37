"""OpenAI-format families: MaaS (openapi endpoint), Model Garden endpoints, Mistral/Codestral, AI21.

Bodies: Vertex's Llama MaaS guide (model "meta/llama3-405b-instruct-maas",
https://cloud.google.com/vertex-ai/generative-ai/docs/maas/llama/use-llama), Mistral's
chat and FIM requests (https://docs.mistral.ai/api/ — FIM ``{model, prompt, suffix}``),
AI21 Jamba chat (OpenAI-like messages). Driven with the real ``openai`` SDK where it applies.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from engine.emulator import Emulator

from .helpers import model_path, parent_path, sse_data

LLAMA = "meta/llama3-405b-instruct-maas"
HELLO = [{"role": "user", "content": "Summer travel plan to Paris"}]


@pytest.fixture
def maas(emulator: Emulator, token: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{emulator.url}{parent_path()}/endpoints/openapi", api_key=token, max_retries=0
    )


def test_maas_chat_with_openai_sdk(maas: openai.OpenAI) -> None:
    answer = maas.chat.completions.create(model=LLAMA, messages=HELLO)
    assert answer.object == "chat.completion" and answer.model == LLAMA
    assert answer.choices[0].message.content == "Echo: Summer travel plan to Paris"
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (
        5,
        7,
        12,
    )


def test_maas_stream_with_usage(maas: openai.OpenAI) -> None:
    chunks = list(
        maas.chat.completions.create(
            model=LLAMA, messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: Summer travel plan to Paris"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.total_tokens == 12


def test_maas_tool_calls(emulator: Emulator, maas: openai.OpenAI) -> None:
    emulator.script(LLAMA, [{"function_calls": [{"name": "get_weather", "args": {"city": "Paris"}}]}])
    answer = maas.chat.completions.create(model=LLAMA, messages=HELLO)
    [call] = answer.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert answer.choices[0].finish_reason == "tool_calls"


def test_maas_json_schema_response_format(maas: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "nights": {"type": "integer"}}}
    answer = maas.chat.completions.create(
        model=LLAMA,
        messages=HELLO,
        response_format={"type": "json_schema", "json_schema": {"name": "plan", "schema": schema}},
    )
    assert json.loads(answer.choices[0].message.content) == {
        "city": "Echo: Summer travel plan to Paris",
        "nights": 0,
    }


def test_maas_max_tokens_and_stop(maas: openai.OpenAI) -> None:
    short = maas.chat.completions.create(model=LLAMA, messages=HELLO, max_tokens=3)
    assert (short.choices[0].message.content, short.choices[0].finish_reason) == ("Echo: Summer", "length")
    stopped = maas.chat.completions.create(model=LLAMA, messages=HELLO, stop=[" to"])
    assert (stopped.choices[0].message.content, stopped.choices[0].finish_reason) == (
        "Echo: Summer travel plan",
        "stop",
    )


def test_maas_requires_messages_and_knows_unknown_models(emulator: Emulator, client: httpx.Client) -> None:
    path = f"{parent_path()}/endpoints/openapi/chat/completions"
    assert client.post(path, json={"model": LLAMA}).status_code == 400
    emulator.mark_unknown("meta/nope-maas")
    missing = client.post(path, json={"model": "meta/nope-maas", "messages": HELLO})
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"


def test_model_garden_endpoint_chat(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script("98765", [{"text": "garden"}])
    body = client.post(f"{parent_path()}/endpoints/98765/chat/completions", json={"messages": HELLO}).json()
    assert body["choices"][0]["message"]["content"] == "garden"


def test_mistral_raw_predict_and_stream(client: httpx.Client) -> None:
    body = {"model": "mistral-large-2411", "messages": HELLO}
    unary = client.post(
        model_path("mistral-large-2411", "rawPredict", publisher="mistralai"), json=body
    ).json()
    assert unary["choices"][0]["message"]["content"] == "Echo: Summer travel plan to Paris"
    streamed = client.post(
        model_path("mistral-large-2411", "streamRawPredict", publisher="mistralai"),
        json={**body, "stream": True},
    )
    payloads = sse_data(streamed.text)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert (
        "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        == "Echo: Summer travel plan to Paris"
    )


@pytest.mark.parametrize(
    ("publisher", "model"), [("mistralai", "mistral-large@2407"), ("ai21", "jamba-1.5-mini@001")]
)
def test_partner_streams_end_with_usage_unasked(client: httpx.Client, publisher: str, model: str) -> None:
    """Mistral and AI21 put usage on the finishing chunk even without stream_options."""
    streamed = client.post(
        model_path(model, "streamRawPredict", publisher=publisher), json={"messages": HELLO}
    )
    chunks = [json.loads(p) for p in sse_data(streamed.text)[:-1]]
    assert [c.get("usage") for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}


def test_maas_stream_without_stream_options_has_no_usage(maas: openai.OpenAI) -> None:
    """OpenAI-style servers send usage in a stream only when asked."""
    chunks = list(maas.chat.completions.create(model=LLAMA, messages=HELLO, stream=True))
    assert all(c.usage is None for c in chunks) and chunks[-1].choices[0].finish_reason == "stop"


def test_codestral_fim(client: httpx.Client) -> None:
    body = {"model": "codestral-2501", "prompt": "def fibonacci(n):", "suffix": "return result"}
    answer = client.post(model_path("codestral-2501", "rawPredict", publisher="mistralai"), json=body).json()
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "Echo: def fibonacci(n):"}
    assert answer["usage"]["prompt_tokens"] == 8


def test_ai21_jamba_raw_predict(client: httpx.Client) -> None:
    body = {"model": "jamba-1.5-large", "messages": HELLO}
    answer = client.post(model_path("jamba-1.5-large@001", "rawPredict", publisher="ai21"), json=body).json()
    assert answer["choices"][0]["message"]["content"] == "Echo: Summer travel plan to Paris"


def test_endpoint_embeddings_are_deterministic(emulator: Emulator, token: str) -> None:
    garden = openai.OpenAI(
        base_url=f"{emulator.url}{parent_path()}/endpoints/555", api_key=token, max_retries=0
    )
    first = garden.embeddings.create(model="e5", input=["alpha", "beta"], dimensions=16)
    again = garden.embeddings.create(model="e5", input="alpha", dimensions=16)
    assert len(first.data) == 2 and len(first.data[0].embedding) == 16
    assert first.data[0].embedding == pytest.approx(again.data[0].embedding)
    assert first.data[0].embedding != pytest.approx(first.data[1].embedding)
