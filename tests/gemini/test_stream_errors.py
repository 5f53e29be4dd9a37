"""An error event inside a 200 stream raises the typed error; it never looks like a complete answer.

Vertex ends a failing ``streamGenerateContent?alt=sse`` with Google's error body as an event
(``data: {"error": {"code", "message", "status"}}``). Golden: the published stream
(gemini/generate_content_stream.json) cut after its first event and followed by Google's
published error payload (errors/400_invalid_argument.json). End to end: the emulator's
``stream_error`` fault, sync and async, Gemini and Claude.
"""

from __future__ import annotations

from typing import Any

import pytest

import engine
from engine.api import prepare, stream_error
from tests.fixtures.load import load
from tests.gemini.helpers import BASE

HI = [{"role": "user", "content": "hi"}]


def test_golden_error_event_is_the_typed_error() -> None:
    call = prepare("chat", {"model": "vertex_ai/gemini-2.5-flash", "messages": HI, "stream": True, **BASE})
    error = stream_error(call, load("errors/400_invalid_argument.json")["body"])
    assert isinstance(error, engine.BadRequestError)
    assert error.status_code == 400 and "API key not valid" in str(error)


def test_golden_stream_then_error_raises_after_the_text(emulator: Any, vx: dict[str, Any]) -> None:
    events = load("gemini/generate_content_stream.json")["events"][:1]
    error = load("errors/400_invalid_argument.json")["body"]
    emulator.script("gemini-2.5-flash", [{"stream_events": [*events, error]}])
    received = []
    with pytest.raises(engine.BadRequestError, match="API key not valid"):
        for chunk in engine.completion(model="vertex_ai/gemini-2.5-flash", messages=HI, stream=True, **vx):
            received.append(chunk)
    assert received[0].choices[0].delta.content == "Okay"
    assert all(c.choices[0].finish_reason is None for c in received if c.choices)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, engine.RateLimitError), (503, engine.ServiceUnavailableError), (500, engine.InternalServerError)],
)
def test_emulated_mid_stream_error_sync(emulator: Any, vx: dict[str, Any], status: int, kind: type) -> None:
    emulator.script(
        "gemini-2.5-flash",
        [{"text": "a long answer in pieces", "stream_error": {"after": 1, "status": status}}],
    )
    stream = engine.completion(model="vertex_ai/gemini-2.5-flash", messages=HI, stream=True, **vx)
    first = next(stream)
    assert first.choices[0].delta.content
    with pytest.raises(kind) as info:
        list(stream)
    assert info.value.status_code == status and info.value.model == "gemini-2.5-flash"


async def test_emulated_mid_stream_error_async(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(
        "gemini-2.5-flash",
        [{"text": "a long answer", "stream_error": {"after": 1, "status": 429, "message": "Quota exceeded"}}],
    )
    stream = await engine.acompletion(model="vertex_ai/gemini-2.5-flash", messages=HI, stream=True, **vx)
    received = []
    with pytest.raises(engine.RateLimitError, match="Quota exceeded"):
        async for chunk in stream:
            received.append(chunk)
    assert received and received[0].choices[0].delta.content


def test_error_as_the_first_event(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script("gemini-2.5-flash", [{"stream_error": {"after": 0, "status": 503}}])
    with pytest.raises(engine.ServiceUnavailableError):
        list(engine.completion(model="vertex_ai/gemini-2.5-flash", messages=HI, stream=True, **vx))


@pytest.mark.parametrize(
    ("status", "kind"), [(529, engine.ServiceUnavailableError), (429, engine.RateLimitError)]
)
async def test_claude_error_event_status_from_its_type(
    emulator: Any, vx: dict[str, Any], status: int, kind: type
) -> None:
    model = "claude-sonnet-4@20250514"
    emulator.script(model, [{"stream_error": {"after": 3, "status": status, "message": "Overloaded"}}])
    stream = await engine.acompletion(model=f"vertex_ai/{model}", messages=HI, stream=True, **vx)
    with pytest.raises(kind) as info:
        [c async for c in stream]
    assert info.value.status_code == status


@pytest.mark.parametrize("model", ["meta/llama3-405b-instruct-maas", "mistral-large@2407"])
async def test_openai_compatible_partner_error_event(emulator: Any, vx: dict[str, Any], model: str) -> None:
    emulator.script(model, [{"text": "one two three four", "stream_error": {"after": 1, "status": 429}}])
    stream = await engine.acompletion(model=f"vertex_ai/{model}", messages=HI, stream=True, **vx)
    with pytest.raises(engine.RateLimitError):
        [c async for c in stream]
