"""Batches: OpenAI's create/retrieve/cancel/list on Vertex AI batchPredictionJobs.

The emulator moves jobs through Google's JobState values one step at a time
(``Emulator.advance``), so every status mapping is observed on a live job.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import engine
from engine.registry import default_registry
from engine.response import build_object
from tests.conformance import assert_valid_request
from tests.fixtures.load import load
from tests.jobs.helpers import SEED_BATCH_LINES, assert_batch, jsonl, last_request

# The seed's example input_file_id (step 3, "Erstellen Sie einen Batch").
SEED_FILE_ID = (
    "gs://litellm-testing-bucket/litellm-vertex-files/publishers/google/models/gemini-1.5-flash-001/"
    "c2b1b785-252b-448c-b180-033c4c63b3ce"
)
OUTPUT_PREFIX = (
    "gs://litellm-testing-bucket/litellm-vertex-files/publishers/google/models/gemini-1.5-flash-001"
)


def create(vx: dict[str, Any], **extra: Any) -> Any:
    """The seed's create_batch call, with ``extra`` arguments added or replaced."""
    seed = {"completion_window": "24h", "endpoint": "/v1/chat/completions", "input_file_id": SEED_FILE_ID}
    return engine.create_batch(custom_llm_provider="vertex_ai", **{**seed, **vx, **extra})


def step(emulator: Any) -> None:
    emulator.advance(emulator.state.job_step_seconds)


def test_create_sends_a_valid_job_and_returns_a_validating_batch(vx: dict[str, Any], emulator: Any) -> None:
    batch = assert_batch(create(vx, metadata={"team": "search"}))

    sent = last_request(emulator, "POST", "/batchPredictionJobs")
    assert sent["path"] == "/v1/projects/emulator-project/locations/us-central1/batchPredictionJobs"
    assert_valid_request(sent["body"], schema="GoogleCloudAiplatformV1BatchPredictionJob")
    assert sent["body"]["model"] == "publishers/google/models/gemini-1.5-flash-001"
    assert sent["body"]["inputConfig"] == {"instancesFormat": "jsonl", "gcsSource": {"uris": [SEED_FILE_ID]}}
    assert sent["body"]["outputConfig"] == {
        "predictionsFormat": "jsonl",
        "gcsDestination": {"outputUriPrefix": OUTPUT_PREFIX},
    }
    assert sent["body"]["labels"] == {"team": "search"}

    # The seed's expected response: the job number as id, validating, output next to the input.
    assert batch.id.isdigit()
    assert (batch.object, batch.status, batch.endpoint) == ("batch", "validating", "/v1/chat/completions")
    assert (batch.input_file_id, batch.output_file_id) == (SEED_FILE_ID, OUTPUT_PREFIX)
    assert batch.metadata == {"team": "search"} and batch.completed_at is None and batch.errors is None


def test_retrieve_follows_the_job_to_completion(vx: dict[str, Any], emulator: Any) -> None:
    batch_id = create(vx).id
    assert (
        engine.retrieve_batch(batch_id=batch_id, custom_llm_provider="vertex_ai", **vx).status == "validating"
    )
    step(emulator)
    running = assert_batch(engine.retrieve_batch(batch_id=batch_id, **vx))
    assert (
        running.status == "in_progress"
        and running.in_progress_at is not None
        and running.completed_at is None
    )
    step(emulator)
    done = assert_batch(engine.retrieve_batch(batch_id=batch_id, **vx))
    assert (
        done.status == "completed"
        and done.completed_at is not None
        and done.completed_at >= done.in_progress_at
    )
    assert done.output_file_id.startswith(OUTPUT_PREFIX + "/prediction-model-")  # Vertex's gcsOutputDirectory
    assert last_request(emulator, "GET", "/batchPredictionJobs/")["path"].endswith(
        f"/batchPredictionJobs/{batch_id}"
    )


def test_a_full_resource_name_is_accepted_as_batch_id(vx: dict[str, Any]) -> None:
    batch = create(vx)
    name = batch._hidden_params["vertex_name"]
    assert name.endswith(f"/batchPredictionJobs/{batch.id}")
    assert engine.retrieve_batch(batch_id=name, **vx).id == batch.id


def test_cancel_returns_the_batch_and_it_ends_cancelled(vx: dict[str, Any], emulator: Any) -> None:
    batch_id = create(vx).id
    cancelling = assert_batch(engine.cancel_batch(batch_id=batch_id, **vx))
    assert cancelling.id == batch_id and cancelling.status == "cancelling"
    assert last_request(emulator, "POST", ":cancel")["path"].endswith(
        f"/batchPredictionJobs/{batch_id}:cancel"
    )
    step(emulator)
    cancelled = assert_batch(engine.retrieve_batch(batch_id=batch_id, **vx))
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None


def test_cancelling_a_finished_batch_is_an_error(vx: dict[str, Any], emulator: Any) -> None:
    batch_id = create(vx).id
    step(emulator)
    step(emulator)
    with pytest.raises(engine.BadRequestError, match="Cannot cancel"):
        engine.cancel_batch(batch_id=batch_id, **vx)


def test_list_batches(vx: dict[str, Any], emulator: Any) -> None:
    assert engine.list_batches(**vx).data == []
    ids = [create(vx).id for _ in range(2)]
    page = engine.list_batches(limit=10, **vx)
    assert page.object == "list" and page.has_more is False
    assert sorted(b["id"] for b in page.data) == sorted(ids)
    for item in page.data:
        assert_batch(item)
    assert last_request(emulator, "GET", "/batchPredictionJobs")["query"] == {"pageSize": "10"}


def test_unknown_batch_is_not_found(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.NotFoundError):
        engine.retrieve_batch(batch_id="123", **vx)


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"input_file_id": "file-abc123"}, "gs://"),
        ({"input_file_id": "gs://bucket/no-model-here.jsonl"}, "cannot tell the model"),
        ({"completion_window": "48h"}, "completion_window"),
        ({"endpoint": "/v1/embeddings"}, "endpoint"),
    ],
)
def test_invalid_create_arguments(extra: dict[str, Any], says: str, vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match=says):
        create(vx, **extra)


def test_model_argument_names_the_model_of_a_plain_file(vx: dict[str, Any], emulator: Any) -> None:
    engine.create_batch(input_file_id="gs://bucket/requests.jsonl", model="vertex_ai/gemini-2.5-flash", **vx)
    sent = last_request(emulator, "POST", "/batchPredictionJobs")["body"]
    assert sent["model"] == "publishers/google/models/gemini-2.5-flash"
    assert sent["outputConfig"]["gcsDestination"]["outputUriPrefix"] == "gs://bucket"


def test_async_create_and_retrieve(vx: dict[str, Any]) -> None:
    async def main() -> tuple[Any, Any]:
        created = await engine.acreate_batch(input_file_id=SEED_FILE_ID, **vx)
        return created, await engine.aretrieve_batch(batch_id=created.id, **vx)

    created, retrieved = asyncio.run(main())
    assert assert_batch(retrieved).id == created.id


def test_uploaded_file_id_drives_the_batch(gcs: dict[str, Any], vx: dict[str, Any], emulator: Any) -> None:
    file = engine.create_file(file=jsonl(SEED_BATCH_LINES), purpose="batch", **gcs)
    batch = assert_batch(engine.create_batch(input_file_id=file.id, **vx))
    assert batch.input_file_id == file.id
    assert (
        last_request(emulator, "POST", "/batchPredictionJobs")["body"]["model"]
        == "publishers/google/models/gemini-1.5-flash-001"
    )


def test_google_documented_create_response_maps_to_an_openai_batch() -> None:
    wrapper = load("jobs/batch_prediction_job_create_response.json")
    assert_valid_request(
        wrapper["body"], schema="GoogleCloudAiplatformV1BatchPredictionJob"
    )  # the fixture's field names
    op = default_registry().resolve("vertex_ai/", "retrieve_batch").family.operations["retrieve_batch"]
    batch = assert_batch(build_object(op.response, wrapper["body"], ""))
    assert batch.id == "BATCH_JOB_ID"
    assert batch.status == "validating"
    assert batch.created_at == 1729107239  # 2024-10-16T19:33:59.153782Z
    assert batch.input_file_id == wrapper["body"]["inputConfig"]["gcsSource"]["uris"][0]
    assert batch.output_file_id == "gs://mybucket/path/to/output"
    assert batch.model == "publishers/google/models/gemini-2.0-flash-001"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {
                "state": "JOB_STATE_FAILED",
                "endTime": "2024-10-16T19:34:00Z",
                "error": {"code": 3, "message": "bad input"},
            },
            {
                "status": "failed",
                "failed_at": 1729107240,
                "errors": {"object": "list", "data": [{"code": "3", "message": "bad input"}]},
            },
        ),
        (
            {
                "state": "JOB_STATE_SUCCEEDED",
                "endTime": "2024-10-16T19:34:00Z",
                "completionStats": {"successfulCount": "10", "failedCount": "1"},
            },
            {
                "status": "completed",
                "completed_at": 1729107240,
                "request_counts": {"total": 11, "completed": 10, "failed": 1},
            },
        ),
        (
            {"state": "JOB_STATE_EXPIRED", "endTime": "2024-10-16T19:34:00Z"},
            {"status": "expired", "expired_at": 1729107240},
        ),
        ({"state": "JOB_STATE_QUEUED"}, {"status": "validating", "completed_at": None}),
    ],
)
def test_terminal_states_and_counts(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    """completionStats as Google's 'Get batch predictions for Gemini' page shows it (successfulCount, failedCount)."""
    op = default_registry().resolve("vertex_ai/", "retrieve_batch").family.operations["retrieve_batch"]
    body = {
        "name": "projects/p/locations/l/batchPredictionJobs/7",
        "createTime": "2024-10-16T19:33:59Z",
        "inputConfig": {"gcsSource": {"uris": [SEED_FILE_ID]}},
        **raw,
    }
    batch = build_object(op.response, body, "")
    assert_batch(batch)
    assert {key: batch.model_dump()[key] for key in expected} == expected
