"""A key limited to some models can neither create nor see files, batches and tuning jobs of other models.

Real flow: official ``openai`` client -> proxy -> engine -> Vertex and Cloud Storage
emulators. Key ``old`` may use the group whose deployment is ``gemini-1.5-flash-001``
(the model of the seed's batch lines), key ``new`` the one of ``gemini-2.5-flash``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest

from engine.proxy import BackgroundProxy
from tests.jobs.helpers import SEED_BATCH_LINES, jsonl
from tests.proxy.conftest import FLASH, MASTER_KEY
from tests.proxy.test_jobs import TRAINING_FILE, VERTEX, settings  # noqa: F401 - settings is a fixture

OLD_KEY = "sk-team-old-0123456789"
NEW_KEY = "sk-team-new-0123456789"
OLD_MODEL = "vertex_ai/gemini-1.5-flash-001"


@pytest.fixture
def config(deployment: Callable[..., dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    return {
        "model_list": [deployment("old-flash", OLD_MODEL), deployment("new-flash", FLASH)],
        "general_settings": {
            "master_key": MASTER_KEY,
            "keys": [
                {"key": OLD_KEY, "key_alias": "old", "models": ["old-flash"]},
                {"key": NEW_KEY, "key_alias": "new", "models": ["new-flash"]},
            ],
        },
        **settings,
    }


@pytest.fixture
def proxy(start_proxy: Callable[..., BackgroundProxy], config: dict[str, Any]) -> BackgroundProxy:
    return start_proxy(config)


def api(proxy: BackgroundProxy, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)


def vertex_calls(emulator: Any, method: str, fragment: str) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["method"] == method and fragment in r["path"]]


def upload_and_batch(client: openai.OpenAI) -> tuple[Any, Any]:
    file_obj = client.files.create(
        file=("b.jsonl", jsonl(SEED_BATCH_LINES)), purpose="batch", extra_body=VERTEX
    )
    batch = client.batches.create(
        completion_window="24h", endpoint="/v1/chat/completions", input_file_id=file_obj.id, extra_body=VERTEX
    )
    return file_obj, batch


def test_a_key_cannot_upload_a_batch_file_for_another_model(proxy: BackgroundProxy, emulator: Any) -> None:
    with pytest.raises(openai.PermissionDeniedError) as info:
        api(proxy, NEW_KEY).files.create(
            file=("b.jsonl", jsonl(SEED_BATCH_LINES)), purpose="batch", extra_body=VERTEX
        )
    assert "gemini-1.5-flash-001" in info.value.message and "'new'" in info.value.message
    assert NEW_KEY not in info.value.response.text


def test_a_key_cannot_batch_another_models_file(proxy: BackgroundProxy, emulator: Any) -> None:
    file_obj = api(proxy, MASTER_KEY).files.create(
        file=("b.jsonl", jsonl(SEED_BATCH_LINES)), purpose="batch", extra_body=VERTEX
    )
    with pytest.raises(openai.PermissionDeniedError):
        api(proxy, NEW_KEY).batches.create(
            completion_window="24h",
            endpoint="/v1/chat/completions",
            input_file_id=file_obj.id,
            extra_body=VERTEX,
        )
    assert not vertex_calls(emulator, "POST", "/batchPredictionJobs")


def test_a_key_sees_only_the_batches_and_files_it_may_use(proxy: BackgroundProxy, emulator: Any) -> None:
    old, new, master = api(proxy, OLD_KEY), api(proxy, NEW_KEY), api(proxy, MASTER_KEY)
    file_obj, batch = upload_and_batch(old)
    assert old.batches.retrieve(batch.id, extra_body=VERTEX).id == batch.id
    assert old.files.retrieve(file_obj.id, extra_body=VERTEX).id == file_obj.id
    assert [b.id for b in old.batches.list(extra_query=VERTEX).data] == [batch.id]
    assert [b.id for b in master.batches.list(extra_query=VERTEX).data] == [batch.id]

    assert new.batches.list(extra_query=VERTEX).data == []
    for attempt in (
        lambda: new.batches.retrieve(batch.id, extra_body=VERTEX),
        lambda: new.files.retrieve(file_obj.id, extra_body=VERTEX),
        lambda: new.files.content(file_obj.id),
        lambda: new.batches.cancel(batch.id, extra_body=VERTEX),
    ):
        with pytest.raises(openai.NotFoundError) as info:
            attempt()
        assert "'new'" in info.value.message
    assert not vertex_calls(emulator, "POST", ":cancel")  # refused before anything was cancelled


def test_a_key_cannot_fine_tune_another_model(proxy: BackgroundProxy, emulator: Any) -> None:
    with pytest.raises(openai.PermissionDeniedError):
        api(proxy, NEW_KEY).fine_tuning.jobs.create(
            model="gemini-1.0-pro-002", training_file=TRAINING_FILE, extra_body=VERTEX
        )
    assert not vertex_calls(emulator, "POST", "/tuningJobs")
    job = api(proxy, NEW_KEY).fine_tuning.jobs.create(
        model="gemini-2.5-flash", training_file=TRAINING_FILE, extra_body=VERTEX
    )
    assert job.model == "gemini-2.5-flash"


def test_jobs_are_visible_by_model(proxy: BackgroundProxy) -> None:
    old, new, master = api(proxy, OLD_KEY), api(proxy, NEW_KEY), api(proxy, MASTER_KEY)
    mine = master.fine_tuning.jobs.create(
        model="gemini-2.5-flash", training_file=TRAINING_FILE, extra_body=VERTEX
    )
    other = master.fine_tuning.jobs.create(
        model="gemini-1.0-pro-002", training_file=TRAINING_FILE, extra_body=VERTEX
    )
    assert {j.id for j in master.fine_tuning.jobs.list(extra_query=VERTEX).data} == {mine.id, other.id}
    assert [j.id for j in new.fine_tuning.jobs.list(extra_query=VERTEX).data] == [mine.id]
    assert new.fine_tuning.jobs.retrieve(mine.id, extra_body=VERTEX).model == "gemini-2.5-flash"
    assert old.fine_tuning.jobs.list(extra_query=VERTEX).data == []
    with pytest.raises(openai.NotFoundError):
        new.fine_tuning.jobs.retrieve(other.id, extra_body=VERTEX)


def test_jobs_created_elsewhere_are_judged_by_their_model(
    start_proxy: Callable[..., BackgroundProxy], config: dict[str, Any], emulator: Any
) -> None:
    """A second proxy has no record of the first one's jobs: Vertex's own record of the job decides."""
    first, second = start_proxy(config), start_proxy(config)
    other = api(first, MASTER_KEY).fine_tuning.jobs.create(
        model="gemini-1.0-pro-002", training_file=TRAINING_FILE, extra_body=VERTEX
    )
    _, batch = upload_and_batch(api(first, MASTER_KEY))
    new = api(second, NEW_KEY)
    with pytest.raises(openai.NotFoundError):
        new.fine_tuning.jobs.cancel(other.id, extra_body=VERTEX)
    with pytest.raises(openai.NotFoundError):
        new.batches.cancel(batch.id, extra_body=VERTEX)
    assert not vertex_calls(emulator, "POST", ":cancel")
    assert api(second, OLD_KEY).batches.retrieve(batch.id, extra_body=VERTEX).id == batch.id
