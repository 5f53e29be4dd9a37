"""Proto3 JSON parsing (engine/emulator/protojson.py) without HTTP: what is renamed and what is left alone."""

from __future__ import annotations

from engine.emulator import protojson

API = "aiplatform.v1"
GENERATE = "GoogleCloudAiplatformV1GenerateContentRequest"


def test_snake_case_is_renamed_inside_maps_of_messages_but_map_keys_and_structs_are_kept() -> None:
    body = {
        "contents": [
            {"parts": [{"function_call": {"name": "f", "args": {"snake_key": 1, "other_key": None}}}]},
        ],
        "tools": [
            {
                "function_declarations": [
                    {
                        "name": "f",
                        "parameters": {
                            "type": "OBJECT",
                            "properties": {"user_name": {"type": "STRING", "max_length": "5"}},
                        },
                    }
                ]
            }
        ],
    }
    parsed = protojson.canonical(API, GENERATE, body)
    assert parsed.violations == []
    # google.protobuf.Struct (args) is data: its keys and its nulls stay as sent.
    assert parsed.body["contents"][0]["parts"][0] == {
        "functionCall": {"name": "f", "args": {"snake_key": 1, "other_key": None}}
    }
    # Schema.properties is a map: the key is the user's, its value a Schema message (renamed inside).
    parameters = parsed.body["tools"][0]["functionDeclarations"][0]["parameters"]
    assert parameters["properties"] == {"user_name": {"type": "STRING", "maxLength": "5"}}
    assert {s["field"] for s in parsed.spellings} == {
        "contents[0].parts[0].function_call",
        "tools[0].function_declarations",
        "tools[0].function_declarations[0].parameters.properties[0].value.max_length",
    }


def test_integer_enums_become_names_and_out_of_range_is_a_violation() -> None:
    parsed = protojson.canonical(API, GENERATE, {"safetySettings": [{"category": 2, "threshold": 9}]})
    assert parsed.body["safetySettings"][0]["category"] == "HARM_CATEGORY_DANGEROUS_CONTENT"
    assert parsed.violations == [
        {
            "field": "safety_settings[0].threshold",
            "description": "Invalid value at 'safety_settings[0].threshold' (TYPE_ENUM), 9",
        }
    ]


def test_null_is_unset_and_booleans_are_not_enum_integers() -> None:
    parsed = protojson.canonical(
        API, GENERATE, {"generationConfig": None, "safetySettings": [{"category": True}]}
    )
    assert parsed.body == {"safetySettings": [{"category": True}]}  # left for the validator's TYPE_ENUM 400
    assert parsed.spellings == []


def test_replies_get_integer_enums_on_request() -> None:
    reply = {
        "candidates": [
            {"finishReason": "SAFETY", "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT"}]}
        ]
    }
    assert protojson.int_enums(API, "GoogleCloudAiplatformV1GenerateContentResponse", reply) == {
        "candidates": [{"finishReason": 3, "safetyRatings": [{"category": 3}]}]
    }
    assert protojson.wants_int_enums({"$alt": "json;enum-encoding=int"})
    assert not protojson.wants_int_enums({"alt": "sse"})


def test_v1beta1_schema_names() -> None:
    assert (
        protojson.schema_id("aiplatform.v1beta1", GENERATE)
        == "GoogleCloudAiplatformV1beta1GenerateContentRequest"
    )
    assert protojson.schema_id("texttospeech.v1", "SynthesizeSpeechRequest") == "SynthesizeSpeechRequest"
