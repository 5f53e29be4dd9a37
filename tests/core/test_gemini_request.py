"""Golden tests: OpenAI-format input → the exact Vertex AI generateContent request.

Every body is also validated against GoogleCloudAiplatformV1GenerateContentRequest from the
Vertex AI v1 discovery document (unknown fields rejected). The expected bodies follow the
request reference at
https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.publishers.models/generateContent
"""

from __future__ import annotations

from typing import Any

import pytest

import engine
from engine.api import prepare
from engine.errors import BadRequestError, UnsupportedParamsError
from tests.conformance import assert_valid_request
from tests.credentials import StaticToken

USER = [{"role": "user", "content": "Hello, how are you?"}]
BASE = {"vertex_credentials": StaticToken(), "vertex_project": "my-project", "vertex_location": "us-central1"}


def build(**kwargs: Any) -> Any:
    call = prepare("chat", {"model": "vertex_ai/gemini-2.5-flash", "messages": USER, **BASE, **kwargs})
    assert_valid_request(call.body)
    return call


def test_url_headers_and_minimal_body() -> None:
    call = build()
    assert call.method == "POST"
    assert call.url == (
        "https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/us-central1"
        "/publishers/google/models/gemini-2.5-flash:generateContent"
    )
    assert call.headers == {"content-type": "application/json"}
    assert call.body == {"contents": [{"role": "user", "parts": [{"text": "Hello, how are you?"}]}]}


def test_streaming_url_uses_sse() -> None:
    assert build(stream=True).url.endswith(
        "/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )


def test_global_location_uses_the_global_host() -> None:
    assert build(vertex_location="global").url.startswith(
        "https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/"
    )


def test_api_base_replaces_host_and_keeps_path() -> None:
    url = build(api_base="http://127.0.0.1:8080/").url
    assert url == (
        "http://127.0.0.1:8080/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    )


def test_tuned_model_endpoint() -> None:
    call = prepare("chat", {"model": "vertex_ai/gemini/4965075652664360960", "messages": USER, **BASE})
    assert call.url.endswith("/locations/us-central1/endpoints/4965075652664360960:generateContent")


@pytest.mark.parametrize(
    ("params", "generation_config"),
    [
        ({"temperature": 0.2}, {"temperature": 0.2}),
        ({"top_p": 0.9}, {"topP": 0.9}),
        ({"top_k": 40}, {"topK": 40}),
        ({"max_tokens": 300}, {"maxOutputTokens": 300}),
        ({"max_completion_tokens": 300}, {"maxOutputTokens": 300}),
        ({"stop": "END"}, {"stopSequences": ["END"]}),
        ({"stop": ["a", "b"]}, {"stopSequences": ["a", "b"]}),
        ({"n": 2}, {"candidateCount": 2}),
        ({"seed": 7}, {"seed": 7}),
        ({"logprobs": True, "top_logprobs": 3}, {"responseLogprobs": True, "logprobs": 3}),
    ],
)
def test_generation_config_mapping(params: dict[str, Any], generation_config: dict[str, Any]) -> None:
    assert build(**params).body["generationConfig"] == generation_config


@pytest.mark.parametrize(
    ("params", "generation_config"),
    [
        ({"presence_penalty": 0.5}, {"presencePenalty": 0.5}),
        ({"frequency_penalty": -0.5}, {"frequencyPenalty": -0.5}),
    ],
)
def test_penalties_reach_the_models_that_take_them(
    params: dict[str, Any], generation_config: dict[str, Any]
) -> None:
    # Only Gemini 2.0 and older accept penalties (the `penalties` capability; see specs/gemini.yaml).
    assert build(model="vertex_ai/gemini-2.0-flash", **params).body["generationConfig"] == generation_config


SAFETY = [
    {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
    {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"},
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "threshold": "BLOCK_NONE"},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_NONE"},
]


def test_safety_settings_per_call() -> None:
    assert build(safety_settings=SAFETY).body["safetySettings"] == SAFETY


def test_safety_settings_from_module_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "vertex_ai_safety_settings", SAFETY)
    assert build().body["safetySettings"] == SAFETY
    per_call = [SAFETY[0]]
    assert build(safety_settings=per_call).body["safetySettings"] == per_call


def test_labels() -> None:
    assert build(labels={"team": "search"}).body["labels"] == {"team": "search"}


def test_system_messages_become_system_instruction_and_turns_merge() -> None:
    messages = [
        {"role": "system", "content": "You are a good bot."},
        {"role": "user", "content": "Hello"},
        {"role": "user", "content": [{"type": "text", "text": "again"}]},
        {"role": "assistant", "content": "Hi!"},
        {"role": "user", "content": "Bye"},
    ]
    body = build(messages=messages).body
    assert body["systemInstruction"] == {"parts": [{"text": "You are a good bot."}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Hello"}, {"text": "again"}]},
        {"role": "model", "parts": [{"text": "Hi!"}]},
        {"role": "user", "parts": [{"text": "Bye"}]},
    ]


def test_system_message_on_a_model_without_system_instructions() -> None:
    call = prepare(
        "chat", {"model": "gemini-pro", "messages": [{"role": "system", "content": "S"}, *USER], **BASE}
    )
    assert "systemInstruction" not in call.body
    assert call.body["contents"][0]["parts"] == [{"text": "S"}, {"text": "Hello, how are you?"}]


@pytest.mark.parametrize(
    ("messages", "needle"),
    [
        ([{"role": "user", "content": ""}], "messages[0]: text is empty"),
        (
            [{"role": "user", "content": [{"type": "text", "text": "  "}]}],
            "messages[0].content[0]: text is empty",
        ),
        ([{"role": "wizard", "content": "x"}], "unknown role 'wizard'"),
        (["hello"], "each message must be an object"),
        ([], "at least one message"),
        ([{"role": "user", "content": [{"type": "hologram"}]}], "unsupported content part type 'hologram'"),
    ],
)
def test_malformed_messages_are_clear_errors(messages: list[Any], needle: str) -> None:
    with pytest.raises(BadRequestError) as info:
        build(messages=messages)
    assert needle in info.value.message
    assert info.value.status_code == 400


def test_unknown_parameters_are_named() -> None:
    with pytest.raises(UnsupportedParamsError) as info:
        build(frobnicate=1, user="u1")
    assert "frobnicate" in info.value.message and "user" in info.value.message
    assert "drop_params=True" in info.value.message


def test_drop_params_drops_unknown_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "frobnicate" not in str(build(frobnicate=1, drop_params=True).body)
    monkeypatch.setattr(engine, "drop_params", True)
    assert build(frobnicate=1).body["contents"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"temperature": 3}, "outside the range [0, 2]"),
        ({"temperature": "hot"}, "must be of type number"),
        ({"max_tokens": 0}, "outside the range [1, inf]"),
        ({"n": True}, "must be of type integer"),
        ({"stop": 5}, "must be of type string_list"),
    ],
)
def test_bad_values_are_clear_errors(params: dict[str, Any], needle: str) -> None:
    with pytest.raises(BadRequestError, match=None) as info:
        build(**params)
    assert needle in info.value.message


def test_none_values_count_as_absent() -> None:
    assert "generationConfig" not in build(temperature=None, max_tokens=None).body


def test_extra_body_and_extra_headers() -> None:
    call = build(
        extra_body={"generationConfig": {"topK": 3}}, extra_headers={"x-goog-user-project": "billing"}
    )
    assert call.body["generationConfig"] == {"topK": 3}
    assert call.headers["x-goog-user-project"] == "billing"
