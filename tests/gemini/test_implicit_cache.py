"""Implicit context caching from ``cache_control`` markers (LiteLLM's convention) on Gemini.

The marked prefix (with the system instruction and tools, which Vertex refuses next to a cache)
becomes a ``cachedContents`` resource, keyed by its content so a repeated call reuses it; the
request carries the rest and ``cachedContent``. Shapes: aiplatform v1 CachedContent and
GenerateContentRequest.cachedContent (validated by the emulator against the discovery document).
"""

from __future__ import annotations

from typing import Any

import engine
from engine import api
from tests.conformance import assert_chat_completion, assert_valid_request
from tests.gemini.helpers import WEATHER_TOOL

MODEL = "gemini-2.5-flash"
LONG = "You are a patent lawyer. " * 40
MARKED = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]},
    {"role": "assistant", "content": "Understood."},
]


def _calls(emulator: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    log = emulator.requests()
    created = [r for r in log if r["path"].endswith("/cachedContents") and r["method"] == "POST"]
    generated = [r for r in log if r["path"].endswith(":generateContent")]
    return created, generated


def test_marked_prefix_is_cached_once_and_reused(emulator: Any, vx: dict[str, Any]) -> None:
    api._PREFIX_CACHES.clear()
    for question in ("Is this patentable?", "And in Europe?"):
        resp = engine.completion(
            model=f"vertex_ai/{MODEL}",
            messages=[*MARKED, {"role": "user", "content": question}],
            tools=[WEATHER_TOOL],
            **vx,
        )
        assert_chat_completion(resp)
    created, generated = _calls(emulator)
    assert len(created) == 1 and len(generated) == 2
    cache = created[0]["body"]
    assert cache["systemInstruction"] == {"parts": [{"text": "Answer briefly."}]}
    assert cache["contents"][0]["parts"] == [{"text": LONG}]
    assert cache["tools"][0]["functionDeclarations"][0]["name"] == "get_current_weather"
    assert cache["displayName"].startswith("vertexlate-")
    for request in generated:
        body = request["body"]
        assert_valid_request(body)
        assert body["cachedContent"].startswith("projects/") and "/cachedContents/" in body["cachedContent"]
        assert "systemInstruction" not in body and "tools" not in body
        assert [c["role"] for c in body["contents"]] == ["model", "user"]  # what follows the cached prefix
    assert generated[0]["body"]["cachedContent"] == generated[1]["body"]["cachedContent"]


async def test_async_and_a_different_prefix_gets_its_own_cache(emulator: Any, vx: dict[str, Any]) -> None:
    api._PREFIX_CACHES.clear()
    other = [
        {
            **MARKED[1],
            "content": [
                {"type": "text", "text": LONG + " Also tax law.", "cache_control": {"type": "ephemeral"}}
            ],
        }
    ]
    for prefix in (MARKED[1:2], other, MARKED[1:2]):
        resp = await engine.acompletion(
            model=f"vertex_ai/{MODEL}",
            messages=[*prefix, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "go"}],
            **vx,
        )
        assert resp.usage.prompt_tokens_details.cached_tokens > 0
    created, _ = _calls(emulator)
    assert len(created) == 2


def test_refused_cache_falls_back_to_the_whole_prompt(emulator: Any, vx: dict[str, Any]) -> None:
    api._PREFIX_CACHES.clear()
    emulator.script(
        "cachedContents",
        [
            {
                "status": 400,
                "message": "The cached content is of 12 tokens. The minimum token count to start caching is 1024.",
            }
        ],
    )
    emulator.script(MODEL, [])
    resp = engine.completion(
        model=f"vertex_ai/{MODEL}", messages=[*MARKED, {"role": "user", "content": "hi"}], **vx
    )
    assert_chat_completion(resp)
    (request,) = _calls(emulator)[1]
    assert "cachedContent" not in request["body"] and request["body"]["systemInstruction"]
    assert len(request["body"]["contents"]) == 3


def test_no_markers_or_an_explicit_cache_change_nothing(emulator: Any, vx: dict[str, Any]) -> None:
    engine.completion(model=f"vertex_ai/{MODEL}", messages=[{"role": "user", "content": "hi"}], **vx)
    assert _calls(emulator)[0] == []


def test_other_request_fields_survive_the_split_and_the_fallback(emulator: Any, vx: dict[str, Any]) -> None:
    api._PREFIX_CACHES.clear()
    image = {"type": "image_url", "image_url": {"url": "gs://b/a.png", "detail": "high"}}
    messages = [*MARKED, {"role": "user", "content": [{"type": "text", "text": "and this?"}, image]}]
    engine.completion(model=f"vertex_ai/{MODEL}", messages=messages, temperature=0.1, **vx)
    (request,) = _calls(emulator)[1]
    assert request["body"]["generationConfig"] == {
        "temperature": 0.1,
        "mediaResolution": "MEDIA_RESOLUTION_HIGH",
    }
    emulator.reset()
    api._PREFIX_CACHES.clear()
    emulator.script("cachedContents", [{"status": 400, "message": "too small to cache"}])
    engine.completion(model=f"vertex_ai/{MODEL}", messages=messages, temperature=0.1, **vx)
    (request,) = _calls(emulator)[1]
    assert request["body"]["generationConfig"] == {
        "temperature": 0.1,
        "mediaResolution": "MEDIA_RESOLUTION_HIGH",
    }
    assert "cachedContent" not in request["body"] and len(request["body"]["contents"]) == 3
