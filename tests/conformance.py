"""Checks against sources nobody here wrote.

- Request bodies: the Vertex AI v1 (and Text-to-Speech v1) discovery documents shipped
  in google-api-python-client, converted to JSON Schema with unknown fields rejected.
- Responses and chunks: the ``openai`` package's pydantic types.
"""

from __future__ import annotations

from typing import Any


def assert_valid_request(
    body: dict[str, Any],
    schema: str = "GoogleCloudAiplatformV1GenerateContentRequest",
    api: str = "aiplatform.v1",
) -> None:
    from engine.emulator.discovery import validator

    errors = sorted(validator(api, schema).iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    assert not errors, "request body does not validate against the discovery document:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:20]
    )


def assert_chat_completion(resp: Any) -> Any:
    from openai.types.chat import ChatCompletion

    return ChatCompletion.model_validate(
        resp.model_dump() if hasattr(resp, "model_dump") else resp, strict=False
    )


def assert_chat_chunk(chunk: Any) -> Any:
    from openai.types.chat import ChatCompletionChunk

    return ChatCompletionChunk.model_validate(chunk.model_dump() if hasattr(chunk, "model_dump") else chunk)


def assert_completion(resp: Any) -> Any:
    from openai.types import Completion

    return Completion.model_validate(resp.model_dump())


def assert_embedding_response(resp: Any) -> Any:
    from openai.types import CreateEmbeddingResponse

    return CreateEmbeddingResponse.model_validate(resp.model_dump())


def assert_images_response(resp: Any) -> Any:
    from openai.types import ImagesResponse

    return ImagesResponse.model_validate(resp.model_dump())
