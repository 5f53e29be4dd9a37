"""Bad input over real HTTP gets Google's (or, on Claude routes, Anthropic's) JSON error, never a bare 500.

Each case is one request a review found reaching a plain-text 500 (or a multi-GB allocation); the
emulator must answer it in the route's error shape: ``{"error": {"code", "message", "status"}}``
(https://cloud.google.com/apis/design/errors#http_mapping) or ``{"type": "error", "error": {"type",
"message"}}`` (https://docs.anthropic.com/en/api/errors).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from engine.emulator import Emulator

from .helpers import model_path, parent_path, user

BUCKET = "bad-input"
BOUNDARY = "==b=="
CLAUDE = "claude-sonnet-4@20250514"
LLAMA = "meta/llama3-405b-instruct-maas"
VEO = "veo-3.0-generate-001"
IMAGEN = "imagen-3.0-generate-002"
EMBEDDING = "gemini-embedding-001"
GEMINI = "gemini-2.0-flash-001"
OPENAPI = f"{parent_path()}/endpoints/openapi"


def _multipart(metadata: Any) -> bytes:
    return (
        f"--{BOUNDARY}\r\ncontent-type: application/json\r\n\r\n"
        + json.dumps(metadata)
        + f"\r\n--{BOUNDARY}\r\ncontent-type: text/plain\r\n\r\nhello\r\n--{BOUNDARY}--\r\n"
    ).encode()


def _upload(emulator: Emulator, metadata: Any) -> httpx.Response:
    return httpx.post(
        f"{emulator.url}/upload/storage/v1/b/{BUCKET}/o",
        params={"uploadType": "multipart"},
        content=_multipart(metadata),
        headers={"content-type": f'multipart/related; boundary="{BOUNDARY}"'},
    )


def _google_shape(answer: httpx.Response, code: int | None = None) -> None:
    assert answer.status_code != 500, answer.text
    assert 400 <= answer.status_code < 500 if code is None else answer.status_code == code
    error = answer.json()["error"]
    assert error["code"] == answer.status_code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["status"], str) and error["status"]


def _anthropic_shape(answer: httpx.Response) -> None:
    assert 400 <= answer.status_code < 500, answer.text
    body = answer.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


# E1: multipart metadata that is not an object, or whose name is not a non-empty string.
@pytest.mark.parametrize("metadata", [["x"], "x", 5, {"name": 5}, {"name": ""}, {"name": ["a"]}, {}])
def test_multipart_metadata_must_name_the_object(emulator: Emulator, metadata: Any) -> None:
    _google_shape(_upload(emulator, metadata), 400)
    assert _upload(emulator, {"name": "ok.txt"}).status_code == 200
    listed = httpx.get(f"{emulator.url}/storage/v1/b/{BUCKET}/o")
    assert listed.status_code == 200 and [i["name"] for i in listed.json()["items"]] == ["ok.txt"]


# E2: a contentType that is not a non-empty string is not stored; the part's own type is.
@pytest.mark.parametrize("content_type", [5, ["text/x"], {"a": 1}, "", None])
def test_multipart_content_type_must_be_a_string(emulator: Emulator, content_type: Any) -> None:
    stored = _upload(emulator, {"name": "t.txt", "contentType": content_type})
    assert stored.status_code == 200 and stored.json()["contentType"] == "text/plain"
    got = httpx.get(f"{emulator.url}/storage/v1/b/{BUCKET}/o/t.txt", params={"alt": "media"})
    assert got.status_code == 200 and got.content == b"hello"


def _veo(client: httpx.Client, parameters: Any) -> httpx.Response:
    body = {"instances": [{"prompt": "a cat"}], "parameters": parameters}
    return client.post(model_path(VEO, "predictLongRunning"), json=body)


# E3: the --storage-url Cloud Storage cannot be reached: Google's 503, and the operation stays pollable.
def test_unreachable_storage_url_is_a_503(
    emulator: Emulator, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator.state, "storage_url", "http://127.0.0.1:9")  # discard port: refused
    started = _veo(client, {"storageUri": "gs://b/out"})
    assert started.status_code == 200
    fetch = model_path(VEO, "fetchPredictOperation")
    assert client.post(fetch, json={"operationName": started.json()["name"]}).json()["done"] is False
    _google_shape(client.post(fetch, json={"operationName": started.json()["name"]}), 503)


# E4-E6: Veo parameters not an object, a boolean sampleCount, a storageUri without a bucket.
@pytest.mark.parametrize(
    "parameters",
    [
        "x",
        ["a"],
        5,
        {"sampleCount": True},
        {"sampleCount": False},
        {"storageUri": "gs://"},
        {"storageUri": 5},
    ],
)
def test_veo_parameters_are_checked(client: httpx.Client, parameters: Any) -> None:
    _google_shape(_veo(client, parameters), 400)


# E4: Imagen :predict parameters not an object.
@pytest.mark.parametrize("parameters", ["x", ["a"], 5])
def test_predict_parameters_must_be_an_object(client: httpx.Client, parameters: Any) -> None:
    body = {"instances": [{"prompt": "a cat"}], "parameters": parameters}
    _google_shape(client.post(model_path(IMAGEN, "predict"), json=body), 400)


# E7: outputDimensionality outside 1..the model's limit (3072 for the Gemini embedding model).
@pytest.mark.parametrize("size", [-1, -5000, 3073, 2**31 - 1])
@pytest.mark.parametrize("where", ["config", "top"])
def test_embed_output_dimensionality_is_bounded(client: httpx.Client, size: int, where: str) -> None:
    request: dict[str, Any] = {"content": {"parts": [{"text": "hi"}]}}
    if where == "config":
        request["embedContentConfig"] = {"outputDimensionality": size}
    else:
        request["outputDimensionality"] = size
    _google_shape(client.post(model_path(EMBEDDING, "embedContent"), json=request), 400)
    batch = {"requests": [request]}
    _google_shape(client.post(model_path(EMBEDDING, "batchEmbedContents"), json=batch), 400)


# E8: a TTS sampleRate outside 8000..48000 Hz.
@pytest.mark.parametrize("rate", [-1, 1, 7999, 48001, 2**31 - 1])
def test_audio_sample_rate_is_bounded(client: httpx.Client, rate: int) -> None:
    config = {"responseModalities": ["AUDIO"], "responseFormat": [{"audio": {"sampleRate": rate}}]}
    answer = client.post(
        model_path(GEMINI, "generateContent"), json={**user("hi"), "generationConfig": config}
    )
    _google_shape(answer, 400)


# E9: a responseSchema nested deeper than the validator can walk.
def test_deeply_nested_response_schema_is_invalid_json(client: httpx.Client) -> None:
    schema: dict[str, Any] = {"type": "STRING"}
    for _ in range(200):
        schema = {"type": "OBJECT", "properties": {"a": schema}}
    body = {
        **user("hi"),
        "generationConfig": {"responseMimeType": "application/json", "responseSchema": schema},
    }
    answer = client.post(model_path(GEMINI, "generateContent"), json=body)
    _google_shape(answer, 400)
    assert answer.json()["error"]["message"].startswith("Invalid JSON payload received.")


HELLO = [{"role": "user", "content": "hi"}]


# E10: the openapi endpoint's model must be a "<publisher>/<model>" string.
@pytest.mark.parametrize("model", [["a"], {"a": 1}, 5, True, "llama", "/x", "meta/", None])
@pytest.mark.parametrize(
    ("suffix", "extra"), [("/chat/completions", {"messages": HELLO}), ("/embeddings", {"input": "hi"})]
)
def test_openapi_model_must_be_publisher_slash_model(
    client: httpx.Client, model: Any, suffix: str, extra: dict[str, Any]
) -> None:
    _google_shape(client.post(OPENAPI + suffix, json={"model": model, **extra}), 400)


BAD_MESSAGES = ["hi", [1], [None], [{"role": "user", "content": 5}], [{"role": "user", "content": {"a": 1}}]]


# E11: messages / content of the wrong type on the OpenAI-format routes (Google's shape)...
@pytest.mark.parametrize("messages", BAD_MESSAGES)
@pytest.mark.parametrize(
    "path",
    [
        f"{OPENAPI}/chat/completions",
        f"{parent_path()}/endpoints/98765/chat/completions",
        model_path("mistral-large-2411", "rawPredict", publisher="mistralai"),
    ],
)
def test_openai_messages_are_type_checked(client: httpx.Client, path: str, messages: Any) -> None:
    _google_shape(client.post(path, json={"model": LLAMA, "messages": messages}), 400)


# ...and on Claude routes (Anthropic's shape), including content blocks that are not objects.
@pytest.mark.parametrize("messages", [*BAD_MESSAGES, [{"role": "user", "content": [1]}], [{"role": "user"}]])
@pytest.mark.parametrize("verb", ["rawPredict", "streamRawPredict"])
def test_claude_messages_are_type_checked(client: httpx.Client, messages: Any, verb: str) -> None:
    body = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 10, "messages": messages}
    path = model_path(CLAUDE, verb, publisher="anthropic", location="us-east5")
    _anthropic_shape(client.post(path, json=body))
