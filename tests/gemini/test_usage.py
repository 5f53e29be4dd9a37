"""Usage: completion tokens never exceed total − prompt; reasoning, cached and per-modality counts.

Golden: the published thinking replies (gemini/generate_content_thinking.json, the
thinking stream) and the implicit-caching reply (gemini/generate_content_cached_tokens.json).
"""

from __future__ import annotations

import copy
from typing import Any

import engine
from tests.conformance import assert_chat_chunk, assert_chat_completion
from tests.fixtures.load import load
from tests.gemini.helpers import normalize, stream


def test_thoughts_are_added_when_candidates_exclude_them() -> None:
    data = load("gemini/generate_content_thinking.json")["body"]  # 13 + 2 + 39 == 54
    usage = normalize(data).usage.model_dump()
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (13, 41, 54)
    assert usage["completion_tokens"] <= usage["total_tokens"] - usage["prompt_tokens"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 39
    assert usage["prompt_tokens_details"]["text_tokens"] == 13
    assert usage["completion_tokens_details"]["text_tokens"] == 2


def test_thoughts_are_not_counted_twice_when_candidates_include_them() -> None:
    data = copy.deepcopy(load("gemini/generate_content_thinking.json")["body"])
    meta = data["usageMetadata"]
    meta["candidatesTokenCount"] = (
        41  # this reply's counts as a model reports them when candidates hold thoughts
    )
    usage = normalize(data).usage
    assert meta["promptTokenCount"] + meta["candidatesTokenCount"] == meta["totalTokenCount"]
    assert usage.completion_tokens == 41 == usage.total_tokens - usage.prompt_tokens
    assert usage.completion_tokens_details.reasoning_tokens == 39


def test_cached_tokens_and_modalities() -> None:
    data = load("gemini/generate_content_cached_tokens.json")["body"]
    usage = normalize(data).usage.model_dump()
    assert usage["prompt_tokens_details"]["cached_tokens"] == 11243
    assert usage["prompt_tokens_details"]["text_tokens"] == 12013
    assert usage["completion_tokens"] == 15 + 73 == usage["total_tokens"] - usage["prompt_tokens"]


def test_final_stream_chunk_has_the_same_usage() -> None:
    events = load("gemini/generate_content_stream_thinking.json")["events"]
    chunks, _ = stream(events, include_usage=True)
    usage = chunks[-1]["usage"]
    assert usage["completion_tokens"] == 134 + 1067 == usage["total_tokens"] - usage["prompt_tokens"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 1067
    assert usage["prompt_tokens_details"]["text_tokens"] == 9


def test_audio_and_image_modalities_end_to_end(emulator: Any, vx: dict[str, Any]) -> None:
    audio = {"modality": "AUDIO", "tokenCount": 25}
    emulator.script(
        "gemini-2.5-flash",
        [
            {
                "json": {
                    "candidates": [
                        {"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}
                    ],
                    "usageMetadata": {
                        "promptTokenCount": 300,
                        "candidatesTokenCount": 1,
                        "totalTokenCount": 301,
                        "promptTokensDetails": [
                            {"modality": "IMAGE", "tokenCount": 258},
                            {"modality": "TEXT", "tokenCount": 17},
                            audio,
                        ],
                    },
                }
            }
        ],
    )
    resp = engine.completion(
        model="vertex_ai/gemini-2.5-flash", messages=[{"role": "user", "content": "x"}], **vx
    )
    assert_chat_completion(resp)
    details = resp.usage.prompt_tokens_details.model_dump()
    assert (details["image_tokens"], details["text_tokens"], details["audio_tokens"]) == (258, 17, 25)


async def test_async_stream_usage_end_to_end(emulator: Any, vx: dict[str, Any]) -> None:
    stream_ = await engine.acompletion(
        model="vertex_ai/gemini-2.5-flash",
        messages=[{"role": "user", "content": "hello there"}],
        reasoning_effort="low",
        stream=True,
        stream_options={"include_usage": True},
        **vx,
    )
    chunks = [c async for c in stream_]
    for chunk in chunks:
        assert_chat_chunk(chunk)
    usage = chunks[-1].usage
    assert usage.completion_tokens == usage.total_tokens - usage.prompt_tokens
    assert usage.completion_tokens_details.reasoning_tokens > 0
    assert usage.prompt_tokens_details.text_tokens == usage.prompt_tokens
