"""Multimodal embeddings (``multimodalembedding@001``): text, gs:// and data: images and videos.

Golden fixtures (tests/fixtures/predict/): multimodal_embedding_request.json and
multimodal_embedding_response.json, Google's "Specify lower-dimension embeddings" REST example
on cloud.google.com/vertex-ai/generative-ai/docs/embeddings/get-multimodal-embeddings.
The seed's calls (LiteLLM's Vertex AI page, "Multi-modale Embeddings") run against the emulator;
how inputs become instances and requests is documented in engine/transforms/predict.py.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

import engine
from tests.conformance import assert_embedding_response, assert_valid_request
from tests.fixtures.load import load

MODEL = "vertex_ai/multimodalembedding@001"
UPSTREAM = "multimodalembedding@001"
IMAGE = "gs://cloud-samples-data/vertex-ai/llm/prompts/landmark1.png"
VIDEO = "gs://my-bucket/embeddings/supermarket-video.mp4"
JPEG_B64 = base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00").decode()


def _bodies(emulator: Any) -> list[dict[str, Any]]:
    bodies = [r["body"] for r in emulator.requests(UPSTREAM)]
    for body in bodies:
        assert_valid_request(body, schema="GoogleCloudAiplatformV1PredictRequest")
    return bodies


def _one(item: str, vx: dict[str, Any]) -> list[list[float]]:
    return [d.embedding for d in engine.embedding(model=MODEL, input=item, **vx).data]


# --------------------------------------------------------------------------- golden


def test_request_matches_googles_published_example(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("predict/multimodal_embedding_request.json")
    engine.embedding(
        model=MODEL, input=["a cat", "gs://my-bucket/embeddings/supermarket-img.png"], dimensions=128, **vx
    )
    assert _bodies(emulator) == [golden["body"]], golden["source"]


def test_published_response_in_input_order(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("predict/multimodal_embedding_response.json")
    emulator.script(UPSTREAM, [{"json": golden["body"]}])
    resp = engine.embedding(
        model=MODEL, input=["a cat", "gs://my-bucket/embeddings/supermarket-img.png"], **vx
    )
    assert_embedding_response(resp)
    # The reply lists imageEmbedding first; the caller's order (text, image) wins.
    assert [d.embedding for d in resp.data] == [
        [0.202921599, -0.0365431122],
        [0.0279239565, 0.00403284049],
    ], golden["source"]
    assert [d.index for d in resp.data] == [0, 1]
    assert resp._hidden_params["deployed_model_id"] == "DEPLOYED_MODEL_ID"


# --------------------------------------------------------------------------- emulator: the seed's calls


async def test_seed_gcs_image(emulator: Any, vx: dict[str, Any]) -> None:
    resp = await engine.aembedding(model=MODEL, input=IMAGE, **vx)
    assert_embedding_response(resp)
    assert len(resp.data) == 1 and len(resp.data[0].embedding) == 1408
    assert _bodies(emulator) == [{"instances": [{"image": {"gcsUri": IMAGE}}]}]


async def test_seed_base64_image(emulator: Any, vx: dict[str, Any]) -> None:
    resp = await engine.aembedding(model=MODEL, input=f"data:image/jpeg;base64,{JPEG_B64}", **vx)
    assert_embedding_response(resp)
    assert _bodies(emulator) == [{"instances": [{"image": {"bytesBase64Encoded": JPEG_B64}}]}]


@pytest.mark.parametrize(
    ("inputs", "instance"),
    [
        (["hey", IMAGE], {"text": "hey", "image": {"gcsUri": IMAGE}}),
        (["hey", VIDEO], {"text": "hey", "video": {"gcsUri": VIDEO}}),
        ([IMAGE, VIDEO], {"image": {"gcsUri": IMAGE}, "video": {"gcsUri": VIDEO}}),
    ],
    ids=["text+image", "text+video", "image+video"],
)
async def test_seed_mixed_inputs_are_one_instance(
    emulator: Any, vx: dict[str, Any], inputs: list[str], instance: dict[str, Any]
) -> None:
    expected = [vector for item in inputs for vector in _one(item, vx)]
    emulator.reset()
    resp = await engine.aembedding(model=MODEL, input=inputs, **vx)
    assert_embedding_response(resp)
    assert _bodies(emulator) == [{"instances": [instance]}]
    assert [d.embedding for d in resp.data] == expected


def test_sync_call_and_video_segments(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.embedding(model=MODEL, input=["hey", VIDEO], **vx)
    assert_embedding_response(resp)
    segments = resp._hidden_params["video_segments"]
    assert len(resp.data) == 1 + len(segments) and segments[0]["start_offset_sec"] == 0


def test_a_video_instance_object_yields_one_embedding_per_segment(emulator: Any, vx: dict[str, Any]) -> None:
    video = {
        "video": {
            "gcsUri": VIDEO,
            "videoSegmentConfig": {"startOffsetSec": 0, "endOffsetSec": 30, "intervalSec": 10},
        }
    }
    resp = engine.embedding(model=MODEL, input=[video], **vx)
    assert len(resp.data) == 3
    assert [(s["start_offset_sec"], s["end_offset_sec"]) for s in resp._hidden_params["video_segments"]] == [
        (0, 10),
        (10, 20),
        (20, 30),
    ]
    assert _bodies(emulator) == [{"instances": [video]}]


def test_out_of_order_and_repeated_kinds_split_into_requests_in_order(
    emulator: Any, vx: dict[str, Any]
) -> None:
    inputs = [IMAGE, "hey", f"data:image/png;base64,{JPEG_B64}", "gs://b/second.png"]
    expected = [vector for item in inputs for vector in _one(item, vx)]
    emulator.reset()
    resp = engine.embedding(model=MODEL, input=inputs, dimensions=256, **vx)
    assert len(resp.data) == 4
    bodies = _bodies(emulator)
    assert len(bodies) == 3  # [image], [text + image], [image]: one instance per request
    assert sorted(len(b["instances"]) for b in bodies) == [1, 1, 1]
    assert all(b["parameters"] == {"dimension": 256} for b in bodies)
    assert resp._hidden_params["batch_requests"] == 3
    assert [len(d.embedding) for d in resp.data] == [256] * 4
    emulator.reset()
    again = engine.embedding(model=MODEL, input=inputs, **vx)
    assert [d.embedding for d in again.data] == expected


async def test_async_split_keeps_order(emulator: Any, vx: dict[str, Any]) -> None:
    inputs = [VIDEO, IMAGE, "hey"]
    expected = [vector for item in inputs for vector in _one(item, vx)]
    emulator.reset()
    resp = await engine.aembedding(model=MODEL, input=inputs, **vx)
    assert [d.embedding for d in resp.data] == expected
    assert len(emulator.requests(UPSTREAM)) == 3


def test_base64_encoding(vx: dict[str, Any]) -> None:
    resp = engine.embedding(model=MODEL, input=["hey", IMAGE], dimensions=128, encoding_format="base64", **vx)
    assert [len(base64.b64decode(d.embedding)) for d in resp.data] == [128 * 4, 128 * 4]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("https://example.com/cat.png", "gs:// URIs or data: URLs only"),
        ("data:text/plain;base64,aGk=", "not a base64 image"),
        ([1, 2], "expected text"),
        ([{"audio": {}}], "only 'text', 'image'"),
        ([], "input is empty"),
    ],
)
def test_invalid_inputs_fail_locally(emulator: Any, vx: dict[str, Any], value: Any, message: str) -> None:
    with pytest.raises(engine.BadRequestError, match=message):
        engine.embedding(model=MODEL, input=value, **vx)
    assert emulator.requests(UPSTREAM) == []


def test_dimension_must_be_one_google_offers(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match=r"\[128, 256, 512, 1408\]"):
        engine.embedding(model=MODEL, input="hey", dimensions=100, **vx)
