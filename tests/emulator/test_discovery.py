"""Discovery-document → JSON Schema conversion and the validators built on it."""

from __future__ import annotations

import pytest

from engine.emulator import discovery

GENERATE = "GoogleCloudAiplatformV1GenerateContentRequest"


def test_objects_reject_unknown_fields_but_maps_accept_any_key() -> None:
    converted = discovery.definitions("aiplatform.v1")
    assert converted["GoogleCloudAiplatformV1Part"]["additionalProperties"] is False
    labels = converted[GENERATE]["properties"]["labels"]
    assert labels["additionalProperties"]["type"] == "string"
    assert discovery.errors("aiplatform.v1", GENERATE, {"contents": [], "labels": {"any-key": "v"}}) == []


def test_refs_point_into_defs_and_any_becomes_empty_schema() -> None:
    converted = discovery.definitions("aiplatform.v1")
    assert converted[GENERATE]["properties"]["generationConfig"] == {
        "$ref": "#/$defs/GoogleCloudAiplatformV1GenerationConfig"
    }
    args = converted["GoogleCloudAiplatformV1FunctionCall"]["properties"]["args"]
    assert {k: v for k, v in args["additionalProperties"].items() if k != "x-proto-type"} == {}


@pytest.mark.parametrize("value", [12, "12"])
def test_int64_accepts_numbers_and_numeric_strings(value: object) -> None:
    # GoogleCloudAiplatformV1CachedContentUsageMetadata has no int64; BatchPredictionJob's
    # completionStats.successfulCount is format int64 in the v1 discovery document.
    body = {"completionStats": {"successfulCount": value}}
    assert discovery.errors("aiplatform.v1", "GoogleCloudAiplatformV1BatchPredictionJob", body) == []


def test_int64_rejects_non_numeric_strings() -> None:
    body = {"completionStats": {"successfulCount": "twelve"}}
    assert discovery.errors("aiplatform.v1", "GoogleCloudAiplatformV1BatchPredictionJob", body) == [
        "completionStats.successfulCount: Invalid value at 'completion_stats.successful_count' (TYPE_INT64), \"twelve\""
    ]


def test_enums_are_case_sensitive() -> None:
    good = {"contents": [], "generationConfig": {"responseModalities": ["TEXT"]}}
    bad = {"contents": [], "generationConfig": {"responseModalities": ["text"]}}
    assert discovery.errors("aiplatform.v1", GENERATE, good) == []
    assert discovery.errors("aiplatform.v1", GENERATE, bad) == [
        "generationConfig.responseModalities[0]: Invalid value at "
        "'generation_config.response_modalities[0]' (TYPE_ENUM), \"text\""
    ]


def test_errors_name_the_json_path_of_unknown_fields() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi", "txt": "typo"}]}]}
    assert discovery.errors("aiplatform.v1", GENERATE, body) == [
        "contents[0].parts[0].txt: Invalid JSON payload received. Unknown name \"txt\" at 'contents[0].parts[0]': Cannot find field."
    ]


def test_violations_use_googles_location_for_map_entries() -> None:
    # Google reports schema-map entries by index: "...parameters.properties[0].value" (seen in
    # a public Gemini 400, zed-industries/zed issue 62539: "...parameters.properties[2].value").
    body = {
        "contents": [],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "f",
                        "parameters": {
                            "type": "OBJECT",
                            "properties": {"a": {"type": "STRING", "const": "x"}},
                        },
                    }
                ]
            }
        ],
    }
    [violation] = discovery.violations("aiplatform.v1", GENERATE, body)
    assert violation["field"] == "tools[0].function_declarations[0].parameters.properties[0].value"
    assert violation["description"].startswith('Invalid JSON payload received. Unknown name "const"')


def test_texttospeech_validator_rejects_unknown_encoding() -> None:
    body = {
        "input": {"text": "x"},
        "voice": {"languageCode": "en-US"},
        "audioConfig": {"audioEncoding": "WAV"},
    }
    assert discovery.errors("texttospeech.v1", "SynthesizeSpeechRequest", body) == [
        "audioConfig.audioEncoding: Invalid value at 'audio_config.audio_encoding' (TYPE_ENUM), \"WAV\""
    ]


def test_validators_are_cached_per_api_and_schema() -> None:
    first = discovery.validator("aiplatform.v1", GENERATE)
    assert discovery.validator("aiplatform.v1", GENERATE) is first
    assert discovery.validator("aiplatform.v1", "GoogleCloudAiplatformV1PredictRequest") is not first


def test_unknown_api_or_schema_is_an_error() -> None:
    with pytest.raises(KeyError):
        discovery.validator("aiplatform.v2", GENERATE)
    with pytest.raises(KeyError):
        discovery.validator("aiplatform.v1", "NoSuchSchema")


def test_a_value_failing_two_keywords_is_listed_once() -> None:
    # An integer where an enum name is expected fails both "type" and "enum" of the JSON Schema;
    # Google lists the field once.
    body = {"contents": [], "safetySettings": [{"category": 1, "threshold": "BLOCK_NONE"}]}
    assert discovery.errors("aiplatform.v1", GENERATE, body) == [
        "safetySettings[0].category: Invalid value at 'safety_settings[0].category' (TYPE_ENUM), 1"
    ]
    assert len(discovery.violations("aiplatform.v1", GENERATE, body)) == 1


def test_v1beta1_document_is_served() -> None:
    assert (
        discovery.errors("aiplatform.v1beta1", "GoogleCloudAiplatformV1beta1GenerateContentRequest", {}) == []
    )
