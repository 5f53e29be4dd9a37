"""``:predict`` models: text and multimodal embeddings, Imagen, PaLM text/chat/code.

Request bodies are the documented examples' shapes: text-embeddings API
(instances[{content, task_type, title}], parameters{autoTruncate, outputDimensionality}),
multimodal-embeddings API (instances[{text, image{bytesBase64Encoded}, video{gcsUri}}]),
Imagen API (instances[{prompt}], parameters{sampleCount, aspectRatio}), PaLM
text-bison / chat-bison / code-gecko references.
"""

from __future__ import annotations

import base64
import math
import struct

import httpx
import pytest

from engine.emulator import Emulator
from tests.fixtures.load import load

from .helpers import model_path, parent_path


def _predict(client: httpx.Client, model: str, body: dict) -> httpx.Response:
    return client.post(model_path(model, "predict"), json=body)


def test_text_embeddings_shape_dimensions_and_determinism(client: httpx.Client) -> None:
    body = {
        "instances": [
            {"content": "What is life?", "task_type": "RETRIEVAL_QUERY"},
            {"content": "Life is good.", "task_type": "RETRIEVAL_DOCUMENT", "title": "t"},
        ],
        "parameters": {"autoTruncate": True, "outputDimensionality": 256},
    }
    first = _predict(client, "text-embedding-005", body).json()
    again = _predict(client, "text-embedding-005", body).json()
    [query, document] = first["predictions"]
    assert len(query["embeddings"]["values"]) == 256
    assert query["embeddings"]["statistics"] == {"token_count": 4, "truncated": False}
    assert query == again["predictions"][0] and query != document
    assert math.isclose(sum(v * v for v in query["embeddings"]["values"]), 1.0, rel_tol=1e-3)


def test_text_embedding_default_dimension(client: httpx.Client) -> None:
    body = {"instances": [{"content": "x"}]}
    assert (
        len(_predict(client, "text-embedding-005", body).json()["predictions"][0]["embeddings"]["values"])
        == 768
    )


def test_multimodal_embeddings(client: httpx.Client) -> None:
    image = base64.b64encode(b"fake-image-bytes").decode()
    body = {
        "instances": [
            {
                "text": "a cat",
                "image": {"bytesBase64Encoded": image},
                "video": {
                    "gcsUri": "gs://bucket/cat.mp4",
                    "videoSegmentConfig": {"startOffsetSec": 0, "endOffsetSec": 30, "intervalSec": 15},
                },
            }
        ]
    }
    [prediction] = _predict(client, "multimodalembedding@001", body).json()["predictions"]
    assert len(prediction["textEmbedding"]) == len(prediction["imageEmbedding"]) == 1408
    assert [(v["startOffsetSec"], v["endOffsetSec"]) for v in prediction["videoEmbeddings"]] == [
        (0, 15),
        (15, 30),
    ]
    small = _predict(
        client,
        "multimodalembedding@001",
        {"instances": [{"text": "a cat"}], "parameters": {"dimension": 128}},
    )
    assert len(small.json()["predictions"][0]["textEmbedding"]) == 128


def test_imagen_returns_real_pngs(client: httpx.Client) -> None:
    body = {
        "instances": [{"prompt": "a watercolor fox"}],
        "parameters": {"sampleCount": 2, "aspectRatio": "16:9", "seed": 7},
    }
    predictions = _predict(client, "imagen-3.0-generate-002", body).json()["predictions"]
    assert len(predictions) == 2
    for prediction in predictions:
        png = base64.b64decode(prediction["bytesBase64Encoded"])
        assert prediction["mimeType"] == "image/png" and png.startswith(b"\x89PNG\r\n\x1a\n")
        assert png[12:16] == b"IHDR" and struct.unpack(">II", png[16:24]) == (16, 9)
    assert predictions[0]["bytesBase64Encoded"] != predictions[1]["bytesBase64Encoded"]


def test_palm_text_and_code(client: httpx.Client) -> None:
    text = _predict(client, "text-bison@002", {"instances": [{"prompt": "Tell a joke"}]}).json()[
        "predictions"
    ][0]
    assert (
        text["content"] == "Echo: Tell a joke" and "safetyAttributes" in text and "citationMetadata" in text
    )
    code = _predict(
        client, "code-gecko@002", {"instances": [{"prefix": "def add(a, b):", "suffix": ""}]}
    ).json()
    assert code["predictions"][0]["content"] == "Echo: def add(a, b):"


def test_palm_token_metadata_has_the_recorded_shape(client: httpx.Client) -> None:
    """Token counts as in the recorded chat-bison reply (tests/fixtures/partners/palm_chat_bison.json)."""
    recorded = load("partners/palm_chat_bison.json")["body"]["metadata"]
    body = {"instances": [{"context": "Be brief.", "messages": [{"author": "user", "content": "Hi there"}]}]}
    metadata = _predict(client, "chat-bison", body).json()["metadata"]
    assert _shape(metadata) == _shape(recorded)
    # In: "Be brief." (3 tokens, 8 characters without spaces) and "Hi there" (2, 7); out: "Echo: Hi there".
    assert metadata["tokenMetadata"] == {
        "inputTokenCount": {"totalTokens": 5, "totalBillableCharacters": 15},
        "outputTokenCount": {"totalTokens": 4, "totalBillableCharacters": 12},
    }


def _shape(value: object) -> object:
    """The nested key structure of a JSON object, without its values."""
    return {k: _shape(v) for k, v in sorted(value.items())} if isinstance(value, dict) else None


def test_embeddings_keep_billable_characters_and_limits(client: httpx.Client) -> None:
    body = {"instances": [{"content": "abc"}, {"content": "de"}]}
    assert _predict(client, "text-embedding-005", body).json()["metadata"] == {"billableCharacterCount": 5}
    refused = _predict(client, "textembedding-gecko@003", {"instances": [{"content": "x"}] * 6})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "5 instance(s) is allowed per prediction. Actual: 6"


def test_palm_chat(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script("chat-bison@002", [{"text": "Hi there!"}])
    body = {
        "instances": [
            {"context": "friendly", "examples": [], "messages": [{"author": "user", "content": "Hello"}]}
        ]
    }
    prediction = _predict(client, "chat-bison@002", body).json()["predictions"][0]
    assert prediction["candidates"] == [{"author": "bot", "content": "Hi there!"}]


def test_endpoint_predict_reports_deployed_model(client: httpx.Client) -> None:
    response = client.post(f"{parent_path()}/endpoints/321:predict", json={"instances": [{"content": "hi"}]})
    assert response.json()["deployedModelId"] == "321"


@pytest.mark.parametrize(
    "body", [{"instances": []}, {"instances": ["text"]}, {"instances": [{"content": "x"}], "extra": 1}]
)
def test_invalid_predict_bodies(client: httpx.Client, body: dict) -> None:
    response = _predict(client, "text-embedding-005", body)
    assert response.status_code == 400 and response.json()["error"]["status"] == "INVALID_ARGUMENT"
