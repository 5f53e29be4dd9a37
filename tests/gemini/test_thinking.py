"""Thinking: ``reasoning_effort``/``thinking`` → ``thinkingConfig`` by the spec's capability tables, and replies.

Budgets and levels follow Vertex AI's thinking docs (Gemini 2.5: thinkingBudget, Flash models
may use 0 to turn thinking off; Gemini 3: thinkingLevel), as recorded in specs/gemini.yaml.
Every request body is validated against the discovery document (ThinkingConfig).
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import BadRequestError, UnsupportedParamsError
from tests.fixtures.load import load
from tests.gemini.helpers import body, normalize, stream


def thinking_config(model: str, **kwargs: Any) -> dict[str, Any]:
    return body(model, **kwargs)["generationConfig"]["thinkingConfig"]


@pytest.mark.parametrize(
    ("effort", "config"),
    [
        ("low", {"thinkingBudget": 1024, "includeThoughts": True}),
        ("medium", {"thinkingBudget": 2048, "includeThoughts": True}),
        ("high", {"thinkingBudget": 4096, "includeThoughts": True}),
        ("minimal", {"thinkingBudget": 1, "includeThoughts": True}),
        ("none", {"thinkingBudget": 0}),
        ("disable", {"thinkingBudget": 0}),
    ],
)
def test_reasoning_effort_on_a_budget_model(effort: str, config: dict[str, Any]) -> None:
    assert thinking_config("gemini-2.5-flash", reasoning_effort=effort) == config


def test_seed_reasoning_effort_example() -> None:
    """The seed: gemini-2.5-flash-preview-04-17 with reasoning_effort='low' → budget 1024."""
    got = body(
        "gemini-2.5-flash-preview-04-17",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        reasoning_effort="low",
    )
    assert got == {
        "contents": [{"role": "user", "parts": [{"text": "What is the capital of France?"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}},
    }


@pytest.mark.parametrize(("model", "budget"), [("gemini-2.5-pro", 128), ("gemini-2.5-flash-lite", 512)])
def test_minimal_is_the_models_smallest_budget(model: str, budget: int) -> None:
    assert thinking_config(model, reasoning_effort="minimal") == {
        "thinkingBudget": budget,
        "includeThoughts": True,
    }


@pytest.mark.parametrize(
    ("model", "effort", "level"),
    [
        ("gemini-3-pro-preview", "low", "LOW"),
        ("gemini-3-pro-preview", "high", "HIGH"),
        ("gemini-3-flash-preview", "minimal", "MINIMAL"),
        ("gemini-3-flash-preview", "medium", "MEDIUM"),
    ],
)
def test_reasoning_effort_on_a_level_model(model: str, effort: str, level: str) -> None:
    assert thinking_config(model, reasoning_effort=effort) == {
        "thinkingLevel": level,
        "includeThoughts": True,
    }


@pytest.mark.parametrize(
    ("model", "kwargs", "error", "needle"),
    [
        (
            "gemini-2.0-flash",
            {"reasoning_effort": "low"},
            UnsupportedParamsError,
            "does not support reasoning_effort='low' (thinking='none'); accepted: none, disable",
        ),
        ("gemini-2.5-flash", {"reasoning_effort": "extreme"}, BadRequestError, "no mapping for 'extreme'"),
        (
            "gemini-2.5-flash",
            {"thinking": {"type": "enabled", "budget_tokens": 50000}},
            BadRequestError,
            "outside [1, 24576]",
        ),
        (
            "gemini-2.5-pro",
            {"thinking": {"type": "enabled", "budget_tokens": 64}},
            BadRequestError,
            "outside [128, 32768]",
        ),
        ("gemini-2.5-pro", {"thinking": {"type": "disabled"}}, BadRequestError, "cannot turn thinking off"),
        (
            "gemini-2.5-flash",
            {"thinking": {"type": "sometimes"}},
            BadRequestError,
            "must be 'enabled' or 'disabled'",
        ),
        (
            "gemini-2.0-flash",
            {"thinking": {"type": "enabled", "budget_tokens": 1024}},
            UnsupportedParamsError,
            "has no thinking mode",
        ),
        (
            "gemini-2.5-flash",
            {"reasoning_effort": "low", "thinking": {"type": "disabled"}},
            BadRequestError,
            "thoughts cannot be included with a thinking budget of 0",
        ),
        (
            "gemini-3-pro-preview",
            {"reasoning_effort": "low", "thinking": {"type": "enabled", "budget_tokens": 2048}},
            BadRequestError,
            "a thinking level and a thinking budget contradict each other",
        ),
    ],
)
def test_out_of_bounds_and_contradictions_are_clear_errors(
    model: str, kwargs: dict[str, Any], error: type, needle: str
) -> None:
    with pytest.raises(error) as info:
        body(model, **kwargs)
    assert needle in info.value.message


def test_seed_thinking_parameter() -> None:
    """The seed: thinking={"type": "enabled", "budget_tokens": 1024} → thinkingConfig."""
    config = thinking_config(
        "gemini-2.5-flash-preview-04-17", thinking={"type": "enabled", "budget_tokens": 1024}
    )
    assert config == {"thinkingBudget": 1024, "includeThoughts": True}


def test_thinking_disabled_on_a_flash_model() -> None:
    assert thinking_config("gemini-2.5-flash", thinking={"type": "disabled"}) == {"thinkingBudget": 0}


def test_thought_parts_become_reasoning_content_never_content() -> None:
    data = load("gemini/generate_content_thinking.json")["body"]
    thought, answer = data["candidates"][0]["content"]["parts"]
    resp = normalize(data)
    message = resp.model_dump()["choices"][0]["message"]
    assert message["content"] == answer["text"] == "Mountain View"
    assert message["reasoning_content"] == thought["text"]
    assert message["thinking_blocks"] == [{"type": "thinking", "thinking": thought["text"]}]
    assert resp.usage.completion_tokens_details.reasoning_tokens == 39
    assert resp.usage.completion_tokens == 2 + 39


def test_streamed_thoughts_arrive_as_reasoning_content_deltas() -> None:
    fixture = load("gemini/generate_content_stream_thinking.json")
    chunks, _ = stream(fixture["events"], include_usage=True)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    thoughts = [e["candidates"][0]["content"]["parts"][0]["text"] for e in fixture["events"][:5]]
    answers = [e["candidates"][0]["content"]["parts"][0]["text"] for e in fixture["events"][5:]]
    assert [d.get("reasoning_content") for d in deltas[:5]] == thoughts
    assert [d.get("content") for d in deltas[5:]] == answers
    assert all("content" not in d for d in deltas[:5]) and all(
        "reasoning_content" not in d for d in deltas[5:]
    )
    assert chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] == 1067


def test_a_signature_on_the_answer_part_becomes_a_thinking_block() -> None:
    """Gemini 3 puts the signature on the first answer part when no function is called.

    The reply is the unary thinking fixture with a signature moved onto its answer part
    (as Google's thought-signature docs describe); the block then carries it back.
    """
    data = load("gemini/generate_content_thinking.json")["body"]
    data["candidates"][0]["content"]["parts"][1]["thoughtSignature"] = "c2lnbmF0dXJl"
    blocks = normalize(data).model_dump()["choices"][0]["message"]["thinking_blocks"]
    assert blocks == [
        {
            "type": "thinking",
            "thinking": data["candidates"][0]["content"]["parts"][0]["text"],
            "signature": "c2lnbmF0dXJl",
        }
    ]


@pytest.mark.parametrize(
    ("model", "effort", "config"),
    [
        # Cannot turn thinking off: the lowest setting, without thoughts.
        ("gemini-2.5-pro", "none", {"thinkingBudget": 128}),
        ("gemini-2.5-pro", "disable", {"thinkingBudget": 128}),
        ("gemini-3-pro-preview", "none", {"thinkingLevel": "LOW"}),
        ("gemini-3-flash-preview", "disable", {"thinkingLevel": "MINIMAL"}),
        # A level the model lacks: the nearest one it has (a tie goes up).
        ("gemini-3-pro-preview", "medium", {"thinkingLevel": "HIGH", "includeThoughts": True}),
        ("gemini-3-pro-preview", "minimal", {"thinkingLevel": "LOW", "includeThoughts": True}),
        ("gemini-2.5-flash-lite", "none", {"thinkingBudget": 0}),
    ],
)
def test_every_effort_maps_to_something_valid(model: str, effort: str, config: dict[str, Any]) -> None:
    assert thinking_config(model, reasoning_effort=effort) == config


@pytest.mark.parametrize("effort", ["none", "disable"])
def test_off_on_a_model_without_thinking_sends_nothing(effort: str) -> None:
    assert "generationConfig" not in body("gemini-2.0-flash", reasoning_effort=effort)


def test_off_on_a_model_without_thinking_is_droppable() -> None:
    assert "generationConfig" not in body("gemini-2.0-flash", reasoning_effort="high", drop_params=True)


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gemini-3-pro-preview", "gemini-2.5-pro"])
def test_agents_sdk_dict_form(model: str) -> None:
    assert thinking_config(model, reasoning_effort={"effort": "high"}) == thinking_config(
        model, reasoning_effort="high"
    )


def test_dict_form_with_other_keys_is_refused() -> None:
    with pytest.raises(BadRequestError, match="takes only the key 'effort'"):
        body("gemini-2.5-flash", reasoning_effort={"effort": "low", "summary": "auto"})


def test_budget_zero_turns_thinking_off_where_the_model_can() -> None:
    assert thinking_config("gemini-2.5-flash", thinking={"type": "enabled", "budget_tokens": 0}) == {
        "thinkingBudget": 0
    }
    with pytest.raises(BadRequestError, match="cannot turn thinking off"):
        body("gemini-2.5-pro", thinking={"type": "enabled", "budget_tokens": 0})


def test_budget_zero_end_to_end(emulator: Any, vx: dict[str, Any]) -> None:
    import engine

    resp = engine.completion(
        model="vertex_ai/gemini-2.5-flash",
        messages=[{"role": "user", "content": "hi"}],
        thinking={"type": "enabled", "budget_tokens": 0},
        **vx,
    )
    assert resp.choices[0].message.get("reasoning_content") is None
    (logged,) = emulator.requests("gemini-2.5-flash")
    assert logged["body"]["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0}
