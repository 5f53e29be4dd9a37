"""Checks shared by the jobs tests: OpenAI's own types, and reading back what reached Cloud Storage."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

# The seed's batch file ("Batch-APIs", step 1): two OpenAI chat requests for one Gemini model.
SEED_BATCH_LINES = [
    {
        "custom_id": "request-1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "gemini-1.5-flash-001",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Hello world!"},
            ],
            "max_tokens": 10,
        },
    },
    {
        "custom_id": "request-2",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "gemini-1.5-flash-001",
            "messages": [
                {"role": "system", "content": "You are an unhelpful assistant."},
                {"role": "user", "content": "Hello world!"},
            ],
            "max_tokens": 10,
        },
    },
]


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def dumped(obj: Any) -> dict[str, Any]:
    return obj.model_dump() if hasattr(obj, "model_dump") else obj


def assert_file_object(obj: Any) -> Any:
    from openai.types import FileObject

    return FileObject.model_validate(dumped(obj), strict=True)


def assert_batch(obj: Any) -> Any:
    from openai.types import Batch

    return Batch.model_validate(dumped(obj), strict=True)


def assert_fine_tuning_job(obj: Any) -> Any:
    from openai.types.fine_tuning import FineTuningJob

    return FineTuningJob.model_validate(dumped(obj), strict=True)


def gcs_download(storage_url: str, file_id: str) -> bytes:
    """The object behind a ``gs://bucket/name`` id, through the Cloud Storage JSON API's media download."""
    bucket, _, name = file_id.removeprefix("gs://").partition("/")
    response = httpx.get(
        f"{storage_url}/storage/v1/b/{bucket}/o/{quote(name, safe='')}", params={"alt": "media"}
    )
    response.raise_for_status()
    return response.content


def last_request(emulator: Any, method: str, path_part: str) -> dict[str, Any]:
    """The latest logged request to the Vertex emulator with this method whose path contains ``path_part``."""
    found = [r for r in emulator.requests() if r["method"] == method and path_part in r["path"]]
    assert found, f"no {method} request to a path containing {path_part!r}"
    return found[-1]
