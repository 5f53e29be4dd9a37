"""Budgets hold across proxies at once when they share a Redis, not only after the key cache TTL."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.proxy import BackgroundProxy
from engine.proxy.store.records import hash_key
from tests.proxy.conftest import MASTER_KEY
from tests.proxy.shared.conftest import redis_client

MASTER = {"authorization": f"Bearer {MASTER_KEY}"}


def chat(proxy: BackgroundProxy, key: str) -> httpx.Response:
    body = {"model": "flash", "messages": [{"role": "user", "content": "hello"}]}
    return httpx.post(
        f"{proxy.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=10
    )


def test_a_budget_spent_through_one_proxy_stops_the_other(
    start_proxy: Callable[..., BackgroundProxy],
    deployment: Callable[..., dict[str, Any]],
    redis_url: str,
    redis_namespace: str,
    tmp_path: Path,
) -> None:
    config = {
        "model_list": [deployment("flash", "vertex_ai/gemini-2.5-flash")],
        "router_settings": {"redis_url": redis_url, "redis_namespace": redis_namespace},
        "general_settings": {"master_key": MASTER_KEY, "database_url": f"sqlite:///{tmp_path / 'store.db'}"},
    }
    a, b = start_proxy(config), start_proxy(config)
    cost = float(chat(a, MASTER_KEY).headers["x-litellm-response-cost"])
    assert cost > 0
    made = httpx.post(f"{a.url}/key/generate", json={"max_budget": 1.5 * cost}, headers=MASTER, timeout=10)
    key = made.json()["key"]
    shared = f"{redis_namespace}:sp:key:{hash_key(key)}:0"
    redis = redis_client(redis_url)

    def spent(expected: float) -> None:  # the cost reaches Redis off the request path: wait for it
        deadline = time.monotonic() + 10
        while float(redis.get(shared) or 0) < expected * 0.999:
            assert time.monotonic() < deadline, redis.get(shared)
            time.sleep(0.01)

    assert chat(a, key).status_code == 200
    spent(cost)
    assert chat(b, key).status_code == 200  # 1 x cost of 1.5 spent: still allowed
    spent(2 * cost)
    for proxy in (a, b):  # neither proxy has written the other's spend to the database yet
        refused = chat(proxy, key)
        assert refused.status_code == 400 and refused.json()["error"]["type"] == "budget_exceeded"
    assert float(redis.get(shared)) == pytest.approx(2 * cost)
