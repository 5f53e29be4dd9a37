"""Token counting: ``engine.token_counter(model=..., messages=...)`` (LiteLLM's name) through Gemini
``:countTokens`` and Claude's count-tokens endpoint on Vertex, and the proxy's ``/utils/token_counter``.

Golden: Google's published countTokens reply (gemini/count_tokens.json). Request bodies are
validated against the discovery document (CountTokensRequest).
"""

from __future__ import annotations

from typing import Any

import pytest

import engine
from tests.conformance import assert_valid_request
from tests.fixtures.load import load

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why is the sky blue?"}]


def test_golden_count_reply(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("gemini/count_tokens.json")
    emulator.script("gemini-2.5-flash", [{"json": golden["body"]}])
    assert engine.token_counter(model="vertex_ai/gemini-2.5-flash", messages=CHAT, **vx) == 31
    emulator.script("gemini-2.5-flash", [{"json": golden["body"]}])
    full = engine.count_tokens(model="vertex_ai/gemini-2.5-flash", messages=CHAT, **vx)
    assert full["total_billable_characters"] == 96
    assert full["prompt_tokens_details"] == [{"modality": "TEXT", "tokenCount": 31}]
    for logged in emulator.requests("gemini-2.5-flash"):
        assert logged["path"].endswith("/publishers/google/models/gemini-2.5-flash:countTokens")
        assert_valid_request(logged["body"], schema="GoogleCloudAiplatformV1CountTokensRequest")
        assert logged["body"]["systemInstruction"] == {"parts": [{"text": "Be brief."}]}


async def test_async_with_tools_and_text(emulator: Any, vx: dict[str, Any]) -> None:
    tool = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}},
    }
    count = await engine.atoken_counter(
        model="vertex_ai/gemini-2.5-flash", text="hello there", tools=[tool], **vx
    )
    assert count == 2
    (logged,) = emulator.requests("gemini-2.5-flash")
    assert_valid_request(logged["body"], schema="GoogleCloudAiplatformV1CountTokensRequest")
    assert logged["body"]["tools"][0]["functionDeclarations"][0]["name"] == "f"


@pytest.mark.parametrize(
    ("model", "counted"),
    [
        ("claude-sonnet-4@20250514", "claude-sonnet-4@20250514"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5@20250929"),
    ],
)
def test_claude_count_tokens_endpoint(emulator: Any, vx: dict[str, Any], model: str, counted: str) -> None:
    assert (
        engine.token_counter(model=f"vertex_ai/{model}", messages=CHAT, **vx) == 9
    )  # the emulator counts words and punctuation
    (logged,) = emulator.requests("count-tokens")
    assert logged["path"].endswith("/publishers/anthropic/models/count-tokens:rawPredict")
    assert logged["body"]["model"] == counted
    assert logged["body"]["system"] == "Be brief." and "max_tokens" not in logged["body"]


def test_a_parameter_the_count_cannot_use_is_named(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.UnsupportedParamsError, match="temperature"):
        engine.token_counter(model="vertex_ai/gemini-2.5-flash", messages=CHAT, temperature=0.2, **vx)
