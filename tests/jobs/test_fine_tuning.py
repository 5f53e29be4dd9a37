"""Fine-tuning: OpenAI's fine_tuning.jobs calls on Vertex AI tuningJobs (the seed's "Fine-Tuning-APIs")."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import engine
from tests.conformance import assert_valid_request
from tests.fixtures.load import load
from tests.jobs.helpers import assert_fine_tuning_job, last_request

TRAINING_FILE = (
    "gs://cloud-samples-data/ai-platform/generative_ai/sft_train_data.jsonl"  # the seed's training_file
)


def create(vx: dict[str, Any], **extra: Any) -> Any:
    seed = {"model": "gemini-1.0-pro-002", "training_file": TRAINING_FILE}
    return engine.create_fine_tuning_job(custom_llm_provider="vertex_ai", **{**seed, **vx, **extra})


def step(emulator: Any) -> None:
    emulator.advance(emulator.state.job_step_seconds)


def test_seed_call_with_hyperparameters_sends_googles_documented_body(
    vx: dict[str, Any], emulator: Any
) -> None:
    expected = load("jobs/tuning_job_create_request.json")["body"]
    created = create(
        vx,
        validation_file=expected["supervisedTuningSpec"]["validationDatasetUri"],
        suffix="my-tuned-model",
        # The seed's "advanced" call: n_epochs, learning_rate_multiplier and Vertex's adapter_size.
        hyperparameters={"n_epochs": 3, "learning_rate_multiplier": 0.1, "adapter_size": "ADAPTER_SIZE_ONE"},
    )
    job = assert_fine_tuning_job(created)
    sent = last_request(emulator, "POST", "/tuningJobs")
    assert sent["path"] == "/v1/projects/emulator-project/locations/us-central1/tuningJobs"
    assert sent["body"] == expected
    assert_valid_request(sent["body"], schema="GoogleCloudAiplatformV1TuningJob")

    assert job.id.isdigit() and job.object == "fine_tuning.job" and job.status == "queued"
    assert (job.model, job.training_file, job.fine_tuned_model) == ("gemini-1.0-pro-002", TRAINING_FILE, None)
    assert job.hyperparameters.n_epochs == 3 and job.hyperparameters.learning_rate_multiplier == 0.1
    assert created._hidden_params["adapter_size"] == "ADAPTER_SIZE_ONE"


def test_basic_call_sends_only_model_and_training_file(vx: dict[str, Any], emulator: Any) -> None:
    job = create(vx)
    assert last_request(emulator, "POST", "/tuningJobs")["body"] == {
        "baseModel": "gemini-1.0-pro-002",
        "supervisedTuningSpec": {"trainingDatasetUri": TRAINING_FILE},
    }
    assert assert_fine_tuning_job(job).hyperparameters.n_epochs == "auto"


@pytest.mark.parametrize(
    ("hyperparameters", "sent"),
    [
        ({"n_epochs": "auto", "learning_rate_multiplier": "auto"}, None),
        ({"adapter_size": 4}, {"adapterSize": "ADAPTER_SIZE_FOUR"}),
        ({"n_epochs": 2.0}, {"epochCount": 2}),
    ],
)
def test_hyperparameter_values(
    hyperparameters: dict[str, Any], sent: Any, vx: dict[str, Any], emulator: Any
) -> None:
    create(vx, hyperparameters=hyperparameters)
    assert (
        last_request(emulator, "POST", "/tuningJobs")["body"]["supervisedTuningSpec"].get("hyperParameters")
        == sent
    )


@pytest.mark.parametrize(
    ("hyperparameters", "error", "says"),
    [
        ({"batch_size": 8}, engine.UnsupportedParamsError, "hyperparameters.batch_size"),
        ({"adapter_size": "ADAPTER_SIZE_HUGE"}, engine.BadRequestError, "adapter_size"),
        ({"n_epochs": 0}, engine.BadRequestError, "n_epochs"),
        ({"learning_rate_multiplier": "fast"}, engine.BadRequestError, "learning_rate_multiplier"),
    ],
)
def test_invalid_hyperparameters(
    hyperparameters: dict[str, Any], error: type[Exception], says: str, vx: dict[str, Any]
) -> None:
    with pytest.raises(error, match=says):
        create(vx, hyperparameters=hyperparameters)


def test_unsupported_hyperparameter_is_dropped_with_drop_params(vx: dict[str, Any], emulator: Any) -> None:
    create(vx, hyperparameters={"batch_size": 8, "n_epochs": 2}, drop_params=True)
    assert last_request(emulator, "POST", "/tuningJobs")["body"]["supervisedTuningSpec"][
        "hyperParameters"
    ] == {"epochCount": 2}


def test_training_file_is_required(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="training_file"):
        engine.create_fine_tuning_job(model="gemini-1.0-pro-002", **vx)


def test_retrieve_follows_the_job_to_a_tuned_model(vx: dict[str, Any], emulator: Any) -> None:
    job_id = create(vx).id
    step(emulator)
    assert (
        assert_fine_tuning_job(engine.retrieve_fine_tuning_job(fine_tuning_job_id=job_id, **vx)).status
        == "running"
    )
    step(emulator)
    done = assert_fine_tuning_job(engine.retrieve_fine_tuning_job(fine_tuning_job_id=job_id, **vx))
    assert done.status == "succeeded" and done.finished_at is not None
    assert done.fine_tuned_model == f"projects/emulator-project/locations/us-central1/models/{job_id}"


def test_cancel_returns_the_job_as_cancelled(vx: dict[str, Any], emulator: Any) -> None:
    job_id = create(vx).id
    cancelled = assert_fine_tuning_job(engine.cancel_fine_tuning_job(fine_tuning_job_id=job_id, **vx))
    assert cancelled.id == job_id and cancelled.status == "cancelled" and cancelled.finished_at is None
    step(emulator)
    final = assert_fine_tuning_job(engine.retrieve_fine_tuning_job(fine_tuning_job_id=job_id, **vx))
    assert final.status == "cancelled" and final.finished_at is not None


def test_list_fine_tuning_jobs(vx: dict[str, Any]) -> None:
    ids = {create(vx).id, create(vx).id}
    page = engine.list_fine_tuning_jobs(**vx)
    assert page.object == "list" and {job["id"] for job in page.data} == ids
    for job in page.data:
        assert_fine_tuning_job(job)


def test_async_create_and_cancel(vx: dict[str, Any]) -> None:
    async def main() -> Any:
        job = await engine.acreate_fine_tuning_job(
            model="gemini-1.0-pro-002", training_file=TRAINING_FILE, **vx
        )
        return await engine.acancel_fine_tuning_job(fine_tuning_job_id=job.id, **vx)

    assert assert_fine_tuning_job(asyncio.run(main())).status == "cancelled"


@pytest.mark.parametrize("bad", [{"learning_rate_multiplier": -0.5}, {"n_epochs": 0}])
def test_hyperparameters_outside_their_range_are_refused_before_sending(
    vx: dict[str, Any], emulator: Any, bad: dict[str, Any]
) -> None:
    """OpenAI's fine-tuning API refuses a negative learning-rate multiplier and zero epochs; so does the engine."""
    with pytest.raises(engine.BadRequestError, match=next(iter(bad))):
        create(vx, hyperparameters=bad)
    assert not [r for r in emulator.requests() if r["path"].endswith("/tuningJobs")]
