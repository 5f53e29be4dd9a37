"""Structured output: ``response_format`` → Gemini JSON mode, and ``enforce_validation`` of the answer.

Request shapes follow Vertex AI's controlled-generation docs (``responseMimeType``,
``responseSchema`` in the OpenAPI subset, ``responseJsonSchema`` for full JSON Schema);
every body is validated against the discovery document (GenerationConfig).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import engine
from engine.errors import APIError, BadRequestError, JSONSchemaValidationError
from tests.fixtures.load import load
from tests.gemini.helpers import RECIPES, body, normalize

COOKIES = [{"role": "user", "content": "List 5 popular cookie recipes."}]


def test_seed_response_schema_on_gemini_1_5_pro() -> None:
    got = body(
        "gemini-1.5-pro",
        messages=COOKIES,
        response_format={"type": "json_object", "response_schema": RECIPES},
    )
    assert got["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "ARRAY",
            "items": {
                "type": "OBJECT",
                "properties": {"recipe_name": {"type": "STRING"}},
                "required": ["recipe_name"],
            },
        },
    }
    assert got["contents"] == [{"role": "user", "parts": [{"text": "List 5 popular cookie recipes."}]}]


def test_full_json_schema_where_the_model_takes_it() -> None:
    schema = {**RECIPES, "$defs": {"unused": {"type": "string"}}}
    got = body(
        "gemini-2.5-flash",
        messages=COOKIES,
        response_format={"type": "json_object", "response_schema": schema},
    )
    assert got["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": schema}


def test_openai_json_schema_form() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "recipes", "schema": RECIPES, "strict": True}}
    assert body("gemini-2.5-pro", response_format=fmt)["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": RECIPES,
    }
    assert (
        body("gemini-2.0-flash", response_format=fmt)["generationConfig"]["responseSchema"]["type"] == "ARRAY"
    )


def test_json_object_and_text() -> None:
    assert body(response_format={"type": "json_object"})["generationConfig"] == {
        "responseMimeType": "application/json"
    }
    assert "generationConfig" not in body(response_format={"type": "text"})


def test_seed_schema_in_the_prompt_for_a_model_without_response_schema() -> None:
    """The seed: for gemini-1.5-flash-preview-0514 the schema is added to the prompt; JSON is still requested."""
    got = body(
        "gemini-1.5-flash-preview-0514",
        messages=COOKIES,
        response_format={"type": "json_object", "response_schema": RECIPES},
    )
    assert got["generationConfig"] == {"responseMimeType": "application/json"}
    (turn,) = got["contents"]
    assert turn["parts"][0] == {"text": "List 5 popular cookie recipes."}
    instruction = turn["parts"][1]["text"]
    assert instruction.startswith("Use this JSON schema")
    assert json.loads(instruction.split("```json\n", 1)[1].rsplit("\n```", 1)[0]) == RECIPES


def test_seed_json_mode_with_the_schema_written_by_the_user() -> None:
    messages = [
        {
            "role": "user",
            "content": 'List 5 popular cookie recipes.\n\nUsing this JSON schema:\n\nRecipe = {"recipe_name": str}\n\nReturn a `list[Recipe]`',
        }
    ]
    got = body("gemini-1.5-flash-preview-0514", messages=messages, response_format={"type": "json_object"})
    assert got["generationConfig"] == {"responseMimeType": "application/json"}
    assert got["contents"] == [{"role": "user", "parts": [{"text": messages[0]["content"]}]}]


@pytest.mark.parametrize(
    ("fmt", "model", "needle"),
    [
        ({"type": "yaml"}, "gemini-2.5-flash", "must be text, json_object or json_schema"),
        (
            {"type": "json_schema", "json_schema": {"name": "x"}},
            "gemini-2.5-flash",
            "needs json_schema.schema",
        ),
        (
            {
                "type": "json_object",
                "response_schema": {
                    "$defs": {"T": {"properties": {"t": {"$ref": "#/$defs/T"}}}},
                    "$ref": "#/$defs/T",
                },
            },
            "gemini-2.0-flash",
            "response schema: recursive $ref",
        ),
    ],
)
def test_bad_response_formats_are_clear_errors(fmt: dict[str, Any], model: str, needle: str) -> None:
    with pytest.raises(BadRequestError) as info:
        body(model, response_format=fmt)
    assert needle in info.value.message


def _reply(text: str) -> dict[str, Any]:
    """The published text reply with its answer replaced by ``text``."""
    data = copy.deepcopy(load("gemini/generate_content_text.json")["body"])
    data["candidates"][0]["content"]["parts"][0]["text"] = text
    return data


ENFORCED = {"type": "json_object", "response_schema": RECIPES, "enforce_validation": True}


def test_enforce_validation_accepts_a_valid_answer() -> None:
    text = json.dumps([{"recipe_name": "Chocolate Chip"}])
    assert normalize(_reply(text), response_format=ENFORCED).choices[0].message.content == text


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            json.dumps([{"name": "Chocolate Chip"}]),
            "does not match the response schema at 0: 'recipe_name' is a required property",
        ),
        ('[{"recipe_name": "Chocolate', "is not valid JSON"),
    ],
)
def test_enforce_validation_raises_with_the_raw_response(text: str, needle: str) -> None:
    with pytest.raises(JSONSchemaValidationError) as info:
        normalize(_reply(text), response_format=ENFORCED)
    assert needle in info.value.message
    assert info.value.raw_response == text
    assert info.value.schema == RECIPES
    assert isinstance(info.value, APIError) and isinstance(info.value, engine.APIError)


def test_without_enforce_validation_nothing_is_checked() -> None:
    fmt = {"type": "json_object", "response_schema": RECIPES}
    assert normalize(_reply("not json"), response_format=fmt).choices[0].message.content == "not json"


def test_openai_form_with_enforce_validation_inside_json_schema() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "r", "schema": RECIPES, "enforce_validation": True}}
    with pytest.raises(JSONSchemaValidationError):
        normalize(_reply('{"recipe_name": "x"}'), response_format=fmt)


STRICT = {"type": "json_object", "response_schema": RECIPES, "enforce_validation": True}


def test_enforce_validation_checks_a_streamed_answer_at_the_end(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script("gemini-2.5-flash", [{"text": '[{"recipe_name": "Chocolate chip"}]'}])
    chunks = list(
        engine.completion(
            model="vertex_ai/gemini-2.5-flash", messages=COOKIES, response_format=STRICT, stream=True, **vx
        )
    )
    assert json.loads("".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices)) == [
        {"recipe_name": "Chocolate chip"}
    ]


async def test_enforce_validation_fails_a_streamed_answer_that_breaks_the_schema(
    emulator: Any, vx: dict[str, Any]
) -> None:
    emulator.script("gemini-2.5-flash", [{"text": '[{"name": "Chocolate chip"}]'}])
    stream = await engine.acompletion(
        model="vertex_ai/gemini-2.5-flash", messages=COOKIES, response_format=STRICT, stream=True, **vx
    )
    received = []
    with pytest.raises(JSONSchemaValidationError) as info:
        async for chunk in stream:
            received.append(chunk)
    assert received  # the text streamed before the check ran at the end
    assert info.value.raw_response == '[{"name": "Chocolate chip"}]'
