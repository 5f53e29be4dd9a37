"""Gemini generateContent / streamGenerateContent / countTokens over real HTTP.

Request bodies follow Google's inference reference
(https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference) and the
function-calling guide's ``get_current_weather`` example
(https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/function-calling).
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from engine.emulator import Emulator

from .helpers import PROJECT, model_path, parent_path, sse_data, user

MODEL = "gemini-2.0-flash-001"
WEATHER_TOOL = {
    "functionDeclarations": [
        {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "OBJECT",
                "properties": {"location": {"type": "STRING"}},
                "required": ["location"],
            },
        }
    ]
}
# Shape of Google's documented groundingMetadata (grounding with Google Search).
GROUNDING = {
    "webSearchQueries": ["who won euro 2024"],
    "groundingChunks": [{"web": {"uri": "https://example.org/euro", "title": "example.org"}}],
    "groundingSupports": [
        {"segment": {"startIndex": 0, "endIndex": 5, "text": "Spain"}, "groundingChunkIndices": [0]}
    ],
}


def _text(response: dict) -> str:
    return "".join(
        p.get("text", "") for p in response["candidates"][0]["content"]["parts"] if not p.get("thought")
    )


def test_default_answer_echoes_with_exact_usage(client: httpx.Client) -> None:
    response = client.post(model_path(MODEL, "generateContent"), json=user("Hello there"))
    assert response.status_code == 200
    body = response.json()
    assert body["candidates"][0]["content"] == {"role": "model", "parts": [{"text": "Echo: Hello there"}]}
    assert body["candidates"][0]["finishReason"] == "STOP"
    usage = body["usageMetadata"]
    assert (usage["promptTokenCount"], usage["candidatesTokenCount"], usage["totalTokenCount"]) == (2, 4, 6)
    assert body["modelVersion"] == MODEL
    assert body["responseId"] and body["createTime"].endswith("Z")


@pytest.mark.parametrize("location", ["global", "europe-west4"])
def test_regional_and_global_locations(client: httpx.Client, location: str) -> None:
    response = client.post(model_path(MODEL, "generateContent", location=location), json=user("loc"))
    assert response.status_code == 200


def test_sse_stream_framing_matches_google(client: httpx.Client) -> None:
    prompt = user("one two three four five six seven")
    with client.stream(
        "POST", model_path(MODEL, "streamGenerateContent"), params={"alt": "sse"}, json=prompt
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    frames = [f for f in raw.split("\r\n\r\n") if f]
    assert len(frames) >= 3 and all(f.startswith("data: ") for f in frames)
    chunks = [json.loads(f[len("data: ") :]) for f in frames]
    assert "finishReason" not in chunks[0]["candidates"][0]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"]["totalTokenCount"] > 0
    streamed = "".join(_text(c) for c in chunks)
    unary = client.post(model_path(MODEL, "generateContent"), json=prompt).json()
    assert streamed == _text(unary) == "Echo: one two three four five six seven"


def test_stream_without_alt_is_a_json_array(client: httpx.Client) -> None:
    response = client.post(model_path(MODEL, "streamGenerateContent"), json=user("a b c d e f g"))
    assert response.headers["content-type"].startswith("application/json")
    chunks = json.loads(response.text)
    assert isinstance(chunks, list) and len(chunks) > 1
    assert "".join(_text(c) for c in chunks) == "Echo: a b c d e f g"


def test_count_tokens(client: httpx.Client) -> None:
    response = client.post(model_path(MODEL, "countTokens"), json=user("What is the weather in Paris?"))
    assert response.status_code == 200
    assert response.json()["totalTokens"] == 7
    assert response.json()["totalBillableCharacters"] == len("WhatistheweatherinParis?")


def test_thinking_adds_thought_part_signature_and_token_count(client: httpx.Client) -> None:
    body = {
        **user("why?"),
        "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}},
    }
    parts = client.post(model_path(MODEL, "generateContent"), json=body).json()["candidates"][0]["content"][
        "parts"
    ]
    assert parts[0] == {"text": "Thinking about: why?", "thought": True}
    assert parts[1]["text"] == "Echo: why?" and parts[1]["thoughtSignature"]
    usage = client.post(model_path(MODEL, "generateContent"), json=body).json()["usageMetadata"]
    assert usage["thoughtsTokenCount"] == 5  # Thinking, about, :, why, ?
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"] + 5


def test_scripted_function_call_then_default(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(
        MODEL, [{"function_calls": [{"name": "get_current_weather", "args": {"location": "Boston"}}]}]
    )
    body = {**user("Weather in Boston?"), "tools": [WEATHER_TOOL]}
    first = client.post(model_path(MODEL, "generateContent"), json=body).json()
    assert first["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "get_current_weather", "args": {"location": "Boston"}}}
    ]
    assert first["candidates"][0]["finishReason"] == "STOP"
    follow_up = {
        "contents": [
            *body["contents"],
            first["candidates"][0]["content"],
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_current_weather", "response": {"temperature": 20}}}
                ],
            },
        ]
    }
    second = client.post(model_path(MODEL, "generateContent"), json=follow_up).json()
    assert _text(second) == 'Echo: get_current_weather returned {"temperature": 20}'


def test_scripted_thought_with_signature(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(MODEL, [{"thought": "Let me think.", "thought_signature": "c2lnbmF0dXJl", "text": "42"}])
    parts = client.post(model_path(MODEL, "generateContent"), json=user("q")).json()["candidates"][0][
        "content"
    ]["parts"]
    assert parts == [
        {"text": "Let me think.", "thought": True},
        {"text": "42", "thoughtSignature": "c2lnbmF0dXJl"},
    ]


def test_signature_without_visible_thought_rides_on_the_function_call(
    emulator: Emulator, client: httpx.Client
) -> None:
    emulator.script(MODEL, [{"thought_signature": "c2ln", "function_calls": [{"name": "f", "args": {}}]}])
    parts = client.post(model_path(MODEL, "generateContent"), json=user("q")).json()["candidates"][0][
        "content"
    ]["parts"]
    assert parts == [{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "c2ln"}]


def test_audio_and_image_modalities(client: httpx.Client) -> None:
    audio = {**user("say hi"), "generationConfig": {"responseModalities": ["AUDIO"]}}
    [part] = client.post(model_path(MODEL, "generateContent"), json=audio).json()["candidates"][0]["content"][
        "parts"
    ]
    assert part["inlineData"]["mimeType"] == "audio/L16;codec=pcm;rate=24000"
    assert len(base64.b64decode(part["inlineData"]["data"])) == 2 * int(0.3 * 24000)
    image = {**user("draw"), "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}
    parts = client.post(model_path(MODEL, "generateContent"), json=image).json()["candidates"][0]["content"][
        "parts"
    ]
    assert parts[0] == {"text": "Echo: draw"}
    assert base64.b64decode(parts[1]["inlineData"]["data"]).startswith(b"\x89PNG")


def test_scripted_grounding_metadata(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(MODEL, [{"grounding_metadata": GROUNDING, "text": "Spain won."}])
    candidate = client.post(model_path(MODEL, "generateContent"), json=user("q")).json()["candidates"][0]
    assert candidate["groundingMetadata"] == GROUNDING and _text({"candidates": [candidate]}) == "Spain won."


def test_block_reason_gives_prompt_feedback_without_candidates(
    emulator: Emulator, client: httpx.Client
) -> None:
    emulator.script(MODEL, [{"block_reason": "SAFETY"}])
    body = client.post(model_path(MODEL, "generateContent"), json=user("bad")).json()
    assert "candidates" not in body
    assert body["promptFeedback"]["blockReason"] == "SAFETY"
    assert body["usageMetadata"]["promptTokenCount"] == 1


def test_safety_finish_reason(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(MODEL, [{"finish_reason": "SAFETY"}])
    candidate = client.post(model_path(MODEL, "generateContent"), json=user("bad")).json()["candidates"][0]
    assert candidate["finishReason"] == "SAFETY" and "content" not in candidate
    assert candidate["safetyRatings"][0]["blocked"] is True


def test_raw_json_is_sent_as_is(emulator: Emulator, client: httpx.Client) -> None:
    raw = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "raw"}]}, "finishReason": "MAX_TOKENS"}
        ]
    }
    emulator.script(MODEL, [{"json": raw}])
    assert client.post(model_path(MODEL, "generateContent"), json=user("q")).json() == raw


def test_scripts_are_consumed_in_order_then_default(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(MODEL, [{"text": "first"}, {"text": "second"}])
    answers = [
        _text(client.post(model_path(MODEL, "generateContent"), json=user("x")).json()) for _ in range(3)
    ]
    assert answers == ["first", "second", "Echo: x"]


def test_json_mode_answers_with_schema_shaped_json(client: httpx.Client) -> None:
    schema = {
        "type": "OBJECT",
        "properties": {
            "city": {"type": "STRING"},
            "days": {"type": "INTEGER"},
            "kind": {"type": "STRING", "enum": ["sunny", "rainy"]},
        },
    }
    body = {
        **user("plan"),
        "generationConfig": {"responseMimeType": "application/json", "responseSchema": schema},
    }
    answer = json.loads(_text(client.post(model_path(MODEL, "generateContent"), json=body).json()))
    assert answer == {"city": "Echo: plan", "days": 0, "kind": "sunny"}


def test_max_output_tokens_and_stop_sequences_shape_the_echo(client: httpx.Client) -> None:
    limited = {**user("alpha beta gamma delta"), "generationConfig": {"maxOutputTokens": 3}}
    candidate = client.post(model_path(MODEL, "generateContent"), json=limited).json()["candidates"][0]
    assert (_text({"candidates": [candidate]}), candidate["finishReason"]) == ("Echo: alpha", "MAX_TOKENS")
    stopped = {**user("alpha beta gamma delta"), "generationConfig": {"stopSequences": [" gamma", "delta"]}}
    candidate = client.post(model_path(MODEL, "generateContent"), json=stopped).json()["candidates"][0]
    assert (_text({"candidates": [candidate]}), candidate["finishReason"]) == ("Echo: alpha beta", "STOP")


def test_candidate_count(client: httpx.Client) -> None:
    body = {**user("twice"), "generationConfig": {"candidateCount": 2}}
    response = client.post(model_path(MODEL, "generateContent"), json=body).json()
    assert [c["index"] for c in response["candidates"]] == [0, 1]
    assert response["usageMetadata"]["candidatesTokenCount"] == 6  # 2 x "Echo: twice"


def test_unknown_field_is_a_400_naming_it(client: httpx.Client) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generation_konfig": {"temperature": 0.2},
    }
    response = client.post(model_path(MODEL, "generateContent"), json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert (
        error["message"]
        == 'Invalid JSON payload received. Unknown name "generation_konfig": Cannot find field.'
    )
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"


def test_wrong_type_is_a_400_naming_the_field(client: httpx.Client) -> None:
    body = {**user("hi"), "generationConfig": {"temperature": "hot"}}
    response = client.post(model_path(MODEL, "generateContent"), json=body)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["fieldViolations"] == [
        {
            "field": "generation_config.temperature",
            "description": "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\"",
        }
    ]


def test_missing_contents_and_bad_json(client: httpx.Client) -> None:
    assert client.post(model_path(MODEL, "generateContent"), json={}).status_code == 400
    broken = client.post(
        model_path(MODEL, "generateContent"),
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400 and "Invalid JSON payload" in broken.json()["error"]["message"]


def test_unknown_model_is_googles_404(emulator: Emulator, client: httpx.Client) -> None:
    response = httpx.post(f"{emulator.url}/emulator/unknown-models", json={"models": ["gemini-0.1-nope"]})
    assert response.status_code == 200
    missing = client.post(model_path("gemini-0.1-nope", "generateContent"), json=user("x"))
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["status"] == "NOT_FOUND" and error["code"] == 404
    assert (
        f"projects/{PROJECT}/locations/us-central1/publishers/google/models/gemini-0.1-nope"
        in error["message"]
    )


def test_unknown_path_is_googles_404(client: httpx.Client) -> None:
    response = client.post(parent_path() + "/publishers/google/models/x:fly", json={})
    assert response.status_code == 404 and response.json()["error"]["status"] == "NOT_FOUND"


def test_tuned_model_endpoint(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script("4567", [{"text": "tuned answer"}])
    path = parent_path() + "/endpoints/4567:generateContent"
    assert _text(client.post(path, json=user("x")).json()) == "tuned answer"
    stream = client.post(parent_path() + "/endpoints/4567:streamGenerateContent?alt=sse", json=user("y z"))
    assert "".join(_text(json.loads(d)) for d in sse_data(stream.text, "\r\n\r\n")) == "Echo: y z"


def test_request_log_records_body_and_redacts_token(
    emulator: Emulator, client: httpx.Client, token: str
) -> None:
    client.post(model_path(MODEL, "generateContent"), json=user("logged"))
    [entry] = emulator.requests(MODEL)
    assert entry["method"] == "POST" and entry["body"] == user("logged")
    assert entry["path"] == model_path(MODEL, "generateContent")
    assert entry["headers"]["authorization"] == "Bearer <redacted>"
    assert token not in json.dumps(entry)
    over_http = httpx.get(f"{emulator.url}/emulator/requests", params={"model": MODEL}).json()
    assert [e["body"] for e in over_http] == [user("logged")]
