"""The response cache's hits and misses and Redis failures reach ``/metrics`` (issue 16).

The cache and the Redis layer (engine/proxy/shared/) call the observability hooks
(engine/proxy/observability/metrics.py); parsed with prometheus_client's own parser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from engine.proxy import BackgroundProxy
from tests.proxy.conftest import FLASH, MASTER_KEY
from tests.proxy.shared.conftest import free_port
from tests.requires import need

parser = need("prometheus_client.parser")


def scrape(proxy: BackgroundProxy) -> dict[str, float]:
    reply = httpx.get(proxy.url + "/metrics")
    assert reply.status_code == 200, reply.text
    out: dict[str, float] = {}
    for family in parser.text_string_to_metric_families(reply.text):
        for sample in family.samples:
            out[sample.name] = out.get(sample.name, 0.0) + sample.value
    return out


def chat(proxy: BackgroundProxy) -> httpx.Response:
    body = {"model": "flash", "messages": [{"role": "user", "content": "count me"}]}
    return httpx.post(
        f"{proxy.url}/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        timeout=10,
    )


def test_cache_hits_and_misses_are_counted(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]], emulator: Any
) -> None:
    proxy = start_proxy(
        {
            "model_list": [deployment("flash", FLASH)],
            "litellm_settings": {
                "cache": True,
                "cache_params": {"type": "local"},
                "callbacks": ["prometheus"],
            },
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    for _ in range(3):
        assert chat(proxy).status_code == 200
    found = scrape(proxy)
    assert found["litellm_cache_misses_metric_total"] == 1
    assert found["litellm_cache_hits_metric_total"] == 2


def test_redis_failures_are_counted(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]], emulator: Any
) -> None:
    """Nothing listens on the port: every request is served on local state, and each failure is counted."""
    proxy = start_proxy(
        {
            "model_list": [deployment("flash", FLASH, rpm=100)],
            "router_settings": {"redis_url": f"redis://127.0.0.1:{free_port()}/0"},
            "litellm_settings": {"callbacks": ["prometheus"]},
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    assert chat(proxy).status_code == 200
    assert chat(proxy).status_code == 200
    assert scrape(proxy)["litellm_redis_failed_requests_total"] >= 1
