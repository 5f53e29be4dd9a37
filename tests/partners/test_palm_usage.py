"""Usage of PaLM :predict replies comes from ``metadata.tokenMetadata`` (specs/palm.yaml).

The emulator reports token counts the way Google's legacy PaLM API does (shape of the
recorded chat-bison reply in tests/fixtures/partners/palm_chat_bison.json); its tokens are
words and punctuation marks (engine/emulator/text.py), so the expected counts below can be
worked out by hand from the prompt and the echoed answer.
"""

from __future__ import annotations

from typing import Any

import engine
from tests.conformance import assert_chat_completion, assert_completion

QUESTION = "How many planets are there in the solar system?"  # 9 words + "?" = 10 tokens
ASTRONOMER = "You are an astronomer."  # 4 words + "." = 5 tokens


def test_chat_bison_usage_is_the_emulators_token_count(emulator: Any, vx: dict[str, Any]) -> None:
    messages = [{"role": "system", "content": ASTRONOMER}, {"role": "user", "content": QUESTION}]
    resp = engine.completion(model="vertex_ai/chat-bison", messages=messages, **vx)
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == "Echo: " + QUESTION
    # In: the context (5) and the question (10); out: "Echo" ":" and the question (12).
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (15, 12, 27)
    token_metadata = resp._hidden_params["token_metadata"]
    assert token_metadata["inputTokenCount"]["totalTokens"] == 15
    assert token_metadata["outputTokenCount"] == {
        "totalTokens": 12,
        "totalBillableCharacters": len(("Echo: " + QUESTION).replace(" ", "")),
    }


def test_text_bison_text_completion_usage(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.text_completion(model="vertex_ai/text-bison", prompt=QUESTION, **vx)
    assert_completion(resp)
    assert resp.choices[0].text == "Echo: " + QUESTION
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (10, 12, 22)
    assert resp._hidden_params["token_metadata"]["inputTokenCount"] == {
        "totalTokens": 10,
        "totalBillableCharacters": len(QUESTION.replace(" ", "")),
    }


def test_code_gecko_counts_prefix_and_suffix(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.text_completion(
        model="vertex_ai/code-gecko@001", prompt="def add(a, b):", suffix="return c", **vx
    )
    # "def add ( a , b ) :" is 8 tokens, "return c" 2; the answer echoes the prefix after "Echo:".
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (10, 10)
