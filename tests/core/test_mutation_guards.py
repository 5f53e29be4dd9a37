"""Tests that fail on the one-line mutants issue 20 found surviving the suite.

Each test names the mutant it kills: a spec table value swapped, a bound moved by one,
``Retry-After`` ignored. Bounds are read from the registry (the spec), so a change in the
catalogue does not need a change here, but a change in how bounds are applied fails.
"""

from __future__ import annotations

from typing import Any

import pytest

import engine
from engine import transport
from engine.errors import BadRequestError, RateLimitError
from engine.registry import default_registry

GEMINI = "vertex_ai/gemini-2.5-flash"
CLAUDE = "vertex_ai/claude-sonnet-4@20250514"
HELLO = [{"role": "user", "content": "Hello"}]


# --------------------------------------------------------------------------- finish reasons


@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
def test_truncated_answer_finishes_with_length(vx: dict[str, Any], emulator: Any, model: str) -> None:
    """Gemini ``MAX_TOKENS`` and Anthropic ``max_tokens`` both map to OpenAI's ``length``."""
    emulator.script(
        model.removeprefix("vertex_ai/"), [{"text": "cut off here", "finish_reason": "MAX_TOKENS"}]
    )
    reply = engine.completion(model=model, messages=HELLO, **vx)
    assert reply.choices[0].finish_reason == "length"
    assert reply.choices[0].message.content == "cut off here"


@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
def test_truncated_stream_finishes_with_length(vx: dict[str, Any], emulator: Any, model: str) -> None:
    emulator.script(
        model.removeprefix("vertex_ai/"), [{"text": "cut off here", "finish_reason": "MAX_TOKENS"}]
    )
    chunks = list(engine.completion(model=model, messages=HELLO, stream=True, **vx))
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert reasons == ["length"]
    assert "".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices) == "cut off here"


@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
async def test_truncated_async_stream_finishes_with_length(
    vx: dict[str, Any], emulator: Any, model: str
) -> None:
    emulator.script(model.removeprefix("vertex_ai/"), [{"text": "cut", "finish_reason": "MAX_TOKENS"}])
    stream = await engine.acompletion(model=model, messages=HELLO, stream=True, **vx)
    reasons = [c.choices[0].finish_reason async for c in stream if c.choices and c.choices[0].finish_reason]
    assert reasons == ["length"]


def test_a_normal_end_still_finishes_with_stop(vx: dict[str, Any], emulator: Any) -> None:
    emulator.script("gemini-2.5-flash", [{"text": "done"}])
    assert engine.completion(model=GEMINI, messages=HELLO, **vx).choices[0].finish_reason == "stop"


# --------------------------------------------------------------------------- Retry-After spacing


def test_retry_after_sets_the_delay_exactly() -> None:
    """Vertex's ``Retry-After`` (seconds) is the delay, not the exponential backoff."""
    error = RateLimitError("quota", model="m")
    for seconds in ("0", "1", "7", "2.5"):
        step = transport.decide(429, error, {"retry-after": seconds}, 0, 3, False, True)
        assert step.error is None and step.delay == float(seconds)
    step = transport.decide(429, error, {"retry-after": "1000000"}, 0, 3, False, True)
    assert step.delay == transport.MAX_DELAY  # bounded, never an hour-long sleep
    backoff = transport.decide(429, error, {}, 2, 3, False, True).delay
    assert (
        backoff is not None and 0.75 * transport.BASE_DELAY * 4 <= backoff <= 1.25 * transport.BASE_DELAY * 4
    )


def test_the_sync_path_sleeps_what_retry_after_says(
    vx: dict[str, Any], emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: two 429s with ``Retry-After: 3`` then 5, then success; the sleeps are 3 s and 5 s."""
    slept: list[float] = []
    monkeypatch.setattr(transport.time, "sleep", slept.append)
    emulator.script(
        "gemini-2.5-flash",
        [{"status": 429, "retry_after": 3}, {"status": 429, "retry_after": 5}, {"text": "finally"}],
    )
    reply = engine.completion(model=GEMINI, messages=HELLO, num_retries=2, **vx)
    assert reply.choices[0].message.content == "finally"
    assert slept == [3.0, 5.0]


def test_no_retry_left_raises_the_rate_limit(
    vx: dict[str, Any], emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(transport.time, "sleep", slept.append)
    emulator.script(
        "gemini-2.5-flash", [{"status": 429, "retry_after": 4}, {"status": 429, "retry_after": 4}]
    )
    with pytest.raises(RateLimitError):
        engine.completion(model=GEMINI, messages=HELLO, num_retries=1, **vx)
    assert slept == [4.0]


# --------------------------------------------------------------------------- exact thinking bounds


def _budget_models() -> list[str]:
    reg = default_registry()
    names = []
    for name in ("gemini-2.5-flash", "gemini-2.5-pro"):
        caps = reg.resolve(f"vertex_ai/{name}", "chat").capabilities
        if caps.get("thinking") == "budget" and caps.get("thinking_budget_max") is not None:
            names.append(f"vertex_ai/{name}")
    return names


@pytest.mark.parametrize("model", _budget_models())
def test_thinking_budget_bounds_are_inclusive_and_exact(
    vx: dict[str, Any], emulator: Any, model: str
) -> None:
    caps = default_registry().resolve(model, "chat").capabilities
    low, high = caps["thinking_budget_min"], caps["thinking_budget_max"]
    name = model.removeprefix("vertex_ai/")
    for budget in (max(low, 1), high):  # both ends are accepted and sent as they are
        emulator.reset()
        emulator.script(name, [{"text": "ok"}])
        engine.completion(
            model=model, messages=HELLO, thinking={"type": "enabled", "budget_tokens": budget}, **vx
        )
        sent = [r for r in emulator.requests() if r["path"].endswith(":generateContent")][-1]["body"]
        assert sent["generationConfig"]["thinkingConfig"]["thinkingBudget"] == budget
    for budget in (high + 1, *([low - 1] if low > 1 else [])):  # one past either end is refused
        with pytest.raises(BadRequestError, match="budget"):
            engine.completion(
                model=model, messages=HELLO, thinking={"type": "enabled", "budget_tokens": budget}, **vx
            )
