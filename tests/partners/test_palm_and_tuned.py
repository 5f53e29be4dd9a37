"""Retired PaLM 2 models through :predict, and tuned Gemini models on an endpoint.

Golden fixture: tests/fixtures/partners/palm_chat_bison.json (a published chat-bison :predict
request and recorded response). Request bodies are validated against the Vertex AI v1
discovery document (GoogleCloudAiplatformV1PredictRequest / GenerateContentRequest).
"""

from __future__ import annotations

from typing import Any

import pytest

import engine
from tests.conformance import (
    assert_chat_chunk,
    assert_chat_completion,
    assert_completion,
    assert_valid_request,
)
from tests.fixtures.load import load
from tests.partners.helpers import prepared

PREDICT = "GoogleCloudAiplatformV1PredictRequest"
ASTRONOMER = "You are an astronomer, knowledgeable about the solar system."
QUESTION = "How many planets are there in the solar system?"


def test_chat_bison_request_matches_the_published_instance(vx: dict[str, Any]) -> None:
    messages = [{"role": "system", "content": ASTRONOMER}, {"role": "user", "content": QUESTION}]
    call = prepared(
        "chat", model="vertex_ai/chat-bison", messages=messages, temperature=0.2, max_tokens=256, **vx
    )
    # The published request leaves out the optional "author"; the engine names it (user / bot).
    assert call.body == {
        "instances": [{"context": ASTRONOMER, "messages": [{"author": "user", "content": QUESTION}]}],
        "parameters": {"temperature": 0.2, "maxOutputTokens": 256},
    }
    assert call.url.endswith("/publishers/google/models/chat-bison:predict")
    assert_valid_request(call.body, schema=PREDICT)


def test_chat_bison_reply(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("partners/palm_chat_bison.json")["body"]
    emulator.script("chat-bison", [{"json": golden}])
    resp = engine.completion(
        model="vertex_ai/chat-bison", messages=[{"role": "user", "content": QUESTION}], **vx
    )
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == golden["predictions"][0]["candidates"][0]["content"]
    assert resp.choices[0].finish_reason == "stop"
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (21, 26)
    assert resp._hidden_params["safety_attributes"] == [golden["predictions"][0]["safetyAttributes"]]


def test_blocked_palm_answer_is_a_content_filter(emulator: Any, vx: dict[str, Any]) -> None:
    blocked = {
        "predictions": [
            {"content": "", "safetyAttributes": {"blocked": True, "categories": [], "scores": []}}
        ]
    }
    emulator.script("text-bison", [{"json": blocked}])
    resp = engine.completion(model="vertex_ai/text-bison", messages=[{"role": "user", "content": "x"}], **vx)
    assert resp.choices[0].finish_reason == "content_filter"


def test_multi_turn_chat_uses_user_and_bot_authors(emulator: Any, vx: dict[str, Any]) -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Bye"},
    ]
    resp = engine.completion(model="vertex_ai/codechat-bison@001", messages=messages, **vx)
    assert resp.choices[0].message.content == "Echo: Bye"
    (logged,) = emulator.requests("codechat-bison@001")
    assert [m["author"] for m in logged["body"]["instances"][0]["messages"]] == ["user", "bot", "user"]
    assert_valid_request(logged["body"], schema=PREDICT)


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ("text-bison", "prompt"),
        ("text-bison@001", "prompt"),
        ("code-bison", "prefix"),
        ("code-gecko@latest", "prefix"),
    ],
)
def test_completion_on_text_models_flattens_the_conversation(
    emulator: Any, vx: dict[str, Any], model: str, field: str
) -> None:
    """The seed calls completion('text-bison', messages): the conversation becomes the model's prompt."""
    messages = [
        {"role": "system", "content": "Answer in Python."},
        {"role": "user", "content": "sort a list"},
    ]
    resp = engine.completion(model="vertex_ai/" + model, messages=messages, **vx)
    assert_chat_completion(resp)
    (logged,) = emulator.requests(model)
    assert logged["body"]["instances"] == [{field: "Answer in Python.\n\nsort a list"}]
    assert_valid_request(logged["body"], schema=PREDICT)


def test_text_completion_with_fim_suffix_on_code_gecko(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.text_completion(
        model="vertex_ai/code-gecko@001", prompt="def add(a, b):", suffix="return c", max_tokens=32, **vx
    )
    assert_completion(resp)
    assert resp.choices[0].text == "Echo: def add(a, b):"
    (logged,) = emulator.requests("code-gecko@001")
    assert logged["body"] == {
        "instances": [{"prefix": "def add(a, b):", "suffix": "return c"}],
        "parameters": {"maxOutputTokens": 32},
    }


def test_palm_limits_and_unsupported_features(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.UnsupportedParamsError, match="suffix"):
        prepared("text_completion", model="vertex_ai/text-bison", prompt="x", suffix="y", **vx)
    with pytest.raises(engine.BadRequestError, match="max_tokens"):
        prepared("text_completion", model="vertex_ai/code-gecko@001", prompt="x", max_tokens=65, **vx)
    with pytest.raises(engine.BadRequestError, match="streaming"):
        prepared(
            "chat",
            model="vertex_ai/chat-bison",
            messages=[{"role": "user", "content": "x"}],
            stream=True,
            **vx,
        )
    with pytest.raises(engine.NotFoundError):
        prepared("text_completion", model="vertex_ai/chat-bison", prompt="x", **vx)
    with pytest.raises(engine.BadRequestError, match="text only"):
        prepared(
            "chat",
            model="vertex_ai/chat-bison",
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}],
            **vx,
        )


def test_palm_models_are_marked_retired() -> None:
    from engine.registry import default_registry

    entry = default_registry().resolve("vertex_ai/chat-bison@001", "chat").entry
    assert entry.capabilities["retired"] is True


# --------------------------------------------------------------------------- tuned Gemini on an endpoint

TUNED = "vertex_ai/gemini/4965075652664360960"


def test_tuned_gemini_uses_the_endpoint(
    emulator: Any, vx: dict[str, Any], service_account: dict[str, Any]
) -> None:
    resp = engine.completion(
        model=TUNED, messages=[{"content": "Hello, how are you?", "role": "user"}], temperature=0.3, **vx
    )
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == "Echo: Hello, how are you?"
    (logged,) = emulator.requests("4965075652664360960")
    project = service_account["project_id"]
    assert (
        logged["path"]
        == f"/v1/projects/{project}/locations/us-central1/endpoints/4965075652664360960:generateContent"
    )
    assert_valid_request(logged["body"])


def test_tuned_gemini_streams_and_calls_tools(emulator: Any, vx: dict[str, Any]) -> None:
    tool = load("openai_compat/request_tools.json")["body"]["tools"][0]
    emulator.script(
        "4965075652664360960",
        [{"function_calls": [{"name": "get_current_weather", "args": {"location": "Boston"}}]}],
    )
    chunks = list(
        engine.completion(
            model=TUNED, messages=[{"role": "user", "content": "weather?"}], tools=[tool], stream=True, **vx
        )
    )
    for chunk in chunks:
        assert_chat_chunk(chunk)
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.get("tool_calls") or []]
    assert calls[0].function.name == "get_current_weather"
    assert emulator.requests("4965075652664360960")[0]["path"].endswith(
        "/endpoints/4965075652664360960:streamGenerateContent"
    )
