"""The response cache: a second identical request never reaches the emulator (issue 16).

LiteLLM's behaviour (https://docs.litellm.ai/docs/proxy/caching): ``cache: true`` with
``cache_params``; per request ``cache: {"no-cache": true}``, ``{"ttl": N}``, ...; the
cached reply carries ``x-litellm-cache-key``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from engine.proxy import BackgroundProxy
from tests.proxy.conftest import MASTER_KEY, FakeClock, upstream_paths

FLASH = "vertex_ai/gemini-2.5-flash"
OTHER_KEY = "sk-other-0123456789"
MESSAGES = [{"role": "user", "content": "cache me"}]


@pytest.fixture
def cached_proxy(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> Callable[..., BackgroundProxy]:
    def start(**params: Any) -> BackgroundProxy:
        return start_proxy(
            {
                "model_list": [deployment("flash", FLASH)],
                "litellm_settings": {"cache": True, "cache_params": params},
                "general_settings": {
                    "master_key": MASTER_KEY,
                    "keys": [{"key": OTHER_KEY, "key_alias": "other"}],
                },
            }
        )

    return start


def chat(proxy: BackgroundProxy, key: str = MASTER_KEY, **extra: Any) -> httpx.Response:
    body = {"model": "flash", "messages": MESSAGES, **extra}
    return httpx.post(
        f"{proxy.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=10
    )


@pytest.mark.parametrize("kind", ["redis", "local"])
def test_second_identical_call_is_served_from_the_cache(
    cached_proxy: Callable[..., BackgroundProxy],
    emulator: Any,
    kind: str,
    request: pytest.FixtureRequest,
) -> None:
    params: dict[str, Any] = {"type": kind, "ttl": 60}
    if kind == "redis":
        params |= {
            "url": request.getfixturevalue("redis_url"),
            "namespace": request.getfixturevalue("redis_namespace"),
        }
    proxy = cached_proxy(**params)
    first, second = chat(proxy), chat(proxy)
    assert first.status_code == second.status_code == 200
    assert "x-litellm-cache-key" not in first.headers
    assert second.headers["x-litellm-cache-key"].startswith(params.get("namespace", "vertexlate") + ":")
    assert second.json() == first.json()
    assert len(upstream_paths(emulator)) == 1
    # Key order does not matter; another parameter does.
    assert chat(proxy, temperature=0.5).status_code == 200
    assert (
        "x-litellm-cache-key"
        in httpx.post(
            f"{proxy.url}/v1/chat/completions",
            json={"temperature": 0.5, "messages": MESSAGES, "model": "flash"},
            headers={"authorization": f"Bearer {MASTER_KEY}"},
        ).headers
    )
    assert len(upstream_paths(emulator)) == 2


def test_streams_are_replayed_as_chunks(
    cached_proxy: Callable[..., BackgroundProxy], emulator: Any, redis_url: str, redis_namespace: str
) -> None:
    proxy = cached_proxy(type="redis", url=redis_url, namespace=redis_namespace)
    client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=MASTER_KEY, max_retries=0)

    def stream() -> tuple[list[str], Any]:
        raw = client.chat.completions.with_raw_response.create(model="flash", messages=MESSAGES, stream=True)
        chunks = list(raw.parse())
        text = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
        return text, raw.headers

    first, first_headers = stream()
    second, second_headers = stream()
    assert first and second == first
    assert "x-litellm-cache-key" in second_headers and "x-litellm-cache-key" not in first_headers
    assert len(upstream_paths(emulator, ":streamGenerateContent")) == 1
    # A streamed reply does not answer the same request without stream, nor the other way round.
    assert "x-litellm-cache-key" not in chat(proxy).headers
    assert len(upstream_paths(emulator)) == 1


def test_entries_expire_after_their_ttl(cached_proxy: Callable[..., BackgroundProxy], emulator: Any) -> None:
    proxy = cached_proxy(type="local", ttl=30)
    clock = FakeClock()
    assert proxy.proxy.cache is not None
    proxy.proxy.cache.clock = clock
    chat(proxy)
    clock.advance(29)
    assert "x-litellm-cache-key" in chat(proxy).headers
    clock.advance(1)
    assert "x-litellm-cache-key" not in chat(proxy).headers
    assert len(upstream_paths(emulator)) == 2
    # Per request: a shorter ttl for this entry, and s-maxage on the read.
    chat(proxy, temperature=0.1, cache={"ttl": 5})
    clock.advance(5)
    assert "x-litellm-cache-key" not in chat(proxy, temperature=0.1).headers
    clock.advance(3)
    assert "x-litellm-cache-key" not in chat(proxy, temperature=0.1, cache={"s-maxage": 2}).headers
    assert len(upstream_paths(emulator)) == 5


def test_per_request_controls(cached_proxy: Callable[..., BackgroundProxy], emulator: Any) -> None:
    proxy = cached_proxy(type="local")
    chat(proxy, cache={"no-store": True})
    chat(proxy)  # stored now
    assert "x-litellm-cache-key" not in chat(proxy, cache={"no-cache": True}).headers
    assert "x-litellm-cache-key" in chat(proxy).headers
    assert len(upstream_paths(emulator)) == 3
    bad = chat(proxy, cache={"no-cahce": True})
    assert bad.status_code == 400 and "no-cahce" in bad.json()["error"]["message"]
    assert chat(proxy, cache={"ttl": "soon"}).status_code == 400
    for huge in ("1e309", "1000000000000"):  # 1e309 parses as inf: math.ceil(inf) raised in the cache write
        raw = (
            '{"model": "flash", "messages": [{"role": "user", "content": "x"}], "cache": {"ttl": '
            + huge
            + "}}"
        )
        reply = httpx.post(
            f"{proxy.url}/v1/chat/completions",
            content=raw,
            headers={"authorization": f"Bearer {MASTER_KEY}", "content-type": "application/json"},
            timeout=10,
        )
        assert reply.status_code == 400 and reply.json()["error"]["param"] == "cache.ttl", reply.text


def test_keys_do_not_see_each_others_entries(
    cached_proxy: Callable[..., BackgroundProxy], emulator: Any
) -> None:
    proxy = cached_proxy(type="local")
    chat(proxy)
    assert "x-litellm-cache-key" not in chat(proxy, OTHER_KEY).headers
    assert "x-litellm-cache-key" in chat(proxy, OTHER_KEY).headers
    assert len(upstream_paths(emulator)) == 2


def test_global_scope_and_default_off_mode(
    cached_proxy: Callable[..., BackgroundProxy], emulator: Any
) -> None:
    proxy = cached_proxy(type="local", scope="global", mode="default_off")
    chat(proxy)
    chat(proxy)
    assert len(upstream_paths(emulator)) == 2  # default_off: nothing cached unless asked
    chat(proxy, cache={"use-cache": True})
    assert "x-litellm-cache-key" in chat(proxy, OTHER_KEY, cache={"use-cache": True}).headers
    assert len(upstream_paths(emulator)) == 3


def test_hit_is_flagged_in_hidden_params(cached_proxy: Callable[..., BackgroundProxy]) -> None:
    proxy = cached_proxy(type="local")
    seen: list[Any] = []
    original = proxy.proxy.account

    def account(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[4] if len(args) > 4 else kwargs.get("result"))
        return original(*args, **kwargs)

    proxy.proxy.account = account  # type: ignore[method-assign]
    chat(proxy)
    chat(proxy)
    assert [r._hidden_params.get("cache_hit") for r in seen] == [False, True]


def test_anthropic_messages_are_not_cached_as_in_litellm(
    cached_proxy: Callable[..., BackgroundProxy], emulator: Any
) -> None:
    """LiteLLM's cache does not cover anthropic_messages (CachingSupportedCallTypes; BerriAI/litellm#25653)."""
    proxy = cached_proxy(type="local")
    body = {"model": "flash", "max_tokens": 16, "messages": MESSAGES}
    for _ in range(2):
        reply = httpx.post(
            f"{proxy.url}/v1/messages", json=body, headers={"x-api-key": MASTER_KEY}, timeout=10
        )
        assert reply.status_code == 200 and "x-litellm-cache-key" not in reply.headers
    assert len(upstream_paths(emulator)) == 2


def test_responses_are_cached_as_in_litellm(
    cached_proxy: Callable[..., BackgroundProxy], emulator: Any
) -> None:
    """LiteLLM caches ``aresponses`` (its default supported_call_types): /v1/responses, streamed and not."""
    proxy = cached_proxy(type="local")
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key=MASTER_KEY, max_retries=0)
    first = client.responses.with_raw_response.create(model="flash", input="cache me")
    second = client.responses.with_raw_response.create(model="flash", input="cache me")
    assert "x-litellm-cache-key" not in first.headers
    assert second.headers["x-litellm-cache-key"] and second.headers["x-litellm-response-cost"] == "0.0"
    assert second.parse().output_text == first.parse().output_text
    assert len(upstream_paths(emulator)) == 1
    assert client.responses.retrieve(second.parse().id).id == first.parse().id  # stored for this key
    cut = {"text": "one two three four five six", "cut_stream_after": 1}
    emulator.script("gemini-2.5-flash", [cut])
    failed = list(client.responses.create(model="flash", input="cache me", stream=True))
    assert failed[-1].type == "error"  # a stream that fails is not stored
    texts = []
    for _ in range(2):
        events = list(client.responses.create(model="flash", input="cache me", stream=True))
        assert events[-1].type == "response.completed"
        texts.append(events[-1].response.output_text)
    assert texts[0] == texts[1] == first.parse().output_text
    assert len(upstream_paths(emulator, ":streamGenerateContent")) == 2  # the cut one, then one replayed
    other = openai.OpenAI(base_url=proxy.url + "/v1", api_key=OTHER_KEY, max_retries=0)
    other.responses.create(model="flash", input="cache me")  # another key: its own entry
    assert len(upstream_paths(emulator)) == 2
    controls = {"cache": {"no-cache": True}}
    client.responses.create(model="flash", input="cache me", extra_body=controls)
    assert len(upstream_paths(emulator)) == 3


def test_call_types_not_cached_are_warned_with_the_reason(
    write_config: Callable[..., Any], deployment: Callable[..., dict[str, Any]]
) -> None:
    from engine.proxy import load_config

    params = {"supported_call_types": ["acompletion", "anthropic_messages", "responses"]}
    config = load_config(
        write_config(
            {
                "model_list": [deployment("flash", FLASH)],
                "litellm_settings": {"cache": True, "cache_params": params},
            }
        )
    )
    assert config.cache is not None and {"acompletion", "aresponses"} <= config.cache.call_types
    notes = [w for w in config.warnings if "supported_call_types" in w]
    assert len(notes) == 1 and "'anthropic_messages' is not cached by this proxy, nor by LiteLLM" in notes[0]


def test_cache_params_that_do_not_apply_are_named(
    write_config: Callable[..., Any], deployment: Callable[..., dict[str, Any]]
) -> None:
    from engine.proxy import load_config

    def warnings(litellm: dict[str, Any]) -> list[str]:
        return load_config(
            write_config({"model_list": [deployment("flash", FLASH)], "litellm_settings": litellm})
        ).warnings

    local = warnings(
        {"cache": True, "cache_params": {"type": "local", "host": "127.0.0.1", "default_in_redis_ttl": 5}}
    )
    assert any("cache_params.host: ignored by a local cache" in w for w in local)
    assert any("cache_params.default_in_redis_ttl: ignored by a local cache" in w for w in local)
    off = warnings({"cache": False, "cache_params": {"type": "local", "ttl": 5}})
    assert any("cache_params: ignored: litellm_settings.cache is off" in w for w in off)
    assert not [
        w
        for w in warnings({"cache": True, "cache_params": {"type": "local", "ttl": 5}})
        if "cache_params" in w
    ]


def test_a_command_redis_refuses_is_not_an_outage(redis_url: str, redis_namespace: str) -> None:
    """A full Redis refusing a cache write (a ResponseError: it answered) keeps shared limits on."""
    from engine.proxy.shared.connection import SharedRedis
    from engine.proxy.shared.settings import RedisSettings

    async def run() -> None:
        redis = SharedRedis(RedisSettings(redis_url))
        try:
            key = f"{redis_namespace}:a-list"
            await redis.client.rpush(key, "x")
            assert await redis.run(lambda: redis.client.get(key)) is None  # WRONGTYPE: refused
            assert redis.down_since is None and redis.available and redis.outages == 0
            assert redis.failures == 1
        finally:
            await redis.close()

    asyncio.run(run())


def test_huge_replies_are_not_cached_and_the_local_cache_is_bounded_in_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine.proxy.shared import cache as cache_module
    from engine.proxy.shared.settings import CacheSettings

    cache = cache_module.ResponseCache(CacheSettings(type="local"), None)
    lookup = cache.lookup("acompletion", "m", {"messages": []}, "key-a")
    assert lookup is not None
    asyncio.run(cache.put(lookup, "json", b"x" * (cache_module.MAX_ENTRY_BYTES + 1)))
    assert not cache.local and cache.local_bytes == 0
    monkeypatch.setattr(cache_module, "LOCAL_MAX_BYTES", 3000)
    for i in range(5):
        asyncio.run(cache.put(cache.lookup("acompletion", "m", {"n": i}, "key-a"), "json", b"y" * 1000))
    assert len(cache.local) == 2 and cache.local_bytes <= 3000  # the oldest went first
    assert cache.local_bytes == sum(len(raw) for _, raw in cache.local.values())
