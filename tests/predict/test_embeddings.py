"""Text embeddings: ``engine.embedding`` / ``engine.aembedding`` → ``:predict`` → OpenAI ``CreateEmbeddingResponse``.

Golden fixtures (tests/fixtures/predict/): text_embedding_request.json and
text_embedding_response.json, Google's REST example on
cloud.google.com/vertex-ai/docs/generative-ai/embeddings/get-text-embeddings.
The seed's calls (LiteLLM's Vertex AI page, "Embedding-Modelle") run against the emulator.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

import engine
from tests.conformance import assert_embedding_response, assert_valid_request
from tests.fixtures.load import load

PREDICT = "GoogleCloudAiplatformV1PredictRequest"
SEED_MODELS = [
    "text-embedding-004",
    "text-multilingual-embedding-002",
    "textembedding-gecko",
    "textembedding-gecko-multilingual",
    "textembedding-gecko-multilingual@001",
    "textembedding-gecko@001",
    "textembedding-gecko@003",
    "text-embedding-preview-0409",
    "text-multilingual-embedding-preview-0409",
]


def _path(project: str, model: str) -> str:
    return f"/v1/projects/{project}/locations/us-central1/publishers/google/models/{model}:predict"


# --------------------------------------------------------------------------- golden


def test_request_matches_googles_published_example(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("predict/text_embedding_request.json")
    engine.embedding(model="vertex_ai/textembedding-gecko", input="TEXT", **vx)
    (logged,) = emulator.requests("textembedding-gecko")
    assert logged["body"] == golden["body"], golden["source"]
    assert_valid_request(logged["body"], schema=PREDICT)


def test_published_response_becomes_an_openai_embedding_response(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("predict/text_embedding_response.json")
    emulator.script("text-embedding-004", [{"json": golden["body"]}])
    resp = engine.embedding(model="vertex_ai/text-embedding-004", input="TEXT", **vx)
    assert_embedding_response(resp)
    assert resp.object == "list" and resp.model == "text-embedding-004"
    assert [item.embedding for item in resp.data] == [[]]
    assert resp.usage.prompt_tokens == resp.usage.total_tokens == 6, golden["source"]
    assert resp._hidden_params["statistics"] == [{"truncated": False, "token_count": 6}]


# --------------------------------------------------------------------------- emulator: the seed's calls


def test_seed_basic_usage_with_module_settings(
    emulator: Any, vx: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "vertex_project", "hardy-device-38811")
    monkeypatch.setattr(engine, "vertex_location", "us-central1")
    kwargs = {k: v for k, v in vx.items() if k != "vertex_location"}
    resp = engine.embedding(
        model="vertex_ai/textembedding-gecko", input=["good morning from litellm"], **kwargs
    )
    assert_embedding_response(resp)
    assert len(resp.data) == 1 and len(resp.data[0].embedding) == 768
    assert resp.usage.prompt_tokens == 4  # the emulator counts words and punctuation
    (logged,) = emulator.requests("textembedding-gecko")
    assert logged["path"] == _path("hardy-device-38811", "textembedding-gecko")


@pytest.mark.parametrize("model", SEED_MODELS)
def test_every_model_of_the_seed_table(
    emulator: Any, vx: dict[str, Any], service_account: dict[str, Any], model: str
) -> None:
    resp = engine.embedding(model=f"vertex_ai/{model}", input="hello", **vx)
    assert_embedding_response(resp)
    (logged,) = emulator.requests(model)
    assert logged["path"] == _path(service_account["project_id"], model)


def test_seed_unified_params(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.embedding(
        model="vertex_ai/text-embedding-004",
        input=["good morning from litellm", "gm"],
        input_type="RETRIEVAL_DOCUMENT",
        dimensions=1,
        **vx,
    )
    assert_embedding_response(resp)
    assert [item.index for item in resp.data] == [0, 1]
    assert [len(item.embedding) for item in resp.data] == [1, 1]
    (logged,) = emulator.requests("text-embedding-004")
    assert logged["body"] == {
        "instances": [
            {"content": "good morning from litellm", "task_type": "RETRIEVAL_DOCUMENT"},
            {"content": "gm", "task_type": "RETRIEVAL_DOCUMENT"},
        ],
        "parameters": {"outputDimensionality": 1},
    }
    assert_valid_request(logged["body"], schema=PREDICT)


def test_seed_vertex_specific_params(emulator: Any, vx: dict[str, Any]) -> None:
    engine.embedding(
        model="vertex_ai/text-embedding-004",
        input=["good morning from litellm", "gm"],
        task_type="RETRIEVAL_DOCUMENT",
        title="test",
        dimensions=1,
        auto_truncate=True,
        **vx,
    )
    (logged,) = emulator.requests("text-embedding-004")
    assert logged["body"]["instances"][1] == {
        "content": "gm",
        "task_type": "RETRIEVAL_DOCUMENT",
        "title": "test",
    }
    assert logged["body"]["parameters"] == {"outputDimensionality": 1, "autoTruncate": True}


async def test_async_embedding(emulator: Any, vx: dict[str, Any]) -> None:
    resp = await engine.aembedding(model="vertex_ai/text-embedding-004", input=["a", "b"], **vx)
    assert_embedding_response(resp)
    assert len(resp.data) == 2 and resp.data[0].embedding != resp.data[1].embedding


def test_task_type_changes_the_vector(vx: dict[str, Any]) -> None:
    query = engine.embedding(
        model="vertex_ai/text-embedding-004", input="x", input_type="RETRIEVAL_QUERY", **vx
    )
    document = engine.embedding(
        model="vertex_ai/text-embedding-004", input="x", input_type="RETRIEVAL_DOCUMENT", **vx
    )
    assert query.data[0].embedding != document.data[0].embedding


def test_custom_endpoint(emulator: Any, vx: dict[str, Any], service_account: dict[str, Any]) -> None:
    resp = engine.embedding(model="vertex_ai/1234567890", input="hello", **vx)
    assert_embedding_response(resp)
    (logged,) = emulator.requests("1234567890")
    assert (
        logged["path"]
        == f"/v1/projects/{service_account['project_id']}/locations/us-central1/endpoints/1234567890:predict"
    )
    assert resp._hidden_params["deployed_model_id"] == "1234567890"


def test_custom_endpoint_answering_bare_vectors(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script("42", [{"json": {"predictions": [[0.5, 0.25], [1.0, 0.0]], "deployedModelId": "42"}}])
    resp = engine.embedding(model="vertex_ai/42", input=["a", "b"], **vx)
    assert [item.embedding for item in resp.data] == [[0.5, 0.25], [1.0, 0.0]]
    assert resp.usage.prompt_tokens == 0


def test_base64_encoding_is_openais_float32_little_endian(vx: dict[str, Any]) -> None:
    floats = engine.embedding(model="vertex_ai/text-embedding-004", input=["a", "b"], dimensions=8, **vx)
    packed = engine.embedding(
        model="vertex_ai/text-embedding-004", input=["a", "b"], dimensions=8, encoding_format="base64", **vx
    )
    assert_embedding_response(floats)
    for as_float, as_b64 in zip(floats.data, packed.data, strict=True):
        assert isinstance(as_b64.embedding, str)
        decoded = struct.unpack("<8f", base64.b64decode(as_b64.embedding))
        assert decoded == pytest.approx(as_float.embedding, rel=1e-6)


def test_api_base_keeps_googles_path(
    emulator: Any, vx: dict[str, Any], service_account: dict[str, Any]
) -> None:
    resp = engine.embedding(model="vertex_ai/text-embedding-004", input="x", **vx)
    assert resp._hidden_params["api_base"] == vx["api_base"].rstrip("/") + _path(
        service_account["project_id"], "text-embedding-004"
    )


# --------------------------------------------------------------------------- errors before any request


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input": [[1, 2, 3]]}, "not token ids"),
        ({"input": []}, "input is empty"),
        ({"input": "x", "input_type": "SEARCH"}, "must be one of"),
        ({"input": "x", "dimensions": 769}, "outside the range"),
        ({"input": "x", "encoding_format": "int8"}, "must be one of"),
    ],
)
def test_invalid_calls_fail_locally(
    emulator: Any, vx: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(engine.BadRequestError, match=message):
        engine.embedding(model="vertex_ai/text-embedding-004", **kwargs, **vx)
    assert emulator.requests("text-embedding-004") == []


def test_unknown_param_is_named_unless_dropped(emulator: Any, vx: dict[str, Any]) -> None:
    with pytest.raises(engine.UnsupportedParamsError, match="user"):
        engine.embedding(model="vertex_ai/text-embedding-004", input="x", user="me", **vx)
    resp = engine.embedding(
        model="vertex_ai/text-embedding-004", input="x", user="me", drop_params=True, **vx
    )
    assert len(resp.data) == 1


def test_upstream_error_is_typed(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(
        "text-embedding-004", [{"status": 400, "message": "Request contains an invalid argument."}]
    )
    with pytest.raises(engine.BadRequestError, match="invalid argument"):
        engine.embedding(model="vertex_ai/text-embedding-004", input="x", **vx)
