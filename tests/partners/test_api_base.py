"""``api_base`` replaces scheme and host and keeps Google's path, for every partner family."""

from __future__ import annotations

from typing import Any

import pytest

from tests.partners.helpers import prepared

HI = [{"role": "user", "content": "hi"}]
PREFIX = "https://proxy.example.com:8443/v1/projects/emulator-project/locations/europe-west4"


@pytest.mark.parametrize(
    ("operation", "model", "path", "stream_path"),
    [
        (
            "chat",
            "claude-3-haiku@20240307",
            "/publishers/anthropic/models/claude-3-haiku@20240307:rawPredict",
            "/publishers/anthropic/models/claude-3-haiku@20240307:streamRawPredict",
        ),
        (
            "chat",
            "meta/llama-3.3-70b-instruct-maas",
            "/endpoints/openapi/chat/completions",
            "/endpoints/openapi/chat/completions",
        ),
        (
            "chat",
            "mistral-large@latest",
            "/publishers/mistralai/models/mistral-large@latest:rawPredict",
            "/publishers/mistralai/models/mistral-large@latest:streamRawPredict",
        ),
        (
            "text_completion",
            "codestral@2405",
            "/publishers/mistralai/models/codestral@2405:rawPredict",
            "/publishers/mistralai/models/codestral@2405:streamRawPredict",
        ),
        (
            "chat",
            "jamba-1.5-large@001",
            "/publishers/ai21/models/jamba-1.5-large@001:rawPredict",
            "/publishers/ai21/models/jamba-1.5-large@001:streamRawPredict",
        ),
        ("chat", "openai/77", "/endpoints/77/chat/completions", "/endpoints/77/chat/completions"),
        ("embedding", "openai/77", "/endpoints/77/embeddings", None),
        ("chat", "gemini/77", "/endpoints/77:generateContent", "/endpoints/77:streamGenerateContent?alt=sse"),
        ("chat", "text-bison@001", "/publishers/google/models/text-bison@001:predict", None),
        ("text_completion", "code-gecko@latest", "/publishers/google/models/code-gecko@latest:predict", None),
    ],
)
def test_api_base_keeps_googles_path(
    service_account: dict[str, Any], operation: str, model: str, path: str, stream_path: str | None
) -> None:
    inputs = {"chat": {"messages": HI}, "text_completion": {"prompt": "x"}, "embedding": {"input": "x"}}[
        operation
    ]
    common = {"vertex_credentials": service_account, "vertex_location": "europe-west4", **inputs}
    call = prepared(
        operation, model="vertex_ai/" + model, api_base="https://proxy.example.com:8443/", **common
    )
    assert call.url == PREFIX + path
    if stream_path is not None:
        streamed = prepared(
            operation,
            model="vertex_ai/" + model,
            base_url="https://proxy.example.com:8443",
            stream=True,
            **common,
        )
        assert streamed.url == PREFIX + stream_path
    without = prepared(operation, model="vertex_ai/" + model, **common)
    assert (
        without.url
        == "https://europe-west4-aiplatform.googleapis.com"
        + PREFIX.removeprefix("https://proxy.example.com:8443")
        + path
    )
