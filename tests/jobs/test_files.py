"""create_file: an OpenAI batch file becomes a Vertex batch-prediction file in Cloud Storage.

The seed ("Batch-APIs", steps 1 and 2): the OpenAI JSONL uploaded with purpose="batch"
comes back as an OpenAI FileObject whose id is the gs:// URI, under
``litellm-vertex-files/publishers/google/models/<model>/<uuid>``.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

import engine
from tests.conformance import assert_valid_request
from tests.jobs.conftest import BUCKET
from tests.jobs.helpers import SEED_BATCH_LINES, assert_file_object, gcs_download, jsonl

PREFIX = f"gs://{BUCKET}/litellm-vertex-files/publishers/google/models/gemini-1.5-flash-001/"


def stored_requests(gcs_server: str, file_id: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gcs_download(gcs_server, file_id).decode().splitlines()]


def test_seed_batch_file_is_converted_and_stored(gcs: dict[str, Any], gcs_server: str) -> None:
    created = engine.create_file(
        file=jsonl(SEED_BATCH_LINES), purpose="batch", custom_llm_provider="vertex_ai", **gcs
    )

    file = assert_file_object(created)
    assert file.id.startswith(PREFIX) and len(file.id) > len(PREFIX)
    assert file.filename == file.id.removeprefix(f"gs://{BUCKET}/")
    assert (file.object, file.purpose, file.status) == ("file", "batch", "uploaded")
    stored = gcs_download(gcs_server, file.id)
    assert file.bytes == len(stored)

    lines = stored_requests(gcs_server, file.id)
    assert [set(line) for line in lines] == [{"request"}, {"request"}]
    for line, source in zip(lines, SEED_BATCH_LINES, strict=True):
        request = line["request"]
        assert_valid_request(request)
        assert request["systemInstruction"]["parts"] == [{"text": source["body"]["messages"][0]["content"]}]
        assert request["contents"] == [{"role": "user", "parts": [{"text": "Hello world!"}]}]
        assert request["generationConfig"]["maxOutputTokens"] == 10


def test_chat_parameter_table_applies_to_every_line(gcs: dict[str, Any], gcs_server: str) -> None:
    line = {
        "custom_id": "r",
        "url": "/v1/chat/completions",
        "body": {
            "model": "vertex_ai/gemini-2.5-flash",
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.2,
            "stop": "END",
            "reasoning_effort": "low",
        },
    }
    created = engine.create_file(file=jsonl([line]), **gcs)

    assert "/publishers/google/models/gemini-2.5-flash/" in created.id
    (stored,) = stored_requests(gcs_server, created.id)
    config = stored["request"]["generationConfig"]
    assert config["temperature"] == 0.2 and config["stopSequences"] == ["END"]
    assert config["thinkingConfig"] == {"thinkingBudget": 1024, "includeThoughts": True}


@pytest.mark.parametrize("kind", ["path", "binary file", "text file", "tuple"])
def test_file_argument_forms(kind: str, gcs: dict[str, Any], gcs_server: str, tmp_path: Path) -> None:
    data = jsonl(SEED_BATCH_LINES[:1])
    path = tmp_path / "vertex_batch_completions.jsonl"
    path.write_bytes(data)
    file: Any = {
        "path": str(path),
        "binary file": io.BytesIO(data),
        "text file": io.StringIO(data.decode()),
        "tuple": ("vertex_batch_completions.jsonl", data),
    }[kind]
    created = engine.create_file(file=file, **gcs)
    assert len(stored_requests(gcs_server, created.id)) == 1


def test_bucket_storage_host_and_credentials_from_the_environment(
    gcs_server: str, vx: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_auth: None
) -> None:
    key_file = tmp_path / "service_account.json"
    key_file.write_text(json.dumps(vx["vertex_credentials"]))
    monkeypatch.setenv("GCS_BUCKET_NAME", BUCKET)
    monkeypatch.setenv("GCS_PATH_SERVICE_ACCOUNT", str(key_file))
    monkeypatch.setenv(
        "STORAGE_EMULATOR_HOST", gcs_server.removeprefix("http://")
    )  # Google's clients take host:port
    created = engine.create_file(file=jsonl(SEED_BATCH_LINES), purpose="batch")
    assert created.id.startswith(PREFIX)
    assert gcs_download(gcs_server, created.id)


def test_fine_tune_file_is_stored_unchanged(gcs: dict[str, Any], gcs_server: str) -> None:
    data = b'{"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "hello"}]}]}\n'
    created = engine.create_file(file=data, purpose="fine-tune", **gcs)
    assert assert_file_object(created).purpose == "fine-tune"
    assert gcs_download(gcs_server, created.id) == data


def test_async_create_file(gcs: dict[str, Any], gcs_server: str) -> None:
    created = asyncio.run(engine.acreate_file(file=jsonl(SEED_BATCH_LINES), purpose="batch", **gcs))
    assert len(stored_requests(gcs_server, assert_file_object(created).id)) == 2


def _line(model: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": model,
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": "hi"}], **body},
    }


@pytest.mark.parametrize(
    ("lines", "error", "says"),
    [
        (
            [_line("gemini-1.5-flash-001"), _line("gemini-2.5-flash")],
            engine.BadRequestError,
            "one model per batch",
        ),
        ([_line("gemini-1.5-flash-001", logit_bias={"1": 2})], engine.UnsupportedParamsError, "logit_bias"),
        (
            [{**_line("gemini-1.5-flash-001"), "url": "/v1/embeddings"}],
            engine.BadRequestError,
            "/v1/chat/completions",
        ),
        ([{"custom_id": "x", "body": {"messages": []}}], engine.BadRequestError, "needs a body with a model"),
        ([], engine.BadRequestError, "no requests"),
    ],
)
def test_invalid_batch_files_are_rejected_before_upload(
    lines: list[dict[str, Any]], error: type[Exception], says: str, gcs: dict[str, Any]
) -> None:
    with pytest.raises(error, match=says):
        engine.create_file(file=jsonl(lines), purpose="batch", **gcs)


def test_a_file_that_is_not_json_lines_is_rejected(gcs: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="line 2"):
        engine.create_file(file=jsonl(SEED_BATCH_LINES[:1]) + b"not json\n", **gcs)


def test_bucket_is_required(gcs: dict[str, Any]) -> None:
    args = {k: v for k, v in gcs.items() if k != "gcs_bucket_name"}
    with pytest.raises(engine.BadRequestError, match="gcs_bucket_name"):
        engine.create_file(file=jsonl(SEED_BATCH_LINES), **args)


def test_purpose_outside_batch_and_fine_tune_is_rejected(gcs: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="purpose"):
        engine.create_file(file=jsonl(SEED_BATCH_LINES), purpose="assistants", **gcs)


def test_missing_bucket_in_storage_maps_to_not_found(gcs: dict[str, Any]) -> None:
    with pytest.raises(engine.NotFoundError):
        engine.create_file(file=jsonl(SEED_BATCH_LINES), **{**gcs, "gcs_bucket_name": "no-such-bucket"})


def test_retrieve_file_returns_the_same_file_object(gcs: dict[str, Any]) -> None:
    created = engine.create_file(file=jsonl(SEED_BATCH_LINES), purpose="batch", **gcs)
    gcs_only = {k: v for k, v in gcs.items() if k != "gcs_bucket_name"}
    retrieved = assert_file_object(engine.retrieve_file(created.id, **gcs_only))
    assert retrieved.model_dump() == assert_file_object(created).model_dump()
    again = asyncio.run(engine.aretrieve_file(file_id=created.id, **gcs_only))
    assert again.id == created.id


def test_retrieve_file_of_a_fine_tune_file(gcs: dict[str, Any]) -> None:
    created = engine.create_file(file=b'{"contents": []}\n', purpose="fine-tune", **gcs)
    gcs_only = {k: v for k, v in gcs.items() if k != "gcs_bucket_name"}
    assert engine.retrieve_file(created.id, **gcs_only).purpose == "fine-tune"


@pytest.mark.parametrize("bad", ["not-a-uri", "gs://bucket-only", "gs:///object"])
def test_retrieve_file_needs_a_gs_uri(bad: str, gcs: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="file_id must be a gs://"):
        engine.retrieve_file(
            bad, storage_api_base=gcs["storage_api_base"], vertex_credentials=gcs["vertex_credentials"]
        )


def test_retrieve_missing_file_is_not_found(gcs: dict[str, Any]) -> None:
    with pytest.raises(engine.NotFoundError):
        engine.retrieve_file(
            f"gs://{BUCKET}/no/such/object",
            storage_api_base=gcs["storage_api_base"],
            vertex_credentials=gcs["vertex_credentials"],
        )
