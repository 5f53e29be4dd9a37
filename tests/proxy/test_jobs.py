"""Files, batches and fine-tuning through the proxy with the official ``openai`` client (sync and async).

The calls are the seed's ("Batch-APIs" steps 1-4 and "Fine-Tuning-APIs" of
/work/shared/seed/vertex_ai_provider_reference_de.txt), each with
``extra_body={"custom_llm_provider": "vertex_ai"}``; uploads land in a real Cloud
Storage emulator (gcp-storage-emulator), jobs in the Vertex emulator, whose job clock
the tests step with ``emulator.advance``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from engine.proxy import BackgroundProxy, ConfigError, load_config
from tests.conformance import assert_chat_completion, assert_valid_request
from tests.jobs.conftest import BUCKET
from tests.jobs.helpers import (
    SEED_BATCH_LINES,
    assert_batch,
    assert_file_object,
    assert_fine_tuning_job,
    gcs_download,
    jsonl,
    last_request,
)
from tests.proxy.conftest import FLASH, MASTER_KEY, FakeClock

VERTEX = {"custom_llm_provider": "vertex_ai"}  # the seed's extra_body on every call
TRAINING_FILE = "gs://cloud-samples-data/ai-platform/generative_ai/sft_train_data.jsonl"  # the seed's
SEED_MODEL_DIR = f"gs://{BUCKET}/litellm-vertex-files/publishers/google/models/gemini-1.5-flash-001"
STEP = 600.0  # seconds per job state in these tests: far longer than any test, so only advance() moves jobs
AUTH = {"authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture
def job_clock(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Jobs change state only when the test says so: ``step()`` moves them one JobState on."""
    monkeypatch.setattr(emulator.state, "job_step_seconds", STEP)
    return lambda: emulator.advance(STEP)


@pytest.fixture
def settings(emulator: Any, service_account: dict[str, Any], gcs_server: str) -> dict[str, Any]:
    """``files_settings`` and ``finetune_settings`` in different projects and regions, to see which is used."""
    return {
        "files_settings": [
            {"custom_llm_provider": "openai", "api_key": "sk-not-used"},  # another provider's entry: ignored
            {
                "custom_llm_provider": "vertex_ai",
                "vertex_project": "proj-files",
                "vertex_location": "us-central1",
                "vertex_credentials": service_account,
                "api_base": emulator.url,
                "gcs_bucket_name": BUCKET,
                "storage_api_base": gcs_server,
            },
        ],
        "finetune_settings": [
            {
                "custom_llm_provider": "vertex_ai",
                "vertex_project": "proj-tune",
                "vertex_location": "europe-west4",
                "vertex_credentials": json.dumps(service_account),
                "api_base": emulator.url,
            }
        ],
    }


@pytest.fixture
def jobs_proxy(
    start_proxy: Callable[..., BackgroundProxy],
    deployment: Callable[..., dict[str, Any]],
    settings: dict[str, Any],
) -> BackgroundProxy:
    return start_proxy(
        {
            "model_list": [deployment("gemini-flash", FLASH)],
            "general_settings": {"master_key": MASTER_KEY},
            **settings,
        }
    )


@pytest.fixture
def client(jobs_proxy: BackgroundProxy) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=jobs_proxy.url + "/v1", api_key=MASTER_KEY, max_retries=0) as api:
        yield api


@pytest.fixture
def aclient(jobs_proxy: BackgroundProxy) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=jobs_proxy.url + "/v1", api_key=MASTER_KEY, max_retries=0)


def seed_file(tmp_path: Path) -> Path:
    path = tmp_path / "vertex_batch_completions.jsonl"  # the seed's file name and lines (step 1)
    path.write_bytes(jsonl(SEED_BATCH_LINES))
    return path


# ---------------------------------------------------------------------------------------------- batches
def test_seed_batch_flow_sync(
    client: openai.OpenAI,
    emulator: Any,
    gcs_server: str,
    job_clock: Callable[[], None],
    tmp_path: Path,
) -> None:
    # Step 2: upload; the id is the gs:// URI under the model the lines name.
    with seed_file(tmp_path).open("rb") as handle:
        file_obj = client.files.create(file=handle, purpose="batch", extra_body=VERTEX)
    assert_file_object(file_obj.model_dump())
    assert file_obj.id.startswith(SEED_MODEL_DIR + "/") and file_obj.purpose == "batch"
    stored = gcs_download(gcs_server, file_obj.id)
    assert file_obj.bytes == len(stored)
    assert client.files.retrieve(file_obj.id, extra_body=VERTEX).model_dump() == file_obj.model_dump()
    lines = [json.loads(line)["request"] for line in stored.decode().splitlines()]
    assert [line["contents"] for line in lines] == [
        [{"role": "user", "parts": [{"text": "Hello world!"}]}]
    ] * 2
    for line in lines:
        assert_valid_request(line)

    # Step 3: the batch, in files_settings' project and region; metadata becomes Vertex labels.
    created = client.batches.create(
        completion_window="24h",
        endpoint="/v1/chat/completions",
        input_file_id=file_obj.id,
        metadata={"team": "search"},
        extra_body=VERTEX,
    )
    assert_batch(created.model_dump())
    sent = last_request(emulator, "POST", "/batchPredictionJobs")
    assert sent["path"] == "/v1/projects/proj-files/locations/us-central1/batchPredictionJobs"
    assert_valid_request(sent["body"], schema="GoogleCloudAiplatformV1BatchPredictionJob")
    assert sent["body"]["inputConfig"]["gcsSource"]["uris"] == [file_obj.id]
    assert sent["body"]["model"] == "publishers/google/models/gemini-1.5-flash-001"
    assert sent["body"]["labels"] == {"team": "search"}
    assert created.id.isdigit() and created.status == "validating"
    assert (created.input_file_id, created.output_file_id) == (file_obj.id, SEED_MODEL_DIR)
    assert created.metadata == {"team": "search"}

    # Step 4: retrieve as the job's state moves on.
    seen = [client.batches.retrieve(batch_id=created.id, extra_body=VERTEX).status]
    for _ in range(2):
        job_clock()
        seen.append(client.batches.retrieve(batch_id=created.id, extra_body=VERTEX).status)
    assert seen == ["validating", "in_progress", "completed"]
    done = client.batches.retrieve(created.id)  # no extra_body: vertex_ai is the default provider
    assert done.completed_at is not None and done.output_file_id.startswith(SEED_MODEL_DIR + "/prediction-")
    assert last_request(emulator, "GET", "/batchPredictionJobs/")["path"] == (
        f"/v1/projects/proj-files/locations/us-central1/batchPredictionJobs/{created.id}"
    )

    page = client.batches.list(limit=5, extra_query=VERTEX)
    assert [b.id for b in page.data] == [created.id] and page.has_more is False
    assert last_request(emulator, "GET", "/batchPredictionJobs")["query"] == {"pageSize": "5"}


def test_batch_results_through_files_content(
    client: openai.OpenAI,
    emulator: Any,
    gcs_server: str,
    job_clock: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The seed's flow to its end: ``client.files.content(batch.output_file_id)`` in OpenAI's batch output format."""
    monkeypatch.setattr(emulator.state, "storage_url", gcs_server)  # Vertex writes results there
    file_obj = client.files.create(
        file=("b.jsonl", jsonl(SEED_BATCH_LINES)), purpose="batch", extra_body=VERTEX
    )
    batch = client.batches.create(
        completion_window="24h", endpoint="/v1/chat/completions", input_file_id=file_obj.id, extra_body=VERTEX
    )
    job_clock()
    job_clock()
    done = client.batches.retrieve(batch.id, extra_body=VERTEX)
    assert done.status == "completed"

    content = client.files.content(done.output_file_id)
    assert content.response.headers["content-type"].startswith("application/jsonl")
    lines = [json.loads(line) for line in content.text.splitlines()]
    assert [line["custom_id"] for line in lines] == ["request-1", "request-2"]
    for line in lines:
        assert line["error"] is None and line["response"]["status_code"] == 200
        body = assert_chat_completion(line["response"]["body"])
        assert body.choices[0].message.content.startswith("Echo: Hello")  # the emulator's answer to each line

    # An input file's content is what was stored, unchanged.
    assert client.files.content(file_obj.id).content == gcs_download(gcs_server, file_obj.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(f"gs://{BUCKET}/no-such-file")


async def test_batch_cancel_async(
    aclient: openai.AsyncOpenAI, emulator: Any, job_clock: Callable[[], None], tmp_path: Path
) -> None:
    async with aclient as api:
        file_obj = await api.files.create(
            file=("batch.jsonl", jsonl(SEED_BATCH_LINES)), purpose="batch", extra_body=VERTEX
        )
        created = await api.batches.create(
            completion_window="24h",
            endpoint="/v1/chat/completions",
            input_file_id=file_obj.id,
            extra_body=VERTEX,
        )
        cancelling = await api.batches.cancel(created.id, extra_body=VERTEX)
        job_clock()
        cancelled = await api.batches.retrieve(created.id, extra_body=VERTEX)
    assert (cancelling.id, cancelling.status) == (created.id, "cancelling")
    assert last_request(emulator, "POST", ":cancel")["path"].endswith(
        f"/batchPredictionJobs/{created.id}:cancel"
    )
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None


# ------------------------------------------------------------------------------------------ fine-tuning
async def test_seed_fine_tuning_flow_async(
    aclient: openai.AsyncOpenAI, emulator: Any, job_clock: Callable[[], None]
) -> None:
    async with aclient as client:
        # The seed's basic call ("2. Erstellen Sie einen Fine-Tuning-Job").
        ft_job = await client.fine_tuning.jobs.create(
            model="gemini-1.0-pro-002", training_file=TRAINING_FILE, extra_body=VERTEX
        )
        sent = last_request(emulator, "POST", "/tuningJobs")
        job_clock()
        running = await client.fine_tuning.jobs.retrieve(ft_job.id, extra_body=VERTEX)
        job_clock()
        done = await client.fine_tuning.jobs.retrieve(ft_job.id, extra_body=VERTEX)
        listed = await client.fine_tuning.jobs.list(extra_query=VERTEX)
    assert_fine_tuning_job(ft_job.model_dump())
    # finetune_settings' project and region, not files_settings'
    assert sent["path"] == "/v1/projects/proj-tune/locations/europe-west4/tuningJobs"
    assert sent["body"] == {
        "baseModel": "gemini-1.0-pro-002",
        "supervisedTuningSpec": {"trainingDatasetUri": TRAINING_FILE},
    }
    assert ft_job.id.isdigit() and ft_job.status == "queued" and ft_job.model == "gemini-1.0-pro-002"
    assert running.status == "running"
    assert done.status == "succeeded" and done.finished_at is not None
    assert done.fine_tuned_model == f"projects/proj-tune/locations/europe-west4/models/{ft_job.id}"
    assert [job.id for job in listed.data] == [ft_job.id]


def test_seed_fine_tuning_with_hyperparameters_sync(
    client: openai.OpenAI, emulator: Any, job_clock: Callable[[], None]
) -> None:
    # The seed's advanced call: n_epochs, learning_rate_multiplier and Vertex's adapter_size.
    ft_job = client.fine_tuning.jobs.create(
        model="gemini-1.0-pro-002",
        training_file=TRAINING_FILE,
        hyperparameters={
            "n_epochs": 3,
            "learning_rate_multiplier": 0.1,
            "adapter_size": "ADAPTER_SIZE_ONE",  # type: ignore[typeddict-unknown-key]
        },
        metadata={"owner": "ml-team"},
        extra_body=VERTEX,
    )
    sent = last_request(emulator, "POST", "/tuningJobs")["body"]
    assert_valid_request(sent, schema="GoogleCloudAiplatformV1TuningJob")
    assert sent["supervisedTuningSpec"]["hyperParameters"] == {
        "epochCount": 3,
        "learningRateMultiplier": 0.1,
        "adapterSize": "ADAPTER_SIZE_ONE",
    }
    assert sent["labels"] == {"owner": "ml-team"}
    assert ft_job.hyperparameters.n_epochs == 3 and ft_job.hyperparameters.learning_rate_multiplier == 0.1

    cancelled = client.fine_tuning.jobs.cancel(ft_job.id, extra_body=VERTEX)
    assert (cancelled.id, cancelled.status) == (ft_job.id, "cancelled")
    assert last_request(emulator, "POST", ":cancel")["path"] == (
        f"/v1/projects/proj-tune/locations/europe-west4/tuningJobs/{ft_job.id}:cancel"
    )
    job_clock()
    final = client.fine_tuning.jobs.retrieve(ft_job.id, extra_body=VERTEX)
    assert final.status == "cancelled" and final.finished_at is not None


# ------------------------------------------------------------------------------------------------ errors
def openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_a_key_is_required(jobs_proxy: BackgroundProxy, emulator: Any) -> None:
    api = openai.OpenAI(base_url=jobs_proxy.url + "/v1", api_key="sk-wrong-key-123", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        api.batches.create(completion_window="24h", endpoint="/v1/chat/completions", input_file_id="gs://b/x")
    with pytest.raises(openai.AuthenticationError):
        api.fine_tuning.jobs.list()
    assert not emulator.requests()


def test_per_key_limits_count_job_calls(
    start_proxy: Callable[..., BackgroundProxy],
    deployment: Callable[..., dict[str, Any]],
    settings: dict[str, Any],
) -> None:
    """Any valid key may use these endpoints (they name no model); its own request limit still applies."""
    key = "sk-team-a-0123456789"
    proxy = start_proxy(
        {
            "model_list": [deployment("gemini-flash", FLASH)],
            "general_settings": {"keys": [{"key": key, "models": ["gemini-flash"], "rpm_limit": 1}]},
            **settings,
        },
        clock=FakeClock(),  # one fixed minute: no window can roll over mid-test
    )
    api = openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)
    assert api.fine_tuning.jobs.list(extra_query=VERTEX).data == []
    with pytest.raises(openai.RateLimitError):
        api.fine_tuning.jobs.list(extra_query=VERTEX)


def test_another_provider_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file="file-abc", extra_body={"custom_llm_provider": "openai"}
        )
    assert info.value.body["param"] == "custom_llm_provider" and "vertex_ai" in info.value.message


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"api_base": "http://127.0.0.1:9"}, "api_base"),
        ({"vertex_project": "someone-elses"}, "vertex_project"),
        ({"vertex_credentials": "{}"}, "vertex_credentials"),
    ],
)
def test_client_cannot_choose_where_jobs_go(
    extra: dict[str, Any], param: str, client: openai.OpenAI, emulator: Any
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(
            model="gemini-1.0-pro-002", training_file=TRAINING_FILE, extra_body={**VERTEX, **extra}
        )
    assert info.value.body["param"] == param
    assert not [r for r in emulator.requests() if "/tuningJobs" in r["path"]]


@pytest.mark.parametrize(
    "extra", [{"gcs_bucket_name": "another-bucket"}, {"storage_api_base": "http://127.0.0.1:9"}]
)
def test_client_cannot_choose_where_uploads_go(extra: dict[str, Any], client: openai.OpenAI) -> None:
    """create_file itself takes these arguments, so only the proxy can refuse them."""
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(
            file=("b.jsonl", jsonl(SEED_BATCH_LINES)), purpose="batch", extra_body={**VERTEX, **extra}
        )
    assert info.value.body["param"] == next(iter(extra))


def test_engine_errors_keep_openai_format(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("123", extra_body=VERTEX)  # no such job upstream
    with pytest.raises(openai.BadRequestError, match="hyperparameters.batch_size"):
        client.fine_tuning.jobs.create(
            model="gemini-1.0-pro-002",
            training_file=TRAINING_FILE,
            hyperparameters={"batch_size": 8},
            extra_body=VERTEX,
        )
    with pytest.raises(openai.BadRequestError, match="gs://"):
        client.batches.create(
            completion_window="24h", endpoint="/v1/chat/completions", input_file_id="file-abc"
        )


def test_upload_must_be_multipart_with_a_file(jobs_proxy: BackgroundProxy) -> None:
    url = jobs_proxy.url + "/v1/files"
    error = openai_error(httpx.post(url, json={"purpose": "batch"}, headers=AUTH), 400)
    assert "multipart/form-data" in error["message"]
    error = openai_error(httpx.post(url, data={"purpose": "batch"}, files={"x": b""}, headers=AUTH), 400)
    assert error["param"] == "file"


def test_query_limit_must_be_an_integer(jobs_proxy: BackgroundProxy) -> None:
    response = httpx.get(jobs_proxy.url + "/batches?limit=many", headers=AUTH)  # also served without /v1
    assert openai_error(response, 400)["param"] == "limit"


def test_seed_environment_variables_fill_what_the_entry_leaves_out(
    start_proxy: Callable[..., BackgroundProxy],
    deployment: Callable[..., dict[str, Any]],
    emulator: Any,
    service_account: dict[str, Any],
    gcs_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The seed's batch setup is environment variables; the entry here only points at the emulators."""
    key_file = tmp_path / "service_account.json"
    key_file.write_text(json.dumps(service_account))
    for name, value in {
        "GCS_BUCKET_NAME": BUCKET,
        "GCS_PATH_SERVICE_ACCOUNT": str(key_file),
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
        "VERTEXAI_LOCATION": "asia-northeast1",
        "VERTEXAI_PROJECT": "my-test-project",
    }.items():
        monkeypatch.setenv(name, value)
    entry = {"custom_llm_provider": "vertex_ai", "api_base": emulator.url, "storage_api_base": gcs_server}
    proxy = start_proxy(
        {
            "model_list": [deployment("gemini-flash", FLASH)],
            "general_settings": {"master_key": MASTER_KEY},
            "files_settings": [entry],
        }
    )
    api = openai.OpenAI(base_url=proxy.url + "/v1", api_key=MASTER_KEY, max_retries=0)
    file_obj = api.files.create(file=("b.jsonl", jsonl(SEED_BATCH_LINES)), purpose="batch", extra_body=VERTEX)
    assert file_obj.id.startswith(SEED_MODEL_DIR + "/")
    api.batches.create(
        completion_window="24h", endpoint="/v1/chat/completions", input_file_id=file_obj.id, extra_body=VERTEX
    )
    assert last_request(emulator, "POST", "/batchPredictionJobs")["path"] == (
        "/v1/projects/my-test-project/locations/asia-northeast1/batchPredictionJobs"
    )


# ------------------------------------------------------------------------------------------------ config
def config_problems(write_config: Callable[..., Path], config: dict[str, Any]) -> tuple[Path, str]:
    path = write_config(config)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return path, "\n".join(info.value.problems)


def test_config_errors_name_file_line_and_key(
    write_config: Callable[..., Path], deployment: Callable[..., dict[str, Any]]
) -> None:
    path, problems = config_problems(
        write_config,
        {
            "model_list": [deployment("gemini-flash", FLASH)],
            "files_settings": [
                {"custom_llm_provider": "vertex_ai", "gcs_bucket": "typo"},
                {"custom_llm_provider": "vertex_ai"},
            ],
            "finetune_settings": [{"custom_llm_provider": "vertex_ai", "vertex_credentials": "{not json"}],
        },
    )
    lines = path.read_text().splitlines()

    def line_of(text: str, after: int = 0) -> int:
        return next(i for i, line in enumerate(lines, start=1) if i > after and text in line)

    files = line_of('"files_settings"')
    tune = line_of('"finetune_settings"')
    assert f"{path}:{line_of('gcs_bucket', files)}: files_settings[0].gcs_bucket: unknown key" in problems
    second = line_of("custom_llm_provider", line_of("typo"))
    assert f"{path}:{second}: files_settings[1].custom_llm_provider: a second entry" in problems
    assert (
        f"{path}:{line_of('vertex_credentials', tune)}: finetune_settings[0].vertex_credentials" in problems
    )
    assert "{not json" not in problems  # a credential is never quoted


def test_an_entry_names_its_provider(
    write_config: Callable[..., Path], deployment: Callable[..., dict[str, Any]]
) -> None:
    config = {
        "model_list": [deployment("gemini-flash", FLASH)],
        "finetune_settings": [{"vertex_project": "p"}],
    }
    path, problems = config_problems(write_config, config)
    assert f"{path}:" in problems
    assert "finetune_settings[0]: missing required key 'custom_llm_provider'" in problems


def test_entries_of_other_providers_load_unused(
    write_config: Callable[..., Path], deployment: Callable[..., dict[str, Any]]
) -> None:
    config = load_config(
        write_config(
            {
                "model_list": [deployment("gemini-flash", FLASH)],
                "files_settings": [
                    {"custom_llm_provider": "azure", "api_key": "k", "api_version": "2024-01"}
                ],
            }
        )
    )
    assert config.providers == {"files_settings": {}, "finetune_settings": {}}


def test_commented_example_in_examples_config_loads(
    tmp_path: Path, service_account: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/config.yaml's files_settings / finetune_settings block, uncommented, is a valid config."""
    example = Path(__file__).resolve().parents[2] / "examples" / "config.yaml"
    lines = example.read_text().splitlines()
    start = lines.index("# files_settings:")
    text = "\n".join(lines[:start] + [line.removeprefix("# ") for line in lines[start:]])
    (tmp_path / "config.yaml").write_text(text)
    key_file = tmp_path / "storage.json"
    key_file.write_text(json.dumps(service_account))
    for name, value in {
        "LITELLM_MASTER_KEY": MASTER_KEY,
        "VERTEX_CREDENTIALS_JSON": json.dumps(service_account),
        "GCS_BUCKET_NAME": BUCKET,
        "GCS_PATH_SERVICE_ACCOUNT": str(key_file),
    }.items():
        monkeypatch.setenv(name, value)

    providers = load_config(tmp_path / "config.yaml").providers
    files = providers["files_settings"]["vertex_ai"]
    assert files.vertex["vertex_project"] == "project-id" and "gcs_bucket_name" not in files.vertex
    assert files.storage == {"gcs_bucket_name": BUCKET, "vertex_credentials": str(key_file)}
    assert providers["finetune_settings"]["vertex_ai"].vertex["vertex_location"] == "us-central1"
