"""Anthropic's own Vertex client (``anthropic.AnthropicVertex``, 2.x) against the emulator over real HTTP.

No version override: the SDK sends its own ``anthropic_version`` (its API version, newer than
``vertex-2023-10-16``) and the emulator takes it, as Vertex does. Credentials are the emulator's
service account, refreshed through google-auth's real JWT flow (the ``credentials`` fixture).
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic._constants import ANTHROPIC_API_VERSION

from engine.emulator import Emulator

CLAUDE = "claude-sonnet-4@20250514"  # takes thinking.type "enabled" and sampling parameters
HELLO = [{"role": "user", "content": "Hello, Claude"}]
WEATHER = {
    "name": "get_weather",
    "description": "Current weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def claude(emulator: Emulator, credentials: Any) -> anthropic.AnthropicVertex:
    return anthropic.AnthropicVertex(
        region="us-east5",
        project_id="sdk-project",
        credentials=credentials,
        base_url=f"{emulator.url}/v1",
        max_retries=0,
    )


def test_create_without_a_version_override(claude: anthropic.AnthropicVertex, emulator: Emulator) -> None:
    message = claude.messages.create(model=CLAUDE, max_tokens=64, messages=HELLO)
    assert message.content[0].type == "text" and message.content[0].text == "Echo: Hello, Claude"
    assert message.stop_reason == "end_turn" and message.usage.input_tokens > 0
    (logged,) = emulator.requests(CLAUDE)
    assert logged["path"] == (
        f"/v1/projects/sdk-project/locations/us-east5/publishers/anthropic/models/{CLAUDE}:rawPredict"
    )
    assert logged["body"]["anthropic_version"] == ANTHROPIC_API_VERSION != "vertex-2023-10-16"
    assert logged["headers"]["authorization"] == "Bearer <redacted>"


def test_stream(claude: anthropic.AnthropicVertex, emulator: Emulator) -> None:
    with claude.messages.stream(model=CLAUDE, max_tokens=64, messages=HELLO) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Echo: Hello, Claude" and final.stop_reason == "end_turn"
    assert emulator.requests(CLAUDE)[-1]["path"].endswith(":streamRawPredict")


def test_tools_unary_and_streamed(claude: anthropic.AnthropicVertex, emulator: Emulator) -> None:
    call = {"function_calls": [{"name": "get_weather", "args": {"city": "Paris"}}]}
    emulator.script(CLAUDE, [call, call])
    message = claude.messages.create(model=CLAUDE, max_tokens=64, messages=HELLO, tools=[WEATHER])
    (use,) = [b for b in message.content if b.type == "tool_use"]
    assert use.name == "get_weather" and use.input == {"city": "Paris"} and message.stop_reason == "tool_use"
    with claude.messages.stream(model=CLAUDE, max_tokens=64, messages=HELLO, tools=[WEATHER]) as stream:
        final = stream.get_final_message()
    assert [b.input for b in final.content if b.type == "tool_use"] == [{"city": "Paris"}]
    follow_up = [
        *HELLO,
        {"role": "assistant", "content": [use.model_dump()]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
    ]
    answer = claude.messages.create(model=CLAUDE, max_tokens=64, messages=follow_up, tools=[WEATHER])
    assert answer.content[0].text == f'Echo: {use.id} returned "sunny"'


def test_thinking(claude: anthropic.AnthropicVertex) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    message = claude.messages.create(model=CLAUDE, max_tokens=2048, messages=HELLO, thinking=thinking)
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "Thinking about: Hello, Claude" and message.content[0].signature
    with claude.messages.stream(model=CLAUDE, max_tokens=2048, messages=HELLO, thinking=thinking) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "thinking" and final.content[0].signature == message.content[0].signature


def test_count_tokens(claude: anthropic.AnthropicVertex, emulator: Emulator) -> None:
    counted = claude.messages.count_tokens(model=CLAUDE, messages=HELLO)
    assert (
        counted.input_tokens
        == claude.messages.create(model=CLAUDE, max_tokens=8, messages=HELLO).usage.input_tokens
    )
    assert emulator.requests("count-tokens")[-1]["path"].endswith(
        "/publishers/anthropic/models/count-tokens:rawPredict"
    )


def test_invalid_request_error(claude: anthropic.AnthropicVertex) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:  # Opus 5.5 thinks adaptively only
        claude.messages.create(
            model="claude-opus-5-5", max_tokens=64, messages=HELLO, thinking={"type": "disabled"}
        )
    assert caught.value.status_code == 400
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert caught.value.body["error"]["message"].startswith('"thinking.type.disabled" is not supported')


@pytest.mark.parametrize("streaming", [False, True])
def test_overloaded(claude: anthropic.AnthropicVertex, emulator: Emulator, streaming: bool) -> None:
    emulator.script(CLAUDE, [{"status": 529}])
    with pytest.raises(anthropic.InternalServerError) as caught:
        if streaming:
            with claude.messages.stream(model=CLAUDE, max_tokens=64, messages=HELLO) as stream:
                stream.get_final_message()
        else:
            claude.messages.create(model=CLAUDE, max_tokens=64, messages=HELLO)
    assert isinstance(caught.value, anthropic.APIStatusError) and caught.value.status_code == 529
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_scripted_anthropic_rate_limit(claude: anthropic.AnthropicVertex, emulator: Emulator) -> None:
    emulator.script(CLAUDE, [{"status": 429, "error_type": "rate_limit_error", "message": "slow down"}])
    with pytest.raises(anthropic.RateLimitError) as caught:
        claude.messages.create(model=CLAUDE, max_tokens=64, messages=HELLO)
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }


def test_unknown_model_is_vertex_404(claude: anthropic.AnthropicVertex) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.messages.create(model="claude-nonesuch-9", max_tokens=64, messages=HELLO)
    error = caught.value.body["error"]
    assert error["status"] == "NOT_FOUND" and error["message"].startswith(
        "Publisher Model `projects/sdk-project/locations/us-east5/publishers/anthropic/models/claude-nonesuch-9`"
        " was not found or your project does not have access to it."
    )
