"""Imagen: ``engine.image_generation`` / ``engine.aimage_generation`` → ``:predict`` → OpenAI ``ImagesResponse``.

Golden fixtures (FirebaseExtended/vertexai-sdk-test-data, as copied into tests/fixtures/):
predict/imagen_response.json (bytesBase64Encoded + safetyAttributes), predict/imagen_response_gcs.json
(gcsUri when storageUri is set), predict/imagen_response_gcs_some_filtered.json (raiFilteredReason)
and errors/400_invalid_argument_imagen.json (a rejected prompt). The seed's calls (LiteLLM's
Vertex AI page, "Bildgenerierungsmodelle") run against the emulator.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

import engine
from tests.conformance import assert_images_response, assert_valid_request
from tests.fixtures.load import load

PREDICT = "GoogleCloudAiplatformV1PredictRequest"
PROMPT = "An olympic size swimming pool"
SEED_MODELS = [
    "imagen-3.0-generate-001",
    "imagen-3.0-fast-generate-001",
    "imagegeneration@006",
    "imagegeneration@005",
    "imagegeneration@002",
]


def _png_size(b64: str) -> tuple[int, int]:
    png = base64.b64decode(b64)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def _body(emulator: Any, model: str) -> dict[str, Any]:
    (logged,) = emulator.requests(model)
    assert_valid_request(logged["body"], schema=PREDICT)
    return logged["body"]


# --------------------------------------------------------------------------- golden


def test_published_base64_reply(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("predict/imagen_response.json")
    emulator.script("imagen-3.0-generate-002", [{"json": golden["body"]}])
    resp = engine.image_generation(prompt=PROMPT, model="vertex_ai/imagen-3.0-generate-002", **vx)
    assert_images_response(resp)
    published = golden["body"]["predictions"][0]
    assert [d.b64_json for d in resp.data] == [published["bytesBase64Encoded"]], golden["source"]
    assert base64.b64decode(resp.data[0].b64_json).startswith(b"\x89PNG")
    assert resp._hidden_params["safety_attributes"] == [published["safetyAttributes"]]
    assert resp._hidden_params["mime_types"] == ["image/png"]


def test_published_gcs_reply(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("predict/imagen_response_gcs.json")
    emulator.script("imagen-3.0-generate-002", [{"json": golden["body"]}])
    resp = engine.image_generation(
        prompt=PROMPT,
        model="vertex_ai/imagen-3.0-generate-002",
        n=4,
        storageUri="gs://test-project-id-1234.firebasestorage.app/images",
        **vx,
    )
    assert_images_response(resp)
    assert [d.url for d in resp.data] == [p["gcsUri"] for p in golden["body"]["predictions"]], golden[
        "source"
    ]
    assert all("b64_json" not in d for d in resp.data)


def test_published_partly_filtered_reply(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("predict/imagen_response_gcs_some_filtered.json")
    emulator.script("imagen-3.0-generate-002", [{"json": golden["body"]}])
    resp = engine.image_generation(
        prompt=PROMPT, model="vertex_ai/imagen-3.0-generate-002", n=4, include_rai_reason=True, **vx
    )
    assert_images_response(resp)
    assert len(resp.data) == 2, golden["source"]
    reasons = [r for r in resp._hidden_params["rai_filtered_reasons"] if r]
    assert reasons == [golden["body"]["predictions"][2]["raiFilteredReason"]]


def test_published_prompt_rejection_is_a_content_policy_error(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("errors/400_invalid_argument_imagen.json")
    emulator.script("imagegeneration@006", [{"status": 400, "message": golden["body"]["error"]["message"]}])
    with pytest.raises(engine.ContentPolicyViolationError, match="Responsible AI") as caught:
        engine.image_generation(prompt=PROMPT, model="vertex_ai/imagegeneration@006", **vx)
    assert caught.value.status_code == 400, golden["source"]


# --------------------------------------------------------------------------- emulator: the seed's calls


async def test_seed_usage_with_project_and_location(emulator: Any, vx: dict[str, Any]) -> None:
    resp = await engine.aimage_generation(
        prompt=PROMPT,
        model="vertex_ai/imagegeneration@006",
        vertex_ai_project="adroit-crow-413218",
        vertex_ai_location="us-central1",
        api_base=vx["api_base"],
        vertex_credentials=vx["vertex_credentials"],
    )
    assert_images_response(resp)
    assert len(resp.data) == 1 and _png_size(resp.data[0].b64_json) == (8, 8)
    (logged,) = emulator.requests("imagegeneration@006")
    assert (
        logged["path"]
        == "/v1/projects/adroit-crow-413218/locations/us-central1/publishers/google/models/imagegeneration@006:predict"
    )
    assert logged["body"] == {"instances": [{"prompt": PROMPT}]}


async def test_seed_n(emulator: Any, vx: dict[str, Any]) -> None:
    await engine.aimage_generation(prompt=PROMPT, model="vertex_ai/imagegeneration@006", n=1, **vx)
    assert _body(emulator, "imagegeneration@006") == {
        "instances": [{"prompt": PROMPT}],
        "parameters": {"sampleCount": 1},
    }


@pytest.mark.parametrize("model", SEED_MODELS)
def test_every_model_of_the_seed_table(emulator: Any, vx: dict[str, Any], model: str) -> None:
    resp = engine.image_generation(f"a {model} test", f"vertex_ai/{model}", **vx)
    assert_images_response(resp)
    assert emulator.requests(model)[0]["path"].endswith(f"/publishers/google/models/{model}:predict")


def test_several_images(vx: dict[str, Any]) -> None:
    resp = engine.image_generation(prompt=PROMPT, model="vertex_ai/imagen-3.0-fast-generate-001", n=3, **vx)
    assert_images_response(resp)
    assert len({d.b64_json for d in resp.data}) == 3


@pytest.mark.parametrize(
    ("size", "ratio", "pixels"),
    [("1792x1024", "16:9", (16, 9)), ("1024x1792", "9:16", (9, 16)), ("1024x1024", "1:1", (8, 8))],
)
def test_size_becomes_an_aspect_ratio(
    emulator: Any, vx: dict[str, Any], size: str, ratio: str, pixels: tuple[int, int]
) -> None:
    resp = engine.image_generation(prompt=PROMPT, model="vertex_ai/imagen-3.0-generate-001", size=size, **vx)
    assert _body(emulator, "imagen-3.0-generate-001")["parameters"] == {"aspectRatio": ratio}
    assert _png_size(resp.data[0].b64_json) == pixels  # the emulator draws the requested ratio


def test_size_auto_leaves_the_default(emulator: Any, vx: dict[str, Any]) -> None:
    engine.image_generation(prompt=PROMPT, model="vertex_ai/imagen-3.0-generate-001", size="auto", **vx)
    assert _body(emulator, "imagen-3.0-generate-001") == {"instances": [{"prompt": PROMPT}]}


def test_vertex_parameters_pass_through(emulator: Any, vx: dict[str, Any]) -> None:
    engine.image_generation(
        prompt=PROMPT,
        model="vertex_ai/imagen-3.0-generate-002",
        negative_prompt="people",
        seed=7,
        addWatermark=False,
        safety_filter_level="block_only_high",
        personGeneration="dont_allow",
        enhance_prompt=False,
        labels={"team": "pool"},
        **vx,
    )
    assert _body(emulator, "imagen-3.0-generate-002") == {
        "instances": [{"prompt": PROMPT}],
        "parameters": {
            "negativePrompt": "people",
            "seed": 7,
            "addWatermark": False,
            "safetySetting": "block_only_high",
            "personGeneration": "dont_allow",
            "enhancePrompt": False,
        },
        "labels": {"team": "pool"},
    }


def test_seed_changes_the_image(vx: dict[str, Any]) -> None:
    plain = engine.image_generation(prompt=PROMPT, model="vertex_ai/imagen-3.0-generate-002", seed=1, **vx)
    other = engine.image_generation(prompt=PROMPT, model="vertex_ai/imagen-3.0-generate-002", seed=2, **vx)
    assert plain.data[0].b64_json != other.data[0].b64_json


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"size": "100x100"}, engine.BadRequestError, "accepted: 256x256"),
        ({"response_format": "url"}, engine.BadRequestError, "b64_json"),
        ({"n": 0}, engine.BadRequestError, "outside the range"),
        ({"person_generation": "everyone"}, engine.BadRequestError, "must be one of"),
        ({"quality": "hd"}, engine.UnsupportedParamsError, "quality"),
    ],
)
def test_invalid_calls_fail_locally(
    emulator: Any, vx: dict[str, Any], kwargs: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        engine.image_generation(prompt=PROMPT, model="vertex_ai/imagen-3.0-generate-002", **kwargs, **vx)
    assert emulator.requests("imagen-3.0-generate-002") == []


def test_prompt_is_required(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="prompt"):
        engine.image_generation(model="vertex_ai/imagen-3.0-generate-002", **vx)
