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
from tests.proxy.conftest import FLASH, MASTER_KEY, VISION, FakeClock, upstream_paths

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
    clock = FakeClock()  # one minute for the whole test, however long it takes on the wall clock
    proxy = start_proxy(
        {
            "model_list": [
                deployment("g", VISION, project="small", rpm=2, weight=1),
                deployment("g", VISION, project="large", rpm=1000, weight=1),
            ],
            "general_settings": {"master_key": MASTER_KEY},
        },
        clock=clock,
    )
    client = api(proxy)
    for _ in range(30):
        client.chat.completions.create(model="g", messages=HELLO)
    counts = Counter(projects(emulator))
    assert counts["small"] == 2 and counts["large"] == 28  # equal weights: "small" fills up early
    clock.advance(60)  # the next minute: "small" takes requests again
    for _ in range(30):
        client.chat.completions.create(model="g", messages=HELLO)
    assert Counter(projects(emulator))["small"] == 4


def test_a_client_caused_404_does_not_take_the_group_offline(
    standard: BackgroundProxy, emulator: Any
) -> None:
    """A ``cached_content`` that does not exist is the client's 404: one upstream call, nobody cooled down."""
    missing = "projects/proj-a/locations/us-central1/cachedContents/1234567890"
    client = api(standard)
    for _ in range(3):
        with pytest.raises(openai.NotFoundError) as info:
            client.chat.completions.create(
                model="gemini-vision", messages=HELLO, extra_body={"cached_content": missing}
            )
        assert "cached content" in info.value.message
    assert len(upstream_paths(emulator)) == 3  # each bad request reached one deployment only
    assert httpx.get(standard.url + "/health/readiness").json()["cooling_down"] == []
    for _ in range(4):  # everyone else is still served, by both deployments
        assert (
            client.chat.completions.create(model="gemini-vision", messages=HELLO).choices[0].message.content
        )


def test_a_deployment_without_the_model_fails_over(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]], emulator: Any
) -> None:
    """Vertex's "Publisher Model ... was not found" names the deployment's model: that one is cooled down."""
    message = (
        "Publisher Model `projects/proj-a/locations/us-central1/publishers/google/models/gemini-1.0-pro-vision-001` "
        "was not found or your project does not have access to it."
    )
    proxy = start_proxy(
        {
            "model_list": [
                deployment("g", VISION, project="proj-a", weight=1e9),  # asked first
                deployment("g", VISION, project="proj-b", weight=1e-9),
            ],
            "general_settings": {"master_key": MASTER_KEY},
        },
        clock=FakeClock(),
    )
    emulator.script("gemini-1.0-pro-vision-001", [{"status": 404, "message": message}])
    raw = api(proxy).chat.completions.with_raw_response.create(model="g", messages=HELLO)
    assert raw.headers["x-vertexlate-deployment"] == "g-1"
    assert projects(emulator) == ["proj-a", "proj-b"]
    assert httpx.get(proxy.url + "/health/readiness").json()["cooling_down"] == ["g-0"]
