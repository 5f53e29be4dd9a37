"""The proxy runs the library's pipeline: same splitting, retries, token refresh, logging and transport.

The proxy has no HTTP client of its own (it calls ``engine.a*`` functions, which send
through ``engine.aio``), so what the library does, a proxied request does too: inputs
beyond a model's per-request maximum are split, ``Retry-After`` sets the same wait,
a 401 refreshes the token once, ``set_verbose`` logs the upstream request, faults
reach the client as OpenAI errors.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

import engine
from engine import transport
from engine.proxy import BackgroundProxy
from engine.proxy import router as proxy_router
from tests.proxy.conftest import FLASH, MASTER_KEY, upstream_paths

HELLO = [{"role": "user", "content": "hi"}]
AUTH = {"authorization": f"Bearer {MASTER_KEY}"}


def api(proxy: BackgroundProxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=MASTER_KEY, max_retries=0)


def test_embeddings_beyond_the_per_request_maximum_are_split(
    standard: BackgroundProxy, emulator: Any, service_account: dict[str, Any]
) -> None:
    inputs = [f"sentence {i}" for i in range(300)]  # text-embedding-005 takes 250 per request
    reply = api(standard).embeddings.create(model="embedder", input=inputs)
    assert [d.index for d in reply.data] == list(range(300))
    assert len(upstream_paths(emulator, ":predict")) == 2
    library = engine.embedding(
        model="vertex_ai/text-embedding-005",
        input=inputs,
        api_base=emulator.url,
        vertex_credentials=service_account,
        vertex_project="proj-a",
        vertex_location="us-central1",
    )
    # the openai client asks for base64 (float32) vectors: equal to float32 precision
    for ours, theirs in zip(library.data, reply.data, strict=True):
        assert theirs.embedding == pytest.approx(ours["embedding"], rel=1e-6, abs=1e-7)


def test_set_verbose_logs_the_proxied_upstream_request(
    standard: BackgroundProxy, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(engine, "set_verbose", True)
    with caplog.at_level(logging.DEBUG, logger="vertexlate"):
        api(standard).chat.completions.create(model="gemini-flash", messages=HELLO)
        api(standard).embeddings.create(model="embedder", input=["x"])
    requests = [
        r.getMessage()
        for r in caplog.records
        if r.name == "vertexlate" and r.getMessage().startswith("POST ")
    ]
    assert any(":generateContent" in m for m in requests) and any(":predict" in m for m in requests)
    assert "ya29." not in caplog.text


def test_retry_after_sets_the_same_wait_as_in_the_library(
    start_proxy: Callable[..., BackgroundProxy],
    deployment: Callable[..., dict[str, Any]],
    emulator: Any,
    vx: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chosen: dict[str, list[float]] = {"library": [], "proxy": []}
    real = transport.retry_delay

    def recorder(path: str) -> Callable[[int, Any], float]:
        def record(attempt: int, headers: Any) -> float:
            chosen[path].append(real(attempt, headers))
            return 0.0

        return record

    monkeypatch.setattr(transport, "retry_delay", recorder("library"))
    monkeypatch.setattr(proxy_router, "retry_delay", recorder("proxy"))
    proxy = start_proxy(
        {
            "model_list": [deployment("solo", FLASH)],
            "litellm_settings": {"num_retries": 1},
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    emulator.script("gemini-2.5-flash", [{"status": 429, "retry_after": 4}, {"text": "ok"}])
    assert api(proxy).chat.completions.create(model="solo", messages=HELLO).choices[0].message.content == "ok"
    emulator.script("gemini-2.5-flash", [{"status": 429, "retry_after": 4}, {"text": "ok"}])
    reply = engine.completion(model=FLASH, messages=HELLO, num_retries=1, **vx)
    assert reply.choices[0].message.content == "ok"
    assert chosen == {"library": [4.0], "proxy": [4.0]}


def test_a_401_refreshes_the_deployments_token_once(standard: BackgroundProxy, emulator: Any) -> None:
    assert api(standard).chat.completions.create(model="gemini-flash", messages=HELLO).choices
    emulator.state.tokens.clear()
    for stream in (False, True):
        if stream:
            chunks = list(
                api(standard).chat.completions.create(model="gemini-flash", messages=HELLO, stream=True)
            )
            assert any(c.choices and c.choices[0].delta.content for c in chunks)
        else:
            assert api(standard).chat.completions.create(model="gemini-flash", messages=HELLO).choices
    # first call; the rejected one and its retry with a refreshed token; the stream on the new token
    assert len(emulator.requests("gemini-2.5-flash")) == 4


def test_cut_stream_ends_with_an_error_event(standard: BackgroundProxy, emulator: Any) -> None:
    emulator.script("gemini-2.5-flash", [{"text": "one two three four five six", "cut_stream_after": 1}])
    with httpx.stream(
        "POST",
        standard.url + "/v1/chat/completions",
        json={"model": "gemini-flash", "messages": HELLO, "stream": True},
        headers=AUTH,
        timeout=30,
    ) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert json.loads(events[0])["choices"][0]["delta"]["content"]
    error = json.loads(events[-1])["error"]
    assert error["type"] == "api_connection_error" or "closed" in error["message"]


def test_upstream_timeout_is_an_openai_timeout_error(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]], emulator: Any
) -> None:
    proxy = start_proxy(
        {
            "model_list": [deployment("slow", FLASH, timeout=0.3)],
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    emulator.script("gemini-2.5-flash", [{"delay_ms": 2000, "text": "late"}])
    response = httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": "slow", "messages": HELLO},
        headers=AUTH,
        timeout=30,
    )
    assert response.status_code in (408, 504)
    assert "timed out" in response.json()["error"]["message"]
