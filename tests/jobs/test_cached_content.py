"""Context caching: cachedContents built from OpenAI messages, used by completion(cached_content=...)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import engine
from tests.conformance import assert_chat_completion, assert_valid_request
from tests.jobs.helpers import last_request

MESSAGES = [
    {"role": "system", "content": "You are an expert researcher. Answer from the document."},
    {"role": "user", "content": [{"type": "text", "text": "Here is a long document. " * 50}]},
]
MODEL_PATH = "projects/emulator-project/locations/us-central1/publishers/google/models/gemini-2.5-flash"


def create(vx: dict[str, Any], **extra: Any) -> Any:
    return engine.create_cached_content(
        model="vertex_ai/gemini-2.5-flash", messages=MESSAGES, ttl="600s", **vx, **extra
    )


def test_create_sends_a_valid_cached_content(vx: dict[str, Any], emulator: Any) -> None:
    cache = create(vx, display_name="research-doc")

    sent = last_request(emulator, "POST", "/cachedContents")["body"]
    assert_valid_request(sent, schema="GoogleCloudAiplatformV1CachedContent")
    assert sent["model"] == MODEL_PATH
    assert sent["systemInstruction"]["parts"] == [{"text": MESSAGES[0]["content"]}]
    assert (
        sent["contents"][0]["role"] == "user"
        and sent["ttl"] == "600s"
        and sent["displayName"] == "research-doc"
    )

    assert cache.id.startswith("projects/emulator-project/locations/us-central1/cachedContents/")
    assert (cache.object, cache.model, cache.display_name) == ("cached_content", MODEL_PATH, "research-doc")
    assert cache.expires_at - cache.created_at in (599, 600, 601)
    assert cache.usage["total_tokens"] > 0


def test_completion_passes_the_cache_to_generate_content(vx: dict[str, Any], emulator: Any) -> None:
    cache = create(vx)
    emulator.script("gemini-2.5-flash", [{"text": "The document says hello."}])
    resp = engine.completion(
        model="vertex_ai/gemini-2.5-flash",
        messages=[{"role": "user", "content": "What does the document say?"}],
        cached_content=cache.id,
        **vx,
    )
    assert_chat_completion(resp)
    sent = last_request(emulator, "POST", ":generateContent")["body"]
    assert_valid_request(sent)
    assert sent["cachedContent"] == cache.id


def test_retrieve_list_and_delete(vx: dict[str, Any], emulator: Any) -> None:
    cache = create(vx)
    short_id = cache.id.rsplit("/", 1)[1]
    assert engine.retrieve_cached_content(cached_content_id=cache.id, **vx).id == cache.id
    assert engine.retrieve_cached_content(cached_content_id=short_id, **vx).id == cache.id
    assert [c["id"] for c in engine.list_cached_contents(**vx).data] == [cache.id]

    deleted = engine.delete_cached_content(cached_content_id=cache.id, **vx)
    assert (deleted.id, deleted.object, deleted.deleted) == (cache.id, "cached_content.deleted", True)
    delete = last_request(emulator, "DELETE", "/cachedContents/")
    assert delete["path"].endswith(f"/cachedContents/{short_id}") and delete["body"] is None
    with pytest.raises(engine.NotFoundError):
        engine.retrieve_cached_content(cached_content_id=cache.id, **vx)
    assert engine.list_cached_contents(**vx).data == []


def test_tools_are_cached_in_gemini_form(vx: dict[str, Any], emulator: Any) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a term up.",
            "parameters": {"type": "object", "properties": {"term": {"type": "string"}}},
        },
    }
    create(vx, tools=[tool])
    sent = last_request(emulator, "POST", "/cachedContents")["body"]
    assert_valid_request(sent, schema="GoogleCloudAiplatformV1CachedContent")
    assert sent["tools"][0]["functionDeclarations"][0]["name"] == "lookup"


def test_messages_are_required(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="messages"):
        engine.create_cached_content(model="vertex_ai/gemini-2.5-flash", ttl="600s", **vx)


def test_async_create_and_delete(vx: dict[str, Any]) -> None:
    async def main() -> Any:
        cache = await engine.acreate_cached_content(model="gemini-2.5-flash", messages=MESSAGES, **vx)
        return await engine.adelete_cached_content(cached_content_id=cache.id, **vx)

    assert asyncio.run(main()).deleted is True
