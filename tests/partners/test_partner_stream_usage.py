"""Streamed usage for Mistral and AI21, which always send it on their last chunk.

Mistral's API rejects fields it does not define, so the engine sends no ``stream_options``;
the usage a caller asks for with ``stream_options={"include_usage": True}`` must then come
from the ``usage`` Mistral (and AI21) put on the final chunk unasked (Mistral's GCP client's
CompletionChunk example, mistralai/client-ts packages/mistralai-gcp/docs/models/components/
completionchunk.md; AI21's chat response reference, https://docs.ai21.com/reference/jamba-api-response).
"""

from __future__ import annotations

from typing import Any

import pytest

import engine
from tests.conformance import assert_chat_chunk

HI = [{"role": "user", "content": "Summer travel plan to Paris"}]


@pytest.mark.parametrize(
    ("model", "key"),
    [("mistral-large@2407", "mistral-large@2407"), ("jamba-1.5-mini@001", "jamba-1.5-mini@001")],
    ids=["mistral", "ai21"],
)
def test_stream_ends_with_the_usage_the_partner_sent(
    emulator: Any, vx: dict[str, Any], model: str, key: str
) -> None:
    unary = engine.completion(model=f"vertex_ai/{model}", messages=HI, **vx)
    chunks = list(
        engine.completion(
            model=f"vertex_ai/{model}", messages=HI, stream=True, stream_options={"include_usage": True}, **vx
        )
    )
    for chunk in chunks:
        assert_chat_chunk(chunk)
    last = chunks[-1]
    assert last.choices == [] and last.usage.prompt_tokens > 0 and last.usage.completion_tokens > 0
    # The emulator counts a streamed answer exactly as the same answer unstreamed.
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (
        unary.usage.prompt_tokens,
        unary.usage.completion_tokens,
        unary.usage.total_tokens,
    )
    _, streamed = emulator.requests(key)
    assert "stream_options" not in streamed["body"], "usage must arrive without being asked for"
