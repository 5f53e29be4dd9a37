"""Proto3 JSON spellings over raw HTTP: every spelling Vertex accepts gets the canonical answer.

Integer enums are indices into the discovery document's enum lists (HarmCategory 1 =
HARM_CATEGORY_HATE_SPEECH, HarmBlockThreshold 4 = BLOCK_NONE, FunctionCallingConfig.Mode 1 = AUTO,
Schema.Type 6 = OBJECT / 1 = STRING, FinishReason 1 = STOP), as in the protos.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import google.auth.transport.requests
import httpx
import pytest
from google.oauth2 import service_account

from engine.emulator import Emulator

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
MODEL_PATH = "/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash"

CANONICAL: dict[str, Any] = {
    "contents": [{"role": "user", "parts": [{"text": "spell it"}]}],
    "systemInstruction": {"parts": [{"text": "be brief"}]},
    "generationConfig": {
        "maxOutputTokens": 40,
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "OBJECT",
            "properties": {"word": {"type": "STRING"}},
            "propertyOrdering": ["word"],
        },
        "thinkingConfig": {"includeThoughts": True},
    },
    "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
    "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
    "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT"}}]}],
}
SNAKE: dict[str, Any] = {
    "contents": [{"role": "user", "parts": [{"text": "spell it"}]}],
    "system_instruction": {"parts": [{"text": "be brief"}]},
    "generation_config": {
        "max_output_tokens": 40,
        "response_mime_type": "application/json",
        "response_schema": {
            "type": "OBJECT",
            "properties": {"word": {"type": "STRING"}},
            "property_ordering": ["word"],
        },
        "thinking_config": {"include_thoughts": True},
    },
    "safety_settings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
    "tool_config": {"function_calling_config": {"mode": "AUTO"}},
    "tools": [{"function_declarations": [{"name": "f", "parameters": {"type": "OBJECT"}}]}],
}
INTEGERS: dict[str, Any] = {
    **CANONICAL,
    "generationConfig": {
        **CANONICAL["generationConfig"],
        "responseSchema": {"type": 6, "properties": {"word": {"type": 1}}, "propertyOrdering": ["word"]},
    },
    "safetySettings": [{"category": 1, "threshold": 4}],
    "toolConfig": {"functionCallingConfig": {"mode": 1}},
    "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": 6}}]}],
}
NULLS: dict[str, Any] = {
    **CANONICAL,
    "cachedContent": None,
    "labels": None,
    "generationConfig": {**CANONICAL["generationConfig"], "temperature": None, "seed": None},
}


@pytest.fixture
def lenient(client: httpx.Client) -> httpx.Client:
    """The session's (lenient) emulator with a bearer token (tests/emulator/conftest.py)."""
    return client


@pytest.fixture(scope="session")
def strict_token(strict_emulator: Emulator) -> str:
    info = strict_emulator.issue_service_account()
    creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    creds.refresh(google.auth.transport.requests.Request())
    return str(creds.token)


@pytest.fixture
def strict(strict_emulator: Emulator, strict_token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {strict_token}"}
    with httpx.Client(base_url=strict_emulator.url, headers=headers, timeout=10) as http:
        yield http


def _answer(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    return {key: body[key] for key in ("candidates", "usageMetadata")}


@pytest.mark.parametrize("spelling", [SNAKE, INTEGERS, NULLS], ids=["snake_case", "integer-enums", "nulls"])
def test_every_spelling_gets_the_canonical_answer(lenient: httpx.Client, spelling: dict[str, Any]) -> None:
    canonical = _answer(lenient.post(MODEL_PATH + ":generateContent", json=CANONICAL))
    assert _answer(lenient.post(MODEL_PATH + ":generateContent", json=spelling)) == canonical
    assert canonical["candidates"][0]["content"]["parts"][0]["thought"] is True  # thinkingConfig was read


def test_count_tokens_reads_snake_case(lenient: httpx.Client) -> None:
    canonical = lenient.post(
        MODEL_PATH + ":countTokens",
        json={"contents": CANONICAL["contents"], "systemInstruction": CANONICAL["systemInstruction"]},
    )
    snake = lenient.post(
        MODEL_PATH + ":countTokens",
        json={"contents": SNAKE["contents"], "system_instruction": SNAKE["system_instruction"]},
    )
    assert snake.json() == canonical.json() and canonical.json()["totalTokens"] == 4


def test_enum_encoding_int_answers_with_integer_enums(lenient: httpx.Client) -> None:
    response = lenient.post(
        MODEL_PATH + ":generateContent", params={"$alt": "json;enum-encoding=int"}, json=INTEGERS
    )
    body = response.json()
    assert body["candidates"][0]["finishReason"] == 1  # STOP
    assert body["usageMetadata"]["trafficType"] == 1  # ON_DEMAND
    assert body["usageMetadata"]["promptTokensDetails"][0]["modality"] == 1  # TEXT


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        (SNAKE, "generation_config", 'Non-canonical name "generation_config"'),
        (
            INTEGERS,
            "safety_settings[0].category",
            '(TYPE_ENUM), 1: strict mode takes the enum name "HARM_CATEGORY_HATE_SPEECH"',
        ),
    ],
    ids=["snake_case", "integer-enums"],
)
def test_strict_mode_refuses_non_canonical_spellings(
    strict: httpx.Client, body: dict[str, Any], field: str, text: str
) -> None:
    response = strict.post(MODEL_PATH + ":generateContent", json=body)
    assert response.status_code == 400
    violations = response.json()["error"]["details"][0]["fieldViolations"]
    [named] = [v for v in violations if v.get("field") == field]
    assert text in named["description"]
    assert len(violations) == len({(v.get("field"), v["description"]) for v in violations})  # each once


def test_strict_mode_takes_the_canonical_spelling(strict: httpx.Client) -> None:
    assert strict.post(MODEL_PATH + ":generateContent", json=CANONICAL).status_code == 200
    assert (
        strict.post(MODEL_PATH + ":generateContent", json=NULLS).status_code == 200
    )  # null is canonical "unset"


def test_unknown_names_and_bad_enums_are_listed_once_in_googles_wording(lenient: httpx.Client) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "x", "txt": "typo"}]}],
        "safetySettings": [{"category": 99, "threshold": True}],
    }
    response = lenient.post(MODEL_PATH + ":generateContent", json=body)
    assert response.status_code == 400
    violations = response.json()["error"]["details"][0]["fieldViolations"]
    assert violations == [
        {
            "field": "contents[0].parts[0]",
            "description": "Invalid JSON payload received. Unknown name \"txt\" at 'contents[0].parts[0]': Cannot find field.",
        },
        {
            "field": "safety_settings[0].category",
            "description": "Invalid value at 'safety_settings[0].category' (TYPE_ENUM), 99",
        },
        {
            "field": "safety_settings[0].threshold",
            "description": "Invalid value at 'safety_settings[0].threshold' (TYPE_ENUM), true",
        },
    ]


def test_both_spellings_of_one_field_are_refused(lenient: httpx.Client) -> None:
    body = {"contents": CANONICAL["contents"], "generationConfig": {}, "generation_config": {}}
    response = lenient.post(MODEL_PATH + ":generateContent", json=body)
    assert response.status_code == 400
    assert 'Duplicate field "generationConfig"' in response.json()["error"]["message"]


def test_resources_store_the_canonical_form(lenient: httpx.Client) -> None:
    created = lenient.post(
        "/v1/projects/p/locations/us-central1/batchPredictionJobs",
        json={
            "display_name": "j",
            "model": "publishers/google/models/gemini-2.5-flash",
            "input_config": {"instances_format": "jsonl", "gcs_source": {"uris": ["gs://b/in.jsonl"]}},
            "output_config": {
                "predictions_format": "jsonl",
                "gcs_destination": {"output_uri_prefix": "gs://b/out"},
            },
        },
    ).json()
    assert created["displayName"] == "j"
    assert created["inputConfig"] == {"instancesFormat": "jsonl", "gcsSource": {"uris": ["gs://b/in.jsonl"]}}


def test_enum_encoding_int_applies_to_streams_and_jobs(lenient: httpx.Client) -> None:
    alt = {"$alt": "json;enum-encoding=int", "alt": "sse"}
    with lenient.stream(
        "POST", MODEL_PATH + ":streamGenerateContent", params=alt, json=CANONICAL
    ) as streamed:
        events = [line for line in streamed.iter_lines() if line.startswith("data:")]
    assert json.loads(events[-1].removeprefix("data:"))["candidates"][0]["finishReason"] == 1
    job = lenient.post(
        "/v1/projects/p/locations/us-central1/tuningJobs",
        params={"$alt": "json;enum-encoding=int"},
        json={
            "baseModel": "gemini-2.5-flash",
            "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/t.jsonl"},
        },
    ).json()
    assert job["state"] == 2  # JOB_STATE_PENDING (QUEUED is 1), as the document lists them


@pytest.mark.parametrize(
    "raw",
    [
        '{"contents": [{"role": "user", "parts": [{"text": "\\ud800"}]}]}',  # a lone surrogate escape
        '{"contents": [{"role": "user", "parts": [{"text": "x"}]}], "labels": '
        + '{"a": ' * 5000
        + "1"
        + "}" * 5001,
    ],
    ids=["lone-surrogate", "nested-5000-deep"],
)
def test_bodies_no_json_reader_takes_are_invalid_json(lenient: httpx.Client, raw: str) -> None:
    """Both were a 500 (the reply could not encode the surrogate; json.loads hit the recursion limit)."""
    reply = lenient.post(
        MODEL_PATH + ":generateContent", content=raw, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["message"].startswith("Invalid JSON payload received.")


def test_a_surrogate_pair_is_one_character(lenient: httpx.Client) -> None:
    raw = '{"contents": [{"role": "user", "parts": [{"text": "\\ud83d\\ude00"}]}]}'
    reply = lenient.post(
        MODEL_PATH + ":generateContent", content=raw, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 200 and "\U0001f600" in reply.text
