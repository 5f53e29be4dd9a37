"""LiteLLM's budget gauges from the store's key and team budgets (https://docs.litellm.ai/docs/proxy/prometheus)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.proxy import BackgroundProxy
from engine.proxy.store.records import hash_key
from tests.proxy.conftest import FLASH, MASTER_KEY
from tests.proxy.observability.test_metrics import samples, total

MASTER = {"authorization": f"Bearer {MASTER_KEY}"}


def _chat(proxy: BackgroundProxy, key: str) -> httpx.Response:
    body = {"model": "flash", "messages": [{"role": "user", "content": "hello"}]}
    return httpx.post(
        f"{proxy.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=10
    )


def _post(proxy: BackgroundProxy, path: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = httpx.post(proxy.url + path, json=body, headers=MASTER, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def test_remaining_and_max_budgets_of_keys_and_teams(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    proxy = start_proxy(
        {
            "model_list": [deployment("flash", FLASH)],
            "litellm_settings": {"callbacks": ["prometheus"]},
            "general_settings": {
                "master_key": MASTER_KEY,
                "database_url": f"sqlite:///{tmp_path / 'store.db'}",
            },
        }
    )
    team = _post(proxy, "/team/new", {"team_alias": "research", "max_budget": 5.0})
    budgeted = _post(
        proxy,
        "/key/generate",
        {"key_alias": "capped", "max_budget": 2.0, "budget_duration": "1d", "team_id": team["team_id"]},
    )["key"]
    unlimited = _post(proxy, "/key/generate", {"key_alias": "open"})["key"]
    cost = float(_chat(proxy, budgeted).headers["x-litellm-response-cost"])
    assert cost > 0
    assert _chat(proxy, unlimited).status_code == 200

    found = samples(proxy)
    key = {"hashed_api_key": hash_key(budgeted), "api_key_alias": "capped"}
    remaining = total(found, "litellm_remaining_api_key_budget_metric", **key)
    assert remaining == pytest.approx(2.0 - cost)
    assert total(found, "litellm_api_key_max_budget_metric", **key) == 2.0
    hours = total(found, "litellm_api_key_budget_remaining_hours_metric", **key)
    assert 23.0 < hours <= 24.0  # budget_duration 1d, reset a day after the key was made
    free = {"hashed_api_key": hash_key(unlimited), "api_key_alias": "open"}
    assert math.isinf(total(found, "litellm_remaining_api_key_budget_metric", **free))  # no max: +Inf
    assert not [s for s in found.get("litellm_api_key_max_budget_metric", []) if s.labels == free]
    labels = {"team": team["team_id"], "team_alias": "research"}
    assert total(found, "litellm_remaining_team_budget_metric", **labels) == pytest.approx(5.0 - cost)
    assert total(found, "litellm_team_max_budget_metric", **labels) == 5.0
    # the master key has no budget row: no gauge; no secret in any label
    assert all(
        MASTER_KEY not in str(s.labels) and budgeted not in str(s.labels) for g in found.values() for s in g
    )

    assert _chat(proxy, budgeted).status_code == 200  # spend shows at once, not after a database round trip
    again = samples(proxy)
    assert total(again, "litellm_remaining_api_key_budget_metric", **key) < remaining
