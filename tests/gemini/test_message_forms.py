"""The message forms LiteLLM users send: legacy function calls, media in tool results,
a system-only conversation, an assistant turn with text and tool calls — Gemini and Claude.

Every Gemini body validates against the discovery document (helpers.body); the Claude
bodies are checked against Anthropic's request shape by the emulator, end to end.
"""

from __future__ import annotations

import base64
from typing import Any

import engine
from tests.conformance import assert_chat_completion, assert_valid_request
from tests.gemini.helpers import WEATHER_TOOL, body

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
IMAGE = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
ASK = {"role": "user", "content": "Weather in Boston?"}
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_current_weather", "arguments": '{"location": "Boston, MA"}'},
}
CLAUDE = "claude-sonnet-4@20250514"


def test_legacy_function_call_and_function_role() -> None:
    messages = [
        ASK,
        {"role": "assistant", "content": None, "function_call": CALL["function"]},
        {"role": "function", "name": "get_current_weather", "content": '{"temp": 20}'},
    ]
    contents = body(messages=messages, tools=[WEATHER_TOOL])["contents"]
    assert contents[1] == {
        "role": "model",
        "parts": [{"functionCall": {"name": "get_current_weather", "args": {"location": "Boston, MA"}}}],
    }
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "get_current_weather", "response": {"content": '{"temp": 20}'}}}
    ]


def test_assistant_with_text_and_tool_calls() -> None:
    messages = [
        ASK,
        {"role": "assistant", "content": "Let me check.", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    parts = body(messages=messages, tools=[WEATHER_TOOL])["contents"][1]["parts"]
    assert parts[0] == {"text": "Let me check."} and "functionCall" in parts[1]


def _with_image_result(model: str) -> dict[str, Any]:
    messages = [
        ASK,
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "radar:"}, IMAGE]},
    ]
    return body(model, messages=messages, tools=[WEATHER_TOOL])


def test_image_in_a_tool_result_goes_inside_the_function_response_on_gemini_3() -> None:
    (part,) = _with_image_result("gemini-3-pro-preview")["contents"][2]["parts"]
    assert part["functionResponse"]["response"] == {"content": "radar:"}
    assert part["functionResponse"]["parts"] == [{"inlineData": {"mimeType": "image/png", "data": PNG}}]


def test_image_in_a_tool_result_follows_the_response_on_older_models() -> None:
    parts = _with_image_result("gemini-2.5-flash")["contents"][2]["parts"]
    assert parts[0]["functionResponse"]["response"] == {"content": "radar:"}
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": PNG}}


def test_system_only_conversation_becomes_the_prompt() -> None:
    got = body(messages=[{"role": "system", "content": "Write a haiku about the sea."}])
    assert got == {"contents": [{"role": "user", "parts": [{"text": "Write a haiku about the sea."}]}]}


# --------------------------------------------------------------------------- end to end, Gemini and Claude


def test_gemini_system_only_end_to_end(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.completion(
        model="vertex_ai/gemini-2.5-flash", messages=[{"role": "system", "content": "ping"}], **vx
    )
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == "Echo: ping"


async def test_gemini_legacy_forms_end_to_end_async(emulator: Any, vx: dict[str, Any]) -> None:
    messages = [
        ASK,
        {"role": "assistant", "content": None, "function_call": CALL["function"]},
        {
            "role": "function",
            "name": "get_current_weather",
            "content": [{"type": "text", "text": "20C"}, IMAGE],
        },
    ]
    resp = await engine.acompletion(
        model="vertex_ai/gemini-2.5-flash", messages=messages, tools=[WEATHER_TOOL], **vx
    )
    assert_chat_completion(resp)
    (logged,) = emulator.requests("gemini-2.5-flash")
    assert_valid_request(logged["body"])
    assert "get_current_weather returned" in resp.choices[0].message.content


def test_claude_legacy_forms_and_image_tool_result(emulator: Any, vx: dict[str, Any]) -> None:
    messages = [
        ASK,
        {"role": "assistant", "content": "Checking.", "function_call": CALL["function"]},
        {
            "role": "function",
            "name": "get_current_weather",
            "content": [{"type": "text", "text": "20C"}, IMAGE],
        },
    ]
    resp = engine.completion(model=f"vertex_ai/{CLAUDE}", messages=messages, tools=[WEATHER_TOOL], **vx)
    assert_chat_completion(resp)
    sent = emulator.requests(CLAUDE)[0]["body"]["messages"]
    assistant, result = sent[1]["content"], sent[2]["content"][0]
    assert assistant[0] == {"type": "text", "text": "Checking."}
    assert assistant[1]["type"] == "tool_use" and assistant[1]["id"] == result["tool_use_id"]
    assert result["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
    }


def test_claude_system_only(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.completion(
        model=f"vertex_ai/{CLAUDE}", messages=[{"role": "system", "content": "ping"}], **vx
    )
    assert resp.choices[0].message.content == "Echo: ping"
    sent = emulator.requests(CLAUDE)[0]["body"]
    assert "system" not in sent and sent["messages"] == [{"role": "user", "content": "ping"}]
