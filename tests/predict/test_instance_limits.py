"""Per-request instance limits on ``:predict``, enforced by the emulator as Vertex enforces them.

Limits are the ``max_instances`` capabilities of specs/embeddings.yaml and
specs/multimodal_embeddings.yaml (250 texts for text-embedding-00x, one for gemini-embedding-001
and for multimodalembedding@001, with the sources cited there). Vertex answers a request over
the limit with 400 INVALID_ARGUMENT, "N instance(s) is allowed per prediction. Actual: M"
(quoted in langchain-ai/langchain#5316). The engine must therefore split: a call with more
inputs than the limit succeeds, and every request the emulator saw stays within it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

import engine
from engine import auth
from tests.conformance import assert_embedding_response, assert_valid_request

Instance = Callable[[int], dict[str, Any]]
LIMITS: list[tuple[str, int, Instance]] = [
    ("text-embedding-005", 250, lambda i: {"content": f"text {i}"}),
    ("gemini-embedding-001", 1, lambda i: {"content": f"text {i}"}),
    ("multimodalembedding@001", 1, lambda i: {"text": f"text {i}"}),
]
IDS = [model for model, _, _ in LIMITS]


PARENT = "/v1/projects/p/locations/us-central1"


def _post(
    emulator: Any, service_account: dict[str, Any], resource: str, instances: list[dict[str, Any]]
) -> httpx.Response:
    """A raw ``:predict`` call with a real bearer token from the emulator's OAuth endpoint."""
    token = auth.credential_for(service_account).token()
    return httpx.post(
        f"{emulator.url}{PARENT}/{resource}:predict",
        json={"instances": instances, "parameters": {}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


@pytest.mark.parametrize(("model", "limit", "instance"), LIMITS, ids=IDS)
def test_more_instances_than_the_limit_get_googles_400(
    emulator: Any, service_account: dict[str, Any], model: str, limit: int, instance: Instance
) -> None:
    emulator.reset()
    resource = f"publishers/google/models/{model}"
    at_limit = _post(emulator, service_account, resource, [instance(i) for i in range(limit)])
    assert at_limit.status_code == 200 and len(at_limit.json()["predictions"]) == limit
    over = _post(emulator, service_account, resource, [instance(i) for i in range(limit + 1)])
    assert over.status_code == 400
    assert over.json() == {
        "error": {
            "code": 400,
            "message": f"{limit} instance(s) is allowed per prediction. Actual: {limit + 1}",
            "status": "INVALID_ARGUMENT",
        }
    }


def test_endpoints_have_no_publisher_limit(emulator: Any, service_account: dict[str, Any]) -> None:
    """A custom model on an endpoint sets its own limits; the publisher table does not apply."""
    resp = _post(emulator, service_account, "endpoints/1234", [{"content": f"text {i}"} for i in range(300)])
    assert resp.status_code == 200 and len(resp.json()["predictions"]) == 300


@pytest.mark.parametrize(("model", "limit"), [(model, limit) for model, limit, _ in LIMITS], ids=IDS)
def test_engine_splits_inputs_beyond_the_limit(
    emulator: Any, vx: dict[str, Any], model: str, limit: int
) -> None:
    count = limit + 2
    texts = [f"text {i}" for i in range(count)]
    resp = engine.embedding(model=f"vertex_ai/{model}", input=texts, dimensions=128, **vx)
    assert_embedding_response(resp)
    assert [item.index for item in resp.data] == list(range(count))
    sizes = [len(r["body"]["instances"]) for r in emulator.requests(model)]
    assert len(sizes) > 1 and sum(sizes) == count
    assert max(sizes) <= limit
    for logged in emulator.requests(model):
        assert_valid_request(logged["body"], schema="GoogleCloudAiplatformV1PredictRequest")
