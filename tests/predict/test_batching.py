"""The spec's ``batch`` section: inputs beyond a model's per-request instance limit.

Limits come from the model specs (``max_instances``): one text per request for
gemini-embedding-001 and five for the textembedding-gecko generation (see
specs/embeddings.yaml for the sources). The split requests go out concurrently;
the merged response must keep input order whatever order the replies arrive in,
so every vector is compared with the one a single-input call returns.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import engine
from tests.conformance import assert_embedding_response, assert_valid_request

TEXTS = [f"sentence number {i}" for i in range(12)]


def _singles(model: str, texts: list[str], vx: dict[str, Any]) -> list[list[float]]:
    return [
        engine.embedding(model=f"vertex_ai/{model}", input=text, **vx).data[0].embedding for text in texts
    ]


def _sizes(emulator: Any, model: str) -> list[int]:
    return sorted(len(r["body"]["instances"]) for r in emulator.requests(model))


@pytest.mark.parametrize(
    ("model", "count", "sizes"),
    [("gemini-embedding-001", 3, [1, 1, 1]), ("textembedding-gecko@003", 12, [2, 5, 5])],
)
def test_sync_split_keeps_input_order(
    emulator: Any, vx: dict[str, Any], model: str, count: int, sizes: list[int]
) -> None:
    expected = _singles(model, TEXTS[:count], vx)
    emulator.reset()
    resp = engine.embedding(model=f"vertex_ai/{model}", input=TEXTS[:count], **vx)
    assert_embedding_response(resp)
    assert _sizes(emulator, model) == sizes
    for logged in emulator.requests(model):
        assert_valid_request(logged["body"], schema="GoogleCloudAiplatformV1PredictRequest")
    assert [item.index for item in resp.data] == list(range(count))
    assert [item.embedding for item in resp.data] == expected
    assert resp._hidden_params["batch_requests"] == len(sizes)
    assert len(resp._hidden_params["statistics"]) == count


async def test_async_split_keeps_input_order_and_sums_usage(emulator: Any, vx: dict[str, Any]) -> None:
    single = [engine.embedding(model="vertex_ai/textembedding-gecko", input=text, **vx) for text in TEXTS]
    emulator.reset()
    resp = await engine.aembedding(model="vertex_ai/textembedding-gecko", input=TEXTS, **vx)
    assert_embedding_response(resp)
    assert _sizes(emulator, "textembedding-gecko") == [2, 5, 5]
    assert [item.embedding for item in resp.data] == [s.data[0].embedding for s in single]
    assert resp.usage.prompt_tokens == sum(s.usage.prompt_tokens for s in single)
    assert resp.usage.total_tokens == resp.usage.prompt_tokens


def test_within_the_limit_is_one_request(emulator: Any, vx: dict[str, Any]) -> None:
    texts = [str(i) for i in range(250)]
    resp = engine.embedding(model="vertex_ai/text-embedding-004", input=texts, dimensions=1, **vx)
    assert _sizes(emulator, "text-embedding-004") == [250]
    assert "batch_requests" not in resp._hidden_params
    emulator.reset()
    resp = engine.embedding(
        model="vertex_ai/text-embedding-004", input=[*texts, "one more"], dimensions=1, **vx
    )
    assert _sizes(emulator, "text-embedding-004") == [1, 250]
    assert len(resp.data) == 251 and resp.data[250].index == 250


def test_shared_instance_fields_reach_every_split_request(emulator: Any, vx: dict[str, Any]) -> None:
    engine.embedding(
        model="vertex_ai/gemini-embedding-001", input=["a", "b"], task_type="CLUSTERING", dimensions=8, **vx
    )
    bodies = [r["body"] for r in emulator.requests("gemini-embedding-001")]
    assert len(bodies) == 2
    assert all(
        b["instances"][0]["task_type"] == "CLUSTERING" and b["parameters"] == {"outputDimensionality": 8}
        for b in bodies
    )


def test_a_failing_part_fails_the_call(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(
        "gemini-embedding-001", [{"status": 400, "message": "Request contains an invalid argument."}]
    )
    with pytest.raises(engine.BadRequestError, match="invalid argument"):
        engine.embedding(model="vertex_ai/gemini-embedding-001", input=["a", "b", "c"], **vx)


async def test_a_failing_part_fails_the_async_call(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script("gemini-embedding-001", [{"status": 403}])
    with pytest.raises(engine.PermissionDeniedError):
        await engine.aembedding(model="vertex_ai/gemini-embedding-001", input=["a", "b", "c"], **vx)
    # The other parts were cancelled, but their bytes may already be on the wire: let the
    # emulator take them now rather than during the next test.
    deadline = time.monotonic() + 1.0
    while len(emulator.requests("gemini-embedding-001")) < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def test_each_part_is_retried_on_its_own(emulator: Any, vx: dict[str, Any]) -> None:
    texts = ["retried part a", "retried part b", "retried part c"]
    emulator.script("gemini-embedding-001", [{"status": 429, "retry_after": 0}])
    resp = engine.embedding(model="vertex_ai/gemini-embedding-001", input=texts, num_retries=1, **vx)
    assert len(resp.data) == 3
    # Count only this call's requests: a part the server received after an earlier test had
    # already failed (and reset the log) must not count here.
    sent = [
        r for r in emulator.requests("gemini-embedding-001") if r["body"]["instances"][0]["content"] in texts
    ]
    assert len(sent) == 4  # three parts, one of them twice
    assert {r["body"]["instances"][0]["content"] for r in sent} == set(texts)
