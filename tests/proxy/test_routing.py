"""Load balancing, cooldown and failover, fallbacks and per-deployment rpm, end to end through the emulator."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from engine.proxy import BackgroundProxy
from tests.proxy.conftest import FLASH, MASTER_KEY, VISION, upstream_paths

HELLO = [{"role": "user", "content": "hi"}]
PROJECT = re.compile(r"/projects/([^/]+)/locations/([^/]+)/")


def api(proxy: BackgroundProxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=MASTER_KEY, max_retries=0)


def projects(emulator: Any) -> list[str]:
    return [PROJECT.search(p).group(1) for p in upstream_paths(emulator)]


def test_two_deployments_share_the_load(standard: BackgroundProxy, emulator: Any) -> None:
    client = api(standard)
    for _ in range(40):
        raw = client.chat.completions.with_raw_response.create(model="gemini-vision", messages=HELLO)
        assert raw.headers["x-vertexlate-deployment"] in ("gemini-vision-0", "gemini-vision-1")
    counts = Counter(projects(emulator))
    assert set(counts) == {"proj-a", "proj-b"}  # 2**-39 odds that shuffle picks one side 40 times
    locations = {PROJECT.search(p).group(2) for p in upstream_paths(emulator)}
    assert locations == {"us-central1", "us-east1"}


@pytest.mark.parametrize("fault", [{"status": 429}, {"status": 503}, {"status": 500}])
def test_faulted_deployment_is_cooled_down_and_request_fails_over(
    standard: BackgroundProxy, emulator: Any, fault: dict[str, Any]
) -> None:
    emulator.script("gemini-1.0-pro-vision-001", [fault])  # whichever deployment is asked first fails
    client = api(standard)
    resp = client.chat.completions.create(model="gemini-vision", messages=HELLO)
    assert resp.choices[0].message.content  # the client never saw the fault
    first, second = projects(emulator)
    assert first != second
    for _ in range(10):  # the faulted deployment is cooling down: everything goes to the healthy one
        client.chat.completions.create(model="gemini-vision", messages=HELLO)
    assert projects(emulator)[2:] == [second] * 10
    cooling = httpx.get(standard.url + "/health/readiness").json()["cooling_down"]
    assert len(cooling) == 1


def test_all_deployments_faulted_returns_the_upstream_error(standard: BackgroundProxy, emulator: Any) -> None:
    emulator.script("gemini-1.0-pro-vision-001", [{"status": 503}, {"status": 503}])
    with pytest.raises(openai.InternalServerError) as info:
        api(standard).chat.completions.create(model="gemini-vision", messages=HELLO)
    assert info.value.status_code == 503
    assert sorted(projects(emulator)) == ["proj-a", "proj-b"]
    with pytest.raises(openai.RateLimitError) as info:  # both cooling down now
        api(standard).chat.completions.create(model="gemini-vision", messages=HELLO)
    assert "cooling down" in info.value.message
    assert int(info.value.response.headers["retry-after"]) >= 1


def test_fallbacks_move_to_another_model_name(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]], emulator: Any
) -> None:
    proxy = start_proxy(
        {
            "model_list": [deployment("primary", VISION), deployment("backup", FLASH)],
            "litellm_settings": {"fallbacks": [{"primary": ["backup"]}]},
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    emulator.script("gemini-1.0-pro-vision-001", [{"status": 503}])
    raw = api(proxy).chat.completions.with_raw_response.create(model="primary", messages=HELLO)
    assert raw.headers["x-vertexlate-deployment"] == "backup-1"
    assert raw.parse().choices[0].message.content
    assert [p.rsplit("/", 1)[1] for p in upstream_paths(emulator)] == [
        "gemini-1.0-pro-vision-001:generateContent",
        "gemini-2.5-flash:generateContent",
    ]


def test_num_retries_retries_the_only_deployment(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]], emulator: Any
) -> None:
    proxy = start_proxy(
        {
            "model_list": [deployment("solo", FLASH)],
            "litellm_settings": {"num_retries": 1},
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    emulator.script("gemini-2.5-flash", [{"status": 429, "retry_after": 0}])
    assert api(proxy).chat.completions.create(model="solo", messages=HELLO).choices[0].message.content
    assert len(upstream_paths(emulator)) == 2


def test_deployment_rpm_is_respected(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]], emulator: Any
) -> None:
    proxy = start_proxy(
        {
            "model_list": [
                deployment("g", VISION, project="small", rpm=2, weight=1),
                deployment("g", VISION, project="large", rpm=1000, weight=1),
            ],
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    client = api(proxy)
    for _ in range(30):
        client.chat.completions.create(model="g", messages=HELLO)
    counts = Counter(projects(emulator))
    assert counts["small"] == 2 and counts["large"] == 28  # equal weights: "small" fills up early
