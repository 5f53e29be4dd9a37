"""A multimodal embedding input that is an instance object (text and image together) yields one
``data`` entry, aligned with the inputs. Golden: Google's published text+image reply
(predict/multimodal_embedding_response.json)."""

from __future__ import annotations

from typing import Any

import engine
from tests.conformance import assert_embedding_response
from tests.fixtures.load import load

MODEL = "vertex_ai/multimodalembedding@001"
UPSTREAM = "multimodalembedding@001"
PAIR = {"text": "a cat", "image": {"gcsUri": "gs://my-bucket/embeddings/supermarket-img.png"}}


def test_published_reply_for_one_instance_object_is_one_entry(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("predict/multimodal_embedding_response.json")
    emulator.script(UPSTREAM, [{"json": golden["body"]}])
    resp = engine.embedding(model=MODEL, input=[PAIR], **vx)
    assert_embedding_response(resp)
    (entry,) = resp.model_dump()["data"]
    assert entry["index"] == 0
    assert entry["embedding"] == entry["text_embedding"] == [0.202921599, -0.0365431122]
    assert entry["image_embedding"] == [0.0279239565, 0.00403284049]


async def test_objects_and_strings_stay_aligned(emulator: Any, vx: dict[str, Any]) -> None:
    resp = await engine.aembedding(model=MODEL, input=[PAIR, "hey", "gs://b/x.png"], **vx)
    assert_embedding_response(resp)
    assert [d.index for d in resp.data] == [0, 1, 2]
    assert resp.data[0].get("image_embedding") and not resp.data[1].get("image_embedding")
    bodies = [r["body"]["instances"] for r in emulator.requests(UPSTREAM)]
    assert sorted(map(str, bodies)) == sorted(
        map(str, [[PAIR], [{"text": "hey"}], [{"image": {"gcsUri": "gs://b/x.png"}}]])
    )


def test_base64_encoding_still_applies(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.embedding(model=MODEL, input=[PAIR], encoding_format="base64", **vx)
    assert isinstance(resp.data[0].embedding, str) and len(resp.data) == 1
