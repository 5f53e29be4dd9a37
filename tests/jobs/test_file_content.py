"""file_content: batch results read back in OpenAI's batch output format, custom_id included.

The full flow runs against the two emulators: create_file uploads the seed's batch file to
the Cloud Storage emulator, create_batch starts a job in the Vertex emulator, and the
Vertex emulator, told where Cloud Storage is, writes ``predictions.jsonl`` when the job has
succeeded (the shape of Google's example output, tests/fixtures/jobs/batch_prediction_output_line.json).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import engine
from engine.transforms.batch_output import custom_id_from_labels, custom_id_labels
from tests.conformance import assert_chat_completion
from tests.fixtures.load import load
from tests.jobs.conftest import BUCKET
from tests.jobs.helpers import SEED_BATCH_LINES, gcs_download, jsonl

MODEL_DIR = f"gs://{BUCKET}/litellm-vertex-files/publishers/google/models/gemini-1.5-flash-001"
LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")  # GenerateContentRequest.labels rules (aiplatform v1 discovery)


@pytest.fixture
def storage(gcs: dict[str, Any]) -> dict[str, Any]:
    """file_content's own arguments: where Cloud Storage is and the credential (a file id names its bucket)."""
    return {k: v for k, v in gcs.items() if k != "gcs_bucket_name"}


@pytest.fixture
def results(
    emulator: Any, gcs_server: str, vx: dict[str, Any], gcs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """``run(lines)``: upload, batch, let the job succeed; returns the completed batch."""
    monkeypatch.setattr(emulator.state, "storage_url", gcs_server)

    def run(lines: list[dict[str, Any]]) -> Any:
        uploaded = engine.create_file(file=jsonl(lines), purpose="batch", **gcs)
        batch = engine.create_batch(
            completion_window="24h", endpoint="/v1/chat/completions", input_file_id=uploaded.id, **vx
        )
        for _ in range(2):
            emulator.advance(emulator.state.job_step_seconds)
        return engine.retrieve_batch(batch_id=batch.id, **vx)

    return run


def output_lines(content: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in content.text.splitlines()]


def gcs_upload(storage_url: str, name: str, data: bytes) -> None:
    response = httpx.post(
        f"{storage_url}/upload/storage/v1/b/{BUCKET}/o",
        params={"uploadType": "media", "name": name},
        content=data,
    )
    response.raise_for_status()


# ------------------------------------------------------------------------------------------ the flow
def test_seed_batch_results_come_back_as_openai_batch_output(
    results: Any, storage: dict[str, Any], gcs_server: str, vx: dict[str, Any]
) -> None:
    done = results(SEED_BATCH_LINES)
    assert done.status == "completed" and done.output_file_id.startswith(MODEL_DIR + "/prediction-model-")

    # What Vertex wrote: each request carries its custom_id in labels.
    written = gcs_download(gcs_server, done.output_file_id + "/predictions.jsonl").decode().splitlines()
    labels = [json.loads(line)["request"]["labels"] for line in written]
    assert [custom_id_from_labels(label) for label in labels] == ["request-1", "request-2"]

    content = engine.file_content(file_id=done.output_file_id, custom_llm_provider="vertex_ai", **storage)
    assert isinstance(content, engine.FileContent) and content.media_type == "application/jsonl"
    lines = output_lines(content)
    assert [line["custom_id"] for line in lines] == ["request-1", "request-2"]
    for line, sent in zip(lines, SEED_BATCH_LINES, strict=True):
        assert set(line) == {"id", "custom_id", "response", "error"}
        assert line["id"].startswith("batch_req_") and line["error"] is None
        response = line["response"]
        assert response["status_code"] == 200
        body = assert_chat_completion(response["body"])
        assert response["request_id"] == body.id
        # the same answer completion() gives for the same request, through the same response spec
        direct = engine.completion(
            model="vertex_ai/gemini-1.5-flash-001", messages=sent["body"]["messages"], **vx
        )
        assert body.choices[0].message.content == direct.choices[0].message.content
        assert body.usage.prompt_tokens == direct.usage.prompt_tokens
    assert len({line["id"] for line in lines}) == 2
    again = engine.file_content(done.output_file_id, **storage)  # positional, like LiteLLM
    assert _without_created(again.content) == _without_created(content.content)  # line ids are stable


def test_custom_ids_of_any_shape_survive_the_round_trip(results: Any, storage: dict[str, Any]) -> None:
    odd = ["Request #1 / Größe", "x" * 150, "UPPER-case_42"]
    lines = [{**SEED_BATCH_LINES[0], "custom_id": custom_id} for custom_id in odd]
    done = results(lines)
    got = output_lines(engine.file_content(file_id=done.output_file_id, **storage))
    assert [line["custom_id"] for line in got] == odd


def test_a_failed_line_becomes_an_openai_error(results: Any, storage: dict[str, Any], emulator: Any) -> None:
    emulator.script(
        "gemini-1.5-flash-001", [{"status": 400, "message": "Request contains an invalid argument."}]
    )
    done = results(SEED_BATCH_LINES)
    failed, ok = output_lines(engine.file_content(file_id=done.output_file_id, **storage))
    assert failed["custom_id"] == "request-1" and failed["response"] is None
    assert failed["error"] == {"code": "vertex_ai_error", "message": "Request contains an invalid argument."}
    assert ok["custom_id"] == "request-2" and ok["error"] is None
    assert_chat_completion(ok["response"]["body"])


def test_output_folder_lists_only_result_files(results: Any, storage: dict[str, Any]) -> None:
    """The folder next to the inputs holds input files too: only predictions*.jsonl under it are read."""
    done = results(SEED_BATCH_LINES)
    folder = done.output_file_id.rsplit("/", 1)[0]
    assert folder == MODEL_DIR
    got = output_lines(engine.file_content(file_id=folder, **storage))
    assert got and all(line["response"] or line["error"] for line in got)  # no input line came back


async def test_async_file_content(results: Any, storage: dict[str, Any]) -> None:
    done = await asyncio.to_thread(results, SEED_BATCH_LINES)
    content = await engine.afile_content(file_id=done.output_file_id, **storage)
    assert [line["custom_id"] for line in output_lines(content)] == ["request-1", "request-2"]


# ---------------------------------------------------------------------------------- Google's example
def test_google_documented_output_line_converts(storage: dict[str, Any], gcs_server: str) -> None:
    fixture = load("jobs/batch_prediction_output_line.json")
    line = json.loads(json.dumps(fixture["body"]))
    # The request comes back as sent (the fixture shows it), so a request sent with labels carries them.
    line["request"]["labels"] = custom_id_labels("request-7")
    folder = (
        "litellm-vertex-files/publishers/google/models/gemini-2.5-flash/prediction-model-2024-11-13T14:00:00Z"
    )
    gcs_upload(gcs_server, f"{folder}/predictions.jsonl", (json.dumps(line) + "\n").encode())

    (got,) = output_lines(engine.file_content(file_id=f"gs://{BUCKET}/{folder}", **storage))
    assert got["custom_id"] == "request-7", fixture["source"]
    body = assert_chat_completion(got["response"]["body"])
    published = fixture["body"]["response"]
    assert body.choices[0].message.content == published["candidates"][0]["content"]["parts"][0]["text"]
    assert body.choices[0].finish_reason == "stop"
    assert body.model == "gemini-3-flash-preview"  # modelVersion without "@default"
    assert (body.usage.prompt_tokens, body.usage.completion_tokens, body.usage.total_tokens) == (
        264,
        110,
        374,
    )


def test_a_failed_row_keeps_googles_error_text(storage: dict[str, Any], gcs_server: str) -> None:
    """Google: "For succeeded rows, model responses are stored in the response field. Otherwise, error
    details are stored in the status field" (batch-prediction-from-cloud-storage); the row is the
    published one with that rule applied."""
    fixture = load("jobs/batch_prediction_output_line.json")
    line = {k: v for k, v in fixture["body"].items() if k != "response"}
    line["status"] = {"error": {"code": 400, "message": "Bad file_data", "status": "INVALID_ARGUMENT"}}
    name = (
        "litellm-vertex-files/publishers/google/models/gemini-2.5-flash/prediction-model-x/predictions.jsonl"
    )
    gcs_upload(gcs_server, name, (json.dumps(line) + "\n").encode())
    (got,) = output_lines(engine.file_content(file_id=f"gs://{BUCKET}/{name}", **storage))
    assert got["custom_id"] is None and got["response"] is None  # not written by us: no custom_id label
    assert got["error"] == {"code": "INVALID_ARGUMENT", "message": "Bad file_data"}


# ------------------------------------------------------------------------------------- other files
def test_other_files_come_back_unchanged(
    gcs: dict[str, Any], storage: dict[str, Any], gcs_server: str
) -> None:
    tune = engine.create_file(file=b'{"contents": []}\n', purpose="fine-tune", **gcs)
    content = engine.file_content(file_id=tune.id, **storage)
    assert content.content == b'{"contents": []}\n' and content.media_type == "application/octet-stream"
    batch_input = engine.create_file(file=jsonl(SEED_BATCH_LINES), purpose="batch", **gcs)
    assert engine.file_content(file_id=batch_input.id, **storage).content == gcs_download(
        gcs_server, batch_input.id
    )


def test_missing_file_is_not_found(storage: dict[str, Any]) -> None:
    with pytest.raises(engine.NotFoundError):
        engine.file_content(file_id=f"gs://{BUCKET}/no/such/{quote('file')}", **storage)


def test_file_id_must_be_a_gs_uri(storage: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="gs://"):
        engine.file_content(file_id="file-abc123", **storage)


# ------------------------------------------------------------------------------------ custom id labels
@pytest.mark.parametrize("custom_id", ["request-1", "Request #1 / Größe", "x" * 150, "", "日本語"])
def test_custom_id_labels_are_valid_vertex_labels_and_decode_exactly(custom_id: str) -> None:
    labels = custom_id_labels(custom_id)
    assert all(LABEL_VALUE.fullmatch(value) for value in labels.values())
    assert all(len(key) <= 63 and key[0].isalpha() for key in labels)
    assert custom_id_from_labels(labels) == custom_id


def test_custom_id_falls_back_to_the_readable_label() -> None:
    assert custom_id_from_labels({"litellm_custom_id": "request-1"}) == "request-1"
    assert custom_id_from_labels({"litellm_custom_id": "a", "litellm_custom_id_raw": "b32_!!"}) == "a"
    assert custom_id_from_labels({"team": "x"}) is None and custom_id_from_labels(None) is None


def test_repeated_custom_id_is_rejected_before_upload(gcs: dict[str, Any]) -> None:
    lines = [SEED_BATCH_LINES[0], {**SEED_BATCH_LINES[1], "custom_id": "request-1"}]
    with pytest.raises(engine.BadRequestError, match="repeats custom_id 'request-1'"):
        engine.create_file(file=jsonl(lines), purpose="batch", **gcs)


def _without_created(content: bytes) -> list[Any]:
    """The output lines without each body's ``created`` (the second it was read: two reads may straddle one)."""
    lines = [json.loads(line) for line in content.splitlines() if line.strip()]
    for line in lines:
        if isinstance(line.get("response"), dict):
            line["response"]["body"].pop("created", None)
    return lines
