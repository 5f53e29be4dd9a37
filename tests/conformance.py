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


# Anthropic's sampling parameters: no longer in the SDK's request types (Claude Opus 4.7 and later reject
# them), but the Messages API still takes them on earlier models.
ANTHROPIC_SAMPLING = frozenset({"temperature", "top_p", "top_k"})


def assert_valid_anthropic_request(body: dict[str, Any], sampling: bool = False) -> Any:
    """A Claude-on-Vertex body: the ``anthropic`` package's MessageCreateParams, plus ``anthropic_version``.

    Unknown top-level fields are refused (pydantic ignores extras in TypedDicts, so they are checked here).
    """
    from anthropic.types import message_create_params
    from pydantic import TypeAdapter

    params = message_create_params.MessageCreateParamsNonStreaming
    known = set(message_create_params.MessageCreateParamsBase.__annotations__) | {
        "anthropic_version",
        "stream",
    }
    if sampling:
        known |= ANTHROPIC_SAMPLING
    unknown = set(body) - known
    assert not unknown, f"fields the Messages API does not define: {sorted(unknown)}"
    assert body.get("anthropic_version") == "vertex-2023-10-16" and "model" not in body
    return TypeAdapter(params).validate_python(
        {k: v for k, v in body.items() if k != "anthropic_version"} | {"model": "m"}
    )


def assert_valid_openai_request(body: dict[str, Any]) -> Any:
    """An OpenAI-format chat body (MaaS, Model Garden, plain OpenAI): the ``openai`` package's params."""
    from openai.types.chat import completion_create_params
    from pydantic import TypeAdapter

    params = completion_create_params.CompletionCreateParamsNonStreaming
    known = set(completion_create_params.CompletionCreateParamsBase.__annotations__) | {"stream"}
    unknown = set(body) - known
    assert not unknown, f"fields OpenAI's chat completions API does not define: {sorted(unknown)}"
    return TypeAdapter(params).validate_python({"model": "m", **body})
