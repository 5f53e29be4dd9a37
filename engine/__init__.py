"""Vertexlate: every Vertex AI model family in the OpenAI format, driven by YAML specs.

    import engine
    resp = engine.completion(model="vertex_ai/gemini-2.5-flash", messages=[...])

Module-level settings mirror LiteLLM's (``engine.vertex_project`` and friends) and
are read at call time. Importing this package does no network I/O and loads no
spec: the heavy modules load on the first call.
"""

from __future__ import annotations

from typing import Any

from engine.dialects import PUBLIC as _DIALECT_CALLS  # a name table: no I/O, nothing heavy
from engine.errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    AuthenticationError,
    BadRequestError,
    ContentPolicyViolationError,
    ContextWindowExceededError,
    InternalServerError,
    JSONSchemaValidationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    SpecError,
    Timeout,
    UnprocessableEntityError,
    UnsupportedParamsError,
)

__version__ = "0.1.0"

# Module-level settings (LiteLLM names), read at call time.
vertex_project: str | None = None
vertex_location: str | None = None
vertex_ai_safety_settings: list[dict[str, Any]] | None = None
drop_params: bool = False
set_verbose: bool = False
num_retries: int = 0
request_timeout: float | None = 600.0  # None: no limit (as timeout=None in a call)
strict_openai_compliance: bool = False  # replies with OpenAI's fields only (engine/strict.py)
# Media URLs in messages: None follows the model spec (fetch_media_urls capability), True/False overrides it.
fetch_media_urls: bool | None = None
media_fetch_max_bytes: int = 20 * 1024 * 1024
media_fetch_timeout: float = 10.0
media_fetch_allow_private: bool = False  # never fetch from private/loopback/link-local hosts unless set

_LAZY = {
    "completion": "engine.api",
    "acompletion": "engine.api",
    "text_completion": "engine.api",
    "atext_completion": "engine.api",
    "embedding": "engine.api",
    "aembedding": "engine.api",
    "image_generation": "engine.api",
    "aimage_generation": "engine.api",
    "speech": "engine.api",
    "aspeech": "engine.api",
    "token_counter": "engine.api",
    "count_tokens": "engine.api",
    "acount_tokens": "engine.api",
    "atoken_counter": "engine.api",
    "create_file": "engine.api",
    "acreate_file": "engine.api",
    "retrieve_file": "engine.api",
    "aretrieve_file": "engine.api",
    "file_content": "engine.api",
    "afile_content": "engine.api",
    "create_batch": "engine.api",
    "acreate_batch": "engine.api",
    "retrieve_batch": "engine.api",
    "aretrieve_batch": "engine.api",
    "cancel_batch": "engine.api",
    "acancel_batch": "engine.api",
    "list_batches": "engine.api",
    "alist_batches": "engine.api",
    "create_fine_tuning_job": "engine.api",
    "acreate_fine_tuning_job": "engine.api",
    "retrieve_fine_tuning_job": "engine.api",
    "aretrieve_fine_tuning_job": "engine.api",
    "cancel_fine_tuning_job": "engine.api",
    "acancel_fine_tuning_job": "engine.api",
    "list_fine_tuning_jobs": "engine.api",
    "alist_fine_tuning_jobs": "engine.api",
    "create_cached_content": "engine.api",
    "acreate_cached_content": "engine.api",
    "retrieve_cached_content": "engine.api",
    "aretrieve_cached_content": "engine.api",
    "delete_cached_content": "engine.api",
    "adelete_cached_content": "engine.api",
    "list_cached_contents": "engine.api",
    "alist_cached_contents": "engine.api",
    "add_spec_dir": "engine.registry",
    "completion_cost": "engine.cost",
    "cost_per_token": "engine.cost",
    "ModelResponse": "engine.types",
    "ModelResponseStream": "engine.types",
    "EmbeddingResponse": "engine.types",
    "ImageResponse": "engine.types",
    "TextCompletionResponse": "engine.types",
    "SpeechResponse": "engine.types",
    "FileContent": "engine.types",
}

# The other APIs' calls (Anthropic Messages, OpenAI Responses) are named by their package.
_LAZY.update(_DIALECT_CALLS)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "AuthenticationError",
    "BadRequestError",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "InternalServerError",
    "JSONSchemaValidationError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "SpecError",
    "Timeout",
    "UnprocessableEntityError",
    "UnsupportedParamsError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
