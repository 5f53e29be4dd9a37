"""cachedContents, batchPredictionJobs and tuningJobs: methods as in the v1 discovery
document, job states as Google's JobState enum. Bodies follow Google's batch-prediction
(inputConfig{instancesFormat, gcsSource}, outputConfig{predictionsFormat, gcsDestination})
and supervised tuning (baseModel, supervisedTuningSpec{trainingDatasetUri}) examples."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from engine.emulator import Emulator

from .helpers import model_path, parent_path, user

BATCH = {
    "displayName": "nightly",
    "model": "publishers/google/models/gemini-2.0-flash-001",
    "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": ["gs://bucket/input.jsonl"]}},
    "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": "gs://bucket/out"}},
}
TUNING = {
    "baseModel": "gemini-2.0-flash-001",
    "tunedModelDisplayName": "mine",
    "supervisedTuningSpec": {"trainingDatasetUri": "gs://bucket/train.jsonl"},
}


STEP = 100.0
ORDER = ["JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]


@pytest.fixture
def manual_clock(emulator: Emulator) -> Iterator[Emulator]:
    """Jobs step only when the test advances the clock (no waiting, no timing)."""
    before = emulator.state.job_step_seconds
    emulator.state.job_step_seconds = STEP
    yield emulator
    emulator.state.job_step_seconds = before


def _state(client: httpx.Client, name: str) -> str:
    return client.get(f"/v1/{name}").json()["state"]


def _states(client: httpx.Client, name: str, until: str) -> list[str]:
    """Distinct states observed while polling ``name`` until it reaches ``until`` (bounded)."""
    seen: list[str] = []
    for _ in range(500):
        state = client.get(f"/v1/{name}").json()["state"]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == until:
            break
        time.sleep(0.01)
    return seen


def test_cached_content_lifecycle_and_use(client: httpx.Client) -> None:
    body = {
        "model": "projects/test-project/locations/us-central1/publishers/google/models/gemini-2.0-flash-001",
        "contents": [{"role": "user", "parts": [{"text": "a long shared document " * 10}]}],
        "ttl": "600s",
        "displayName": "doc",
    }
    created = client.post(f"{parent_path()}/cachedContents", json=body).json()
    name = created["name"]
    assert name.startswith("projects/test-project/locations/us-central1/cachedContents/")
    assert created["usageMetadata"]["totalTokenCount"] == 40 and "contents" not in created
    assert client.get(f"/v1/{name}").json()["displayName"] == "doc"
    assert [c["name"] for c in client.get(f"{parent_path()}/cachedContents").json()["cachedContents"]] == [
        name
    ]
    patched = client.patch(f"/v1/{name}", json={"ttl": "7200s"}).json()
    assert patched["expireTime"] > created["expireTime"]
    usage = client.post(
        model_path("gemini-2.0-flash-001", "generateContent"),
        json={**user("summarize"), "cachedContent": name},
    ).json()["usageMetadata"]
    assert usage["cachedContentTokenCount"] == 40 and usage["promptTokenCount"] == 41
    assert client.delete(f"/v1/{name}").json() == {}
    assert client.get(f"/v1/{name}").status_code == 404
    gone = client.post(
        model_path("gemini-2.0-flash-001", "generateContent"), json={**user("x"), "cachedContent": name}
    )
    assert gone.status_code == 404


def test_cached_content_needs_a_model(client: httpx.Client) -> None:
    response = client.post(f"{parent_path()}/cachedContents", json={"contents": []})
    assert response.status_code == 400 and "model" in response.json()["error"]["message"]


def test_batch_job_moves_through_states(manual_clock: Emulator, client: httpx.Client) -> None:
    job = client.post(f"{parent_path()}/batchPredictionJobs", json=BATCH).json()
    assert job["state"] == "JOB_STATE_PENDING" and job["displayName"] == "nightly"
    assert "outputInfo" not in job and "startTime" not in job
    manual_clock.advance(STEP)
    assert _state(client, job["name"]) == "JOB_STATE_RUNNING"
    assert httpx.post(f"{manual_clock.url}/emulator/advance", json={"seconds": STEP}).status_code == 200
    done = client.get(f"/v1/{job['name']}").json()
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    assert done["outputInfo"]["gcsOutputDirectory"].startswith("gs://bucket/out/prediction-model-")
    assert done["startTime"] <= done["endTime"]
    deleted = client.delete(f"/v1/{job['name']}").json()
    assert deleted["done"] is True and deleted["name"].startswith(job["name"] + "/operations/")


def test_jobs_progress_over_real_time(client: httpx.Client) -> None:
    job = client.post(f"{parent_path()}/batchPredictionJobs", json=BATCH).json()
    seen = _states(client, job["name"], "JOB_STATE_SUCCEEDED")
    assert seen[-1] == "JOB_STATE_SUCCEEDED"
    assert seen == sorted(seen, key=ORDER.index)  # never goes backwards


def test_batch_job_cancel(manual_clock: Emulator, client: httpx.Client) -> None:
    job = client.post(f"{parent_path()}/batchPredictionJobs", json=BATCH).json()
    manual_clock.advance(STEP)
    assert client.post(f"/v1/{job['name']}:cancel", json={}).json() == {}
    assert _state(client, job["name"]) == "JOB_STATE_CANCELLING"
    manual_clock.advance(STEP)
    assert _state(client, job["name"]) == "JOB_STATE_CANCELLED"
    again = client.post(f"/v1/{job['name']}:cancel", json={})
    assert again.status_code == 400 and again.json()["error"]["status"] == "FAILED_PRECONDITION"


def test_batch_job_validation(client: httpx.Client) -> None:
    unknown = client.post(f"{parent_path()}/batchPredictionJobs", json={**BATCH, "inputConfg": {}})
    assert unknown.status_code == 400 and 'Unknown name "inputConfg"' in unknown.json()["error"]["message"]
    missing = client.post(f"{parent_path()}/batchPredictionJobs", json={"displayName": "x"})
    assert missing.status_code == 400


def test_tuning_job_succeeds_with_tuned_model_and_has_no_delete(client: httpx.Client) -> None:
    job = client.post(f"{parent_path()}/tuningJobs", json=TUNING).json()
    assert _states(client, job["name"], "JOB_STATE_SUCCEEDED")[-1] == "JOB_STATE_SUCCEEDED"
    tuned = client.get(f"/v1/{job['name']}").json()["tunedModel"]
    assert tuned["endpoint"].startswith("projects/test-project/locations/us-central1/endpoints/")
    answer = client.post(f"/v1/{tuned['endpoint']}:generateContent", json=user("tuned?"))
    assert answer.status_code == 200
    assert client.delete(f"/v1/{job['name']}").status_code == 404
    assert [j["name"] for j in client.get(f"{parent_path()}/tuningJobs").json()["tuningJobs"]] == [
        job["name"]
    ]


def test_lists_are_per_location_and_reset_clears(emulator: Emulator, client: httpx.Client) -> None:
    client.post(f"{parent_path()}/batchPredictionJobs", json=BATCH)
    assert client.get(f"{parent_path('europe-west4')}/batchPredictionJobs").json() == {}
    emulator.reset()
    assert client.get(f"{parent_path()}/batchPredictionJobs").json() == {}


def test_resources_need_auth(emulator: Emulator) -> None:
    assert httpx.get(f"{emulator.url}{parent_path()}/tuningJobs").status_code == 401
