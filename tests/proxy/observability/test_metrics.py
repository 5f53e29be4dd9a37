"""``GET /metrics``: parsed by prometheus_client's own parser, with counts that match the requests made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from engine.proxy import BackgroundProxy
from tests.proxy.conftest import FLASH, MASTER_KEY, VISION
from tests.requires import need

parser = need("prometheus_client.parser")

HELLO = [{"role": "user", "content": "hi"}]
KEY = "sk-team-alpha-0123456789"


def samples(proxy: BackgroundProxy, **headers: str) -> dict[str, list[Any]]:
    """Every sample of the scrape, by sample name (``..._total``, ``..._bucket``, ...)."""
    reply = httpx.get(proxy.url + "/metrics", headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    out: dict[str, list[Any]] = {}
    for family in parser.text_string_to_metric_families(reply.text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def total(found: dict[str, list[Any]], name: str, **labels: str) -> float:
    return sum(s.value for s in found.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


@pytest.fixture
def metered(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> BackgroundProxy:
    return start_proxy(
        {
            "model_list": [
                deployment("gemini-vision", VISION, project="proj-a"),
                deployment("gemini-vision", VISION, project="proj-b"),
                deployment("primary", VISION, project="proj-c"),
                deployment("backup", FLASH),
            ],
            "litellm_settings": {"callbacks": ["prometheus"], "fallbacks": [{"primary": ["backup"]}]},
            "general_settings": {
                "master_key": MASTER_KEY,
                "keys": [{"key": KEY, "key_alias": "alpha", "models": ["gemini-vision", "backup"]}],
            },
        }
    )


def test_counts_match_the_requests_made(metered: BackgroundProxy, emulator: Any) -> None:
    client = openai.OpenAI(base_url=metered.url + "/v1", api_key=KEY, max_retries=0)
    for _ in range(3):
        client.chat.completions.create(model="gemini-vision", messages=HELLO)
    with pytest.raises(openai.PermissionDeniedError):  # key not allowed on "primary": 403
        client.chat.completions.create(model="primary", messages=HELLO)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=metered.url + "/v1", api_key="sk-wrong-key-000", max_retries=0).models.list()
    stream = client.chat.completions.create(model="gemini-vision", messages=HELLO, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text

    found = samples(metered)
    requests = "litellm_proxy_total_requests_metric_total"
    assert (
        total(found, requests, api_key_alias="alpha", requested_model="gemini-vision", status_code="200") == 4
    )
    assert total(found, requests, api_key_alias="alpha", requested_model="primary", status_code="403") == 1
    failed = "litellm_proxy_failed_requests_metric_total"
    assert total(found, failed, api_key_alias="alpha", exception_status="403") == 1
    assert total(found, failed, exception_class="PermissionDeniedError") == 1
    # latency: one observation per request; time to first token: one, for the stream
    assert total(found, "litellm_request_total_latency_metric_count", requested_model="gemini-vision") == 4
    assert (
        total(found, "litellm_llm_api_time_to_first_token_metric_count", requested_model="gemini-vision") == 1
    )
    ttft = total(found, "litellm_llm_api_time_to_first_token_metric_sum", requested_model="gemini-vision")
    assert ttft > 0
    # upstream calls per deployment, and tokens as the emulator reported them
    per_deployment = "litellm_deployment_success_responses_total"
    assert total(found, per_deployment, requested_model="gemini-vision", api_provider="vertex_ai") == 4
    ids = {s.labels["model_id"] for s in found[per_deployment]}
    assert ids <= {"gemini-vision-0", "gemini-vision-1"}
    assert total(found, "litellm_input_tokens_metric_total", api_key_alias="alpha") > 0
    assert total(found, "litellm_output_tokens_metric_total", api_key_alias="alpha") > 0
    # the hashed key is a digest, never the key
    assert all(KEY not in str(s.labels) for group in found.values() for s in group)


def test_fallback_and_cooldown_are_counted(metered: BackgroundProxy, emulator: Any) -> None:
    client = openai.OpenAI(base_url=metered.url + "/v1", api_key=MASTER_KEY, max_retries=0)
    emulator.script("gemini-1.0-pro-vision-001", [{"status": 503}])
    client.chat.completions.create(model="primary", messages=HELLO)  # proj-c fails, "backup" answers
    emulator.script("gemini-1.0-pro-vision-001", [{"status": 429}])
    client.chat.completions.create(model="gemini-vision", messages=HELLO)  # one cools down, the other answers
    found = samples(metered)
    ok = "litellm_deployment_successful_fallbacks_total"
    assert total(found, ok, requested_model="primary", fallback_model="backup", exception_status="503") == 1
    assert total(found, "litellm_deployment_cooled_down_total", exception_status="429") == 1
    failures = "litellm_deployment_failure_responses_total"
    assert total(found, failures, exception_status="503", requested_model="primary") == 1
    assert total(found, failures, exception_status="429") == 1
    assert total(found, "litellm_proxy_total_requests_metric_total", status_code="200") == 2


def test_metrics_are_off_unless_asked_for(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> None:
    proxy = start_proxy({"model_list": [deployment("gemini-vision", VISION)]})
    reply = httpx.get(proxy.url + "/metrics")
    assert reply.status_code == 404
    assert "litellm_settings.callbacks" in reply.json()["error"]["message"]


def test_metrics_auth_as_litellm(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> None:
    proxy = start_proxy(
        {
            "model_list": [deployment("gemini-vision", VISION)],
            "litellm_settings": {"callbacks": ["prometheus"], "require_auth_for_metrics_endpoint": True},
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    assert httpx.get(proxy.url + "/metrics").status_code == 401
    assert httpx.get(proxy.url + "/metrics/").status_code == 401  # the path LiteLLM's Grafana setup scrapes
    assert samples(proxy, authorization=f"Bearer {MASTER_KEY}") is not None


def test_cache_and_redis_hooks_count(metered: BackgroundProxy) -> None:
    metrics = metered.proxy.telemetry.metrics
    metrics.cache_hit("gemini-vision")
    metrics.cache_hit("gemini-vision")
    metrics.cache_miss("gemini-vision")
    metrics.redis_failure("rate_limit_check", ConnectionError("down"))
    metrics.db_failure("spend_write", OSError("down"))
    found = samples(metered)
    assert total(found, "litellm_cache_hits_metric_total", model="gemini-vision") == 2
    assert total(found, "litellm_cache_misses_metric_total", model="gemini-vision") == 1
    assert total(found, "litellm_redis_failed_requests_total", error_class="ConnectionError") == 1
    assert total(found, "litellm_postgres_failed_requests_total", function_name="spend_write") == 1


def test_dialect_endpoints_are_counted(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> None:
    anthropic = need("anthropic")
    proxy = start_proxy(
        {
            "model_list": [deployment("gemini", FLASH)],
            "litellm_settings": {"callbacks": ["prometheus"]},
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    client = anthropic.Anthropic(api_key=MASTER_KEY, base_url=proxy.url, max_retries=0)
    hello = [{"role": "user", "content": "Hello"}]
    client.messages.create(model="gemini", max_tokens=32, messages=hello)
    with client.messages.stream(model="gemini", max_tokens=32, messages=hello) as stream:
        assert stream.get_final_text()
    found = samples(proxy)
    requests = "litellm_proxy_total_requests_metric_total"
    assert (
        total(found, requests, requested_model="gemini", status_code="200", api_key_alias="master_key") == 2
    )
    assert total(found, "litellm_deployment_success_responses_total", requested_model="gemini") == 2
    assert total(found, "litellm_request_total_latency_metric_count", requested_model="gemini") == 2


def test_other_callbacks_are_warned_by_name(
    write_config: Callable[..., Any], deployment: Callable[..., dict[str, Any]]
) -> None:
    from engine.proxy import load_config

    config = load_config(
        write_config(
            {
                "model_list": [deployment("m", VISION)],
                "litellm_settings": {"callbacks": ["prometheus", "langfuse"], "failure_callback": ["sentry"]},
            }
        )
    )
    assert config.callbacks == ("prometheus",)
    assert any("callbacks[1]: callback 'langfuse' is not supported" in w for w in config.warnings)
    assert any("failure_callback: not supported" in w for w in config.warnings)
