"""logprobs: ``logprobs=True, top_logprobs=N`` → ``responseLogprobs``/``logprobs``; ``logprobsResult`` →
OpenAI's ``choices[].logprobs.content`` (unary and streamed, sync and async).

No recorded Vertex reply with ``logprobsResult`` was found (tests/fixtures/SOURCES.md); the
reply below follows the documented response shape (Vertex AI inference reference,
``candidates[].logprobsResult.{topCandidates[].candidates[], chosenCandidates[]}`` with
``token``/``logProbability``), and the emulator produces the same shape end to end.
"""

from __future__ import annotations

from typing import Any

import engine
from tests.conformance import assert_chat_chunk, assert_chat_completion
from tests.gemini.helpers import body, normalize, stream

HI = [{"role": "user", "content": "hello there friend"}]
REPLY = {
    "candidates": [
        {
            "content": {"role": "model", "parts": [{"text": "Hi there"}]},
            "finishReason": "STOP",
            "avgLogprobs": -0.3,
            "logprobsResult": {
                "topCandidates": [
                    {
                        "candidates": [
                            {"token": "Hi", "logProbability": -0.1},
                            {"token": "Hello", "logProbability": -2.5},
                        ]
                    },
                    {"candidates": [{"token": " there", "logProbability": -0.5}]},
                ],
                "chosenCandidates": [
                    {"token": "Hi", "logProbability": -0.1},
                    {"token": " there", "logProbability": -0.5},
                ],
            },
        }
    ],
    "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5},
}


def test_request_fields() -> None:
    config = body(logprobs=True, top_logprobs=3)["generationConfig"]
    assert config == {"responseLogprobs": True, "logprobs": 3}
    assert body(logprobs=True, top_logprobs=0)["generationConfig"] == {"responseLogprobs": True}


def test_unary_logprobs_shape() -> None:
    resp = normalize(REPLY)
    content = resp.model_dump()["choices"][0]["logprobs"]["content"]
    assert [(c["token"], c["logprob"]) for c in content] == [("Hi", -0.1), (" there", -0.5)]
    assert content[0]["bytes"] == list(b"Hi")
    assert [t["token"] for t in content[0]["top_logprobs"]] == ["Hi", "Hello"]
    assert resp._hidden_params["avg_logprobs"] == [-0.3]


def test_no_logprobs_stays_null() -> None:
    plain = {"candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]}, "finishReason": "STOP"}]}
    assert normalize(plain).choices[0].logprobs is None


def test_streamed_chunks_carry_their_logprobs() -> None:
    first = {"candidates": [{**REPLY["candidates"][0], "finishReason": None}]}
    del first["candidates"][0]["finishReason"]
    chunks, _ = stream([first, {"candidates": [{"finishReason": "STOP"}]}])
    assert chunks[0]["choices"][0]["logprobs"]["content"][1]["token"] == " there"


def test_end_to_end_sync(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.completion(
        model="vertex_ai/gemini-2.5-flash", messages=HI, logprobs=True, top_logprobs=2, **vx
    )
    assert_chat_completion(resp)
    content = resp.choices[0].logprobs.content
    assert "".join(t.token for t in content) == resp.choices[0].message.content
    assert all(len(t.top_logprobs) == 2 and t.top_logprobs[0].token == t.token for t in content)


async def test_end_to_end_async_stream(emulator: Any, vx: dict[str, Any]) -> None:
    chunks = [
        c
        async for c in await engine.acompletion(
            model="vertex_ai/gemini-2.5-flash", messages=HI, logprobs=True, stream=True, **vx
        )
    ]
    for chunk in chunks:
        assert_chat_chunk(chunk)
    tokens = [
        t.token for c in chunks if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content
    ]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert tokens and "".join(tokens) == text
