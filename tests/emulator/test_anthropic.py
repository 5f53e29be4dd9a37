"""Claude on Vertex (rawPredict / streamRawPredict) with httpx and the real anthropic SDK.

Request body from Anthropic's "Claude on Vertex AI" page (anthropic_version
"vertex-2023-10-16", no model in the body); event flow from
https://docs.anthropic.com/en/api/messages-streaming.
"""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from engine.emulator import Emulator

from .helpers import model_path, sse_data, sse_types

CLAUDE = "claude-sonnet-4@20250514"
VERSION = {"anthropic_version": "vertex-2023-10-16"}
BODY = {**VERSION, "max_tokens": 256, "messages": [{"role": "user", "content": "Hello, world"}]}


def _path(verb: str) -> str:
    return model_path(CLAUDE, verb, publisher="anthropic", location="us-east5")


@pytest.fixture
def claude(emulator: Emulator, token: str) -> anthropic.AnthropicVertex:
    return anthropic.AnthropicVertex(
        region="us-east5",
        project_id="test-project",
        access_token=token,
        base_url=f"{emulator.url}/v1",
        max_retries=0,
    )


def test_raw_predict_message_shape(client: httpx.Client) -> None:
    body = client.post(_path("rawPredict"), json=BODY).json()
    assert body["id"].startswith("msg_vrtx_")
    assert {k: body[k] for k in ("type", "role", "model", "stop_reason", "stop_sequence")} == {
        "type": "message",
        "role": "assistant",
        "model": CLAUDE,
        "stop_reason": "end_turn",
        "stop_sequence": None,
    }
    assert body["content"] == [{"type": "text", "text": "Echo: Hello, world"}]
    assert body["usage"]["input_tokens"] == 3 and body["usage"]["output_tokens"] == 5  # words + punctuation


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"anthropic_version": None}, "anthropic_version: Field required"),
        ({"anthropic_version": "2023-06-01"}, 'anthropic_version: "2023-06-01" is not a valid version'),
        (
            {"anthropic_version": "vertex-2099-01-01"},
            'anthropic_version: "vertex-2099-01-01" is not a valid version',
        ),
        ({"anthropic_version": "latest"}, 'anthropic_version: "latest" is not a valid version'),
        ({"model": CLAUDE}, "model: Extra inputs are not permitted"),
        ({"max_tokens": None}, "max_tokens: Field required"),
    ],
)
def test_body_rules(client: httpx.Client, change: dict[str, object], message: str) -> None:
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    response = client.post(_path("rawPredict"), json=body)
    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": message},
    }


def test_stream_event_flow(client: httpx.Client) -> None:
    response = client.post(_path("streamRawPredict"), json={**BODY, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    types = sse_types(response.text)
    assert types[:3] == ["message_start", "content_block_start", "ping"]
    assert types[-4:] == ["content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    events = [json.loads(d) for d in sse_data(response.text)]
    assert [e["type"] for e in events] == types
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == "Echo: Hello, world"
    assert events[0]["message"]["content"] == [] and events[0]["message"]["stop_reason"] is None
    assert events[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}


def test_raw_predict_with_stream_true_streams(client: httpx.Client) -> None:
    response = client.post(_path("rawPredict"), json={**BODY, "stream": True})
    assert sse_types(response.text)[0] == "message_start"


def test_thinking_block_with_signature_delta(client: httpx.Client) -> None:
    body = {**BODY, "thinking": {"type": "enabled", "budget_tokens": 1024}}
    events = [json.loads(d) for d in sse_data(client.post(_path("streamRawPredict"), json=body).text)]
    assert events[1]["content_block"] == {"type": "thinking", "thinking": ""}
    deltas = [e["delta"]["type"] for e in events if e["type"] == "content_block_delta" and e["index"] == 0]
    assert deltas[-1] == "signature_delta" and set(deltas[:-1]) == {"thinking_delta"}


def test_sdk_unary_and_stream_agree(claude: anthropic.AnthropicVertex) -> None:
    unary = claude.messages.create(
        model=CLAUDE, max_tokens=256, messages=BODY["messages"], extra_body=VERSION
    )
    with claude.messages.stream(
        model=CLAUDE, max_tokens=256, messages=BODY["messages"], extra_body=VERSION
    ) as stream:
        streamed = stream.get_final_message()
    assert unary.content[0].text == streamed.content[0].text == "Echo: Hello, world"
    assert unary.usage.output_tokens == streamed.usage.output_tokens


def test_sdk_tool_use_and_thinking(emulator: Emulator, claude: anthropic.AnthropicVertex) -> None:
    emulator.script(
        CLAUDE,
        [
            {
                "thought": "Need weather.",
                "thought_signature": "sig-1",
                "function_calls": [{"name": "get_weather", "args": {"location": "San Francisco, CA"}}],
            }
        ],
    )
    with claude.messages.stream(
        model=CLAUDE, max_tokens=256, messages=BODY["messages"], extra_body=VERSION
    ) as stream:
        message = stream.get_final_message()
    thinking, tool = message.content
    assert (thinking.type, thinking.thinking, thinking.signature) == ("thinking", "Need weather.", "sig-1")
    assert (tool.type, tool.name, tool.input) == (
        "tool_use",
        "get_weather",
        {"location": "San Francisco, CA"},
    )
    assert tool.id.startswith("toolu_vrtx_") and message.stop_reason == "tool_use"


def test_tool_result_is_echoed(client: httpx.Client) -> None:
    messages = [
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "15 degrees"}],
        }
    ]
    body = client.post(_path("rawPredict"), json={**BODY, "messages": messages}).json()
    assert body["content"][0]["text"] == 'Echo: toolu_1 returned "15 degrees"'


def test_max_tokens_and_stop_sequences(client: httpx.Client) -> None:
    short = client.post(_path("rawPredict"), json={**BODY, "max_tokens": 2}).json()
    assert (short["content"][0]["text"], short["stop_reason"]) == ("Echo:", "max_tokens")
    stopped = client.post(_path("rawPredict"), json={**BODY, "stop_sequences": [", world"]}).json()
    assert stopped["content"][0]["text"] == "Echo: Hello"
    assert (stopped["stop_reason"], stopped["stop_sequence"]) == ("stop_sequence", ", world")
    events = [
        json.loads(d)
        for d in sse_data(
            client.post(_path("streamRawPredict"), json={**BODY, "stop_sequences": [", world"]}).text
        )
    ]
    assert events[-2]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": ", world"}


def test_refusal_on_safety(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(CLAUDE, [{"finish_reason": "SAFETY"}])
    assert client.post(_path("rawPredict"), json=BODY).json()["stop_reason"] == "refusal"


def test_raw_json_and_raw_stream_events(emulator: Emulator, client: httpx.Client) -> None:
    raw = {
        "id": "msg_raw",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": CLAUDE,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    events = [{"type": "message_start", "message": raw}, {"type": "message_stop"}]
    emulator.script(CLAUDE, [{"json": raw}, {"stream_events": events}])
    assert client.post(_path("rawPredict"), json=BODY).json() == raw
    streamed = client.post(_path("streamRawPredict"), json={**BODY, "stream": True}).text
    assert streamed == "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


def test_count_tokens(claude: anthropic.AnthropicVertex) -> None:
    counted = claude.messages.count_tokens(model=CLAUDE, messages=BODY["messages"], extra_body=VERSION)
    assert counted.input_tokens == 3
