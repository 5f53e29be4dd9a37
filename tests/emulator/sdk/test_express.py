"""google-genai in Vertex express mode (``Client(vertexai=True, api_key=...)``) against the emulator.

With an API key and no project the SDK calls the project-less paths
(``v1beta1/publishers/google/models/{m}:generateContent``) with ``x-goog-api-key``; the emulator
serves the project-less methods the discovery documents have and accepts the keys it issued.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from google import genai

from engine.emulator import Emulator

MODEL = "gemini-2.5-flash"


@pytest.fixture
def express(emulator: Emulator) -> Iterator[genai.Client]:
    key = emulator.issue_api_key()
    with genai.Client(vertexai=True, api_key=key, http_options={"base_url": emulator.url}) as client:
        yield client


def test_generate_stream_count_and_get_with_an_api_key(express: genai.Client, emulator: Emulator) -> None:
    assert express.models.generate_content(model=MODEL, contents="hi there").text == "Echo: hi there"
    chunks = list(express.models.generate_content_stream(model=MODEL, contents="a b c d"))
    assert "".join(c.text or "" for c in chunks) == "Echo: a b c d"
    assert express.models.count_tokens(model=MODEL, contents="one two").total_tokens == 2
    assert express.models.compute_tokens(model=MODEL, contents="one two").tokens_info[0].tokens == [
        b"one",
        b"two",
    ]
    assert express.models.get(model=MODEL).name == f"publishers/google/models/{MODEL}"
    assert f"publishers/google/models/{MODEL}" in [m.name for m in express.models.list()]
    paths = [r["path"] for r in emulator.requests()]
    assert f"/v1beta1/publishers/google/models/{MODEL}:generateContent" in paths
    assert all(r["headers"]["x-goog-api-key"] == "<redacted>" for r in emulator.requests())


def test_unknown_model_and_a_method_express_mode_lacks(express: genai.Client) -> None:
    with pytest.raises(genai.errors.ClientError) as missing:
        express.models.generate_content(model="gemini-9.9-ultra", contents="hi")
    assert missing.value.code == 404 and "publishers/google/models/gemini-9.9-ultra" in missing.value.message
    with pytest.raises(genai.errors.ClientError) as no_route:  # embedContent has no project-less path
        express.models.embed_content(model="gemini-embedding-001", contents="hi")
    assert no_route.value.code == 404


def test_key_query_parameter_and_a_bad_key(emulator: Emulator) -> None:
    key = emulator.issue_api_key()
    path = f"{emulator.url}/v1/publishers/google/models/{MODEL}:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "by query"}]}]}
    answer = httpx.post(path, params={"key": key}, json=body)
    assert answer.status_code == 200
    assert answer.json()["candidates"][0]["content"]["parts"][0]["text"] == "Echo: by query"
    assert emulator.requests()[-1]["query"] == {"key": "<redacted>"}
    bad = httpx.post(path, params={"key": "AIza-not-issued"}, json=body)
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert error["status"] == "INVALID_ARGUMENT" and error["details"][0]["reason"] == "API_KEY_INVALID"
    assert httpx.post(path, json=body).status_code == 401
    issued = httpx.post(f"{emulator.url}/emulator/api-keys").json()["key"]
    assert httpx.post(path, headers={"x-goog-api-key": issued}, json=body).status_code == 200
