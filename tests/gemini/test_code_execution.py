"""Code execution and OpenAI's hosted tools.

Golden: Google's recorded replies with ``executableCode``/``codeExecutionResult`` parts
(gemini/generate_content_code_execution.json, gemini/generate_content_stream_code_execution.json).
The parts are surfaced as LiteLLM does: in the content, as fenced ```python / ```output blocks.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

import engine
from engine.errors import BadRequestError
from engine.registry import default_registry
from engine.request import RequestContext
from engine.transforms.gemini_tools import gemini_tools
from tests.conformance import assert_chat_chunk, assert_chat_completion
from tests.fixtures.load import load
from tests.gemini.helpers import WEATHER_TOOL, body, normalize, stream

CODE = "prime_numbers = [2, 3, 5, 7, 11]\nsum_of_primes = sum(prime_numbers)\nprint(f'{sum_of_primes=}')\n"


def test_unary_code_parts_in_the_content() -> None:
    data = load("gemini/generate_content_code_execution.json")["body"]
    message = normalize(data).choices[0].message
    assert message.content == (
        f"\n```python\n{CODE}\n```\n\n```output\nsum_of_primes=28\n\n```\n"
        "The first 5 prime numbers are 2, 3, 5, 7, and 11.\nThe sum of these numbers is:\n2 + 3 + 5 + 7 + 11 = 28"
    )


def test_unary_usage_counts_tool_use_prompt_tokens() -> None:
    usage = normalize(load("gemini/generate_content_code_execution.json")["body"]).usage
    assert usage.prompt_tokens == 21 and usage.total_tokens == 363
    assert usage.completion_tokens == 96 + 86  # total − prompt − toolUsePrompt
    assert usage.tool_use_prompt_tokens == 160


def test_streamed_code_parts_are_content_deltas() -> None:
    events = load("gemini/generate_content_stream_code_execution.json")["events"]
    chunks, _ = stream(events, include_usage=True)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "\n```python\nprime_numbers = [2, 3, 5, 7, 11]\n" in text
    assert "\n```output\nThe sum of the first 5 prime numbers is: 28\n\n```\n" in text
    assert text.endswith("1) is 28.")
    assert chunks[-1]["usage"]["completion_tokens"] == 192 + 192


def test_code_execution_tool_in_the_request() -> None:
    assert body(tools=[{"codeExecution": {}}])["tools"] == [{"codeExecution": {}}]
    assert body(tools=[{"type": "code_interpreter"}])["tools"] == [{"codeExecution": {}}]


def test_code_execution_beside_functions_where_the_spec_allows_it() -> None:
    resolved = default_registry().resolve("gemini-2.5-flash", "chat")
    strict = RequestContext(resolved, "chat", {})
    with pytest.raises(BadRequestError, match="cannot combine function tools"):
        gemini_tools([WEATHER_TOOL, {"codeExecution": {}}], strict)
    caps = {**resolved.capabilities, "mixed_tools": ["codeExecution"]}  # a spec listing the allowed built-ins
    allowed = SimpleNamespace(model="gemini-x", capabilities=caps, body={})
    tools = gemini_tools([WEATHER_TOOL, {"codeExecution": {}}], allowed)["tools"]
    assert tools[1] == {"codeExecution": {}}
    with pytest.raises(BadRequestError, match="googleSearch"):
        gemini_tools([WEATHER_TOOL, {"googleSearch": {}}], allowed)


@pytest.mark.parametrize("tool", [{"type": "web_search"}, {"type": "web_search_preview"}])
def test_openai_web_search_tools_become_google_search(tool: dict[str, Any]) -> None:
    assert body(tools=[tool])["tools"] == [{"googleSearch": {}}]


def test_web_search_options_warn_about_options_without_equivalent(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="vertexlate"):
        got = body(web_search_options={"search_context_size": "high"})
    assert got["tools"] == [{"googleSearch": {}}]
    assert "search_context_size" in caplog.text


def test_end_to_end_sync(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(
        "gemini-2.5-flash",
        [{"code_execution": [{"code": "print(2 + 2)", "output": "4\n"}], "text": "The answer is 4."}],
    )
    resp = engine.completion(
        model="vertex_ai/gemini-2.5-flash",
        messages=[{"role": "user", "content": "What is 2 + 2? Use code."}],
        tools=[{"codeExecution": {}}],
        **vx,
    )
    assert_chat_completion(resp)
    assert (
        resp.choices[0].message.content
        == "\n```python\nprint(2 + 2)\n```\n\n```output\n4\n\n```\nThe answer is 4."
    )


async def test_end_to_end_async_stream(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(
        "gemini-2.5-flash", [{"code_execution": [{"code": "print(1)", "output": "1\n"}], "text": "One."}]
    )
    stream_ = await engine.acompletion(
        model="vertex_ai/gemini-2.5-flash",
        messages=[{"role": "user", "content": "run it"}],
        tools=[{"type": "web_search"}, {"codeExecution": {}}],
        stream=True,
        **vx,
    )
    chunks = [c async for c in stream_]
    for chunk in chunks:
        assert_chat_chunk(chunk)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "\n```python\nprint(1)\n```\n\n```output\n1\n\n```\nOne."
    (logged,) = emulator.requests("gemini-2.5-flash")
    assert logged["body"]["tools"] == [{"googleSearch": {}}, {"codeExecution": {}}]
