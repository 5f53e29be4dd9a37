"""The proxy's stream on the wire: raw SSE bytes, read without an SDK that would forgive a missing end.

OpenAI's streaming format ends every stream with ``data: [DONE]``
(https://platform.openai.com/docs/api-reference/chat/streaming); clients such as LiteLLM's and
older OpenAI SDKs wait for it, so a stream without it hangs them.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from engine.proxy.server import BackgroundProxy
from tests.proxy.conftest import MASTER_KEY

HELLO = [{"role": "user", "content": "Hello"}]


def _events(raw: bytes) -> list[str]:
    """The ``data:`` payloads of an SSE body, in order (every event is a ``data:`` line and a blank line)."""
    text = raw.decode()
    assert text.endswith("\n\n"), "the stream must end at an event boundary"
    events = [block for block in text.split("\n\n") if block.strip()]
    assert all(block.startswith("data: ") for block in events), events[:3]
    return [block.removeprefix("data: ") for block in events]


def test_stream_ends_with_done_on_the_wire(standard: BackgroundProxy, emulator: Any) -> None:
    emulator.script("gemini-2.5-flash", [{"text": "Hello there, friend"}])
    with httpx.stream(
        "POST",
        f"{standard.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        json={"model": "gemini-flash", "messages": HELLO, "stream": True},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read()
    events = _events(raw)
    assert events[-1] == "[DONE]"
    assert events.count("[DONE]") == 1
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == (
        "Hello there, friend"
    )
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
