"""Claude on Vertex: https media inlined as base64, anthropic-beta headers from spec data, enforced
structured output (native output_config.format or a forced tool), Anthropic's own parameters passed through.

Vertex's Claude docs: structured outputs use ``output_config.format`` on the models Vertex lists
(cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/structured_outputs); other
models get LiteLLM's forced ``json_tool_call`` tool, whose input becomes the content.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

import engine
from engine.transforms.anthropic import anthropic_finalize
from tests.conformance import assert_chat_chunk, assert_chat_completion
from tests.partners.helpers import assert_anthropic_request, prepared

MODEL = "vertex_ai/claude-sonnet-4@20250514"
UPSTREAM = "claude-sonnet-4@20250514"
HI = [{"role": "user", "content": "Where is the Eiffel Tower?"}]
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 24
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
RESPONSE_FORMAT = {"type": "json_schema", "json_schema": {"name": "place", "schema": SCHEMA}}


class _Files(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def files() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_https_images_are_sent_as_base64(
    files: str, monkeypatch: pytest.MonkeyPatch, vx: dict[str, Any]
) -> None:
    monkeypatch.setattr(engine, "media_fetch_allow_private", True)  # the test server is on loopback
    image = {"type": "image_url", "image_url": {"url": f"{files}/cat"}}
    call = {"id": "toolu_1", "type": "function", "function": {"name": "snap", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "what is this"}, image]},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": [image]},
    ]
    body = prepared("chat", model=MODEL, messages=messages, **vx).body
    expected = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()},
    }
    assert body["messages"][0]["content"][1] == expected
    assert body["messages"][2]["content"][0]["content"] == [expected]
    assert_anthropic_request(body, UPSTREAM)


def test_private_addresses_are_refused_and_gs_urls_are_unsupported(files: str, vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="non-public address"):
        prepared(
            "chat",
            model=MODEL,
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": f"{files}/x.png"}]}],
            **vx,
        )
    with pytest.raises(engine.BadRequestError, match="https:// or data:"):
        prepared(
            "chat",
            model=MODEL,
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": "gs://b/x.png"}]}],
            **vx,
        )


def test_beta_headers_come_from_the_spec(emulator: Any, vx: dict[str, Any]) -> None:
    editing = {"edits": [{"type": "clear_tool_uses_20250919"}]}
    engine.completion(
        model=MODEL,
        messages=HI,
        context_management=editing,
        tools=[{"type": "code_execution_20250522", "name": "code_execution"}],
        **vx,
    )
    (logged,) = emulator.requests(UPSTREAM)
    assert logged["headers"]["anthropic-beta"] == "context-management-2025-06-27,code-execution-2025-05-22"
    assert logged["body"]["context_management"] == editing
    plain = prepared("chat", model=MODEL, messages=HI, **vx)
    assert "anthropic-beta" not in plain.headers


def test_anthropic_parameters_pass_through(vx: dict[str, Any]) -> None:
    body = prepared(
        "chat",
        model=MODEL,
        messages=HI,
        metadata={"user_id": "u-1"},
        output_config={"effort": "low"},
        reasoning_effort={"effort": "medium"},
        **vx,
    ).body
    assert body["metadata"] == {"user_id": "u-1"}
    assert body["output_config"] == {"effort": "low"}
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}


def test_native_structured_output_where_the_model_has_it() -> None:
    ctx = SimpleNamespace(
        params={"response_format": RESPONSE_FORMAT},
        capabilities={"structured_outputs": True, "default_max_tokens": 4096},
        headers={},
        model="claude-x",
    )
    body = anthropic_finalize({"messages": HI, "max_tokens": 100}, ctx)
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert "tools" not in body and "system" not in body


def test_forced_json_tool_end_to_end(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(UPSTREAM, [{"function_calls": [{"name": "json_tool_call", "args": {"city": "Paris"}}]}])
    resp = engine.completion(model=MODEL, messages=HI, response_format=RESPONSE_FORMAT, **vx)
    assert_chat_completion(resp)
    choice = resp.choices[0]
    assert json.loads(choice.message.content) == {"city": "Paris"}
    assert choice.message.get("tool_calls") is None and choice.finish_reason == "stop"
    sent = emulator.requests(UPSTREAM)[0]["body"]
    assert sent["tool_choice"] == {"type": "tool", "name": "json_tool_call"}
    assert_anthropic_request(sent, UPSTREAM)


async def test_forced_json_tool_streams_as_content(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(UPSTREAM, [{"function_calls": [{"name": "json_tool_call", "args": {"city": "Paris"}}]}])
    stream = await engine.acompletion(
        model=MODEL, messages=HI, response_format=RESPONSE_FORMAT, stream=True, **vx
    )
    chunks = [c async for c in stream]
    for chunk in chunks:
        assert_chat_chunk(chunk)
    assert all(not c.choices[0].delta.get("tool_calls") for c in chunks if c.choices)
    text = "".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices)
    assert json.loads(text) == {"city": "Paris"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


NATIVE = """
name: anthropic_structured
extends: anthropic
description: A Claude model with structured outputs on Vertex.
models:
  - name: claude-structured@20990101
    capabilities: {structured_outputs: true}
"""


async def test_native_structured_output_end_to_end(emulator: Any, vx: dict[str, Any], tmp_path: Any) -> None:
    (tmp_path / "anthropic_structured.yaml").write_text(NATIVE, encoding="utf-8")
    engine.add_spec_dir(tmp_path)
    emulator.accept_models("claude-structured@20990101")  # made up: outside the emulator's catalogue
    resp = await engine.acompletion(
        model="vertex_ai/claude-structured@20990101", messages=HI, response_format=RESPONSE_FORMAT, **vx
    )
    assert_chat_completion(resp)
    assert set(json.loads(resp.choices[0].message.content)) == {"city"}
    (logged,) = emulator.requests("claude-structured@20990101")
    assert logged["body"]["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert "tools" not in logged["body"]


def test_cache_control_on_a_tool_result(vx: dict[str, Any]) -> None:
    call = {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        *HI,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "42", "cache_control": {"type": "ephemeral"}},
    ]
    body = prepared("chat", model=MODEL, messages=messages, **vx).body
    assert body["messages"][2]["content"][0]["cache_control"] == {"type": "ephemeral"}


def test_openai_web_search_becomes_the_anthropic_server_tool(vx: dict[str, Any]) -> None:
    tool = {"type": "web_search_20250305", "name": "web_search"}
    assert prepared("chat", model=MODEL, messages=HI, tools=[{"type": "web_search"}], **vx).body["tools"] == [
        tool
    ]
    located = prepared(
        "chat",
        model=MODEL,
        messages=HI,
        web_search_options={
            "user_location": {"type": "approximate", "approximate": {"city": "Paris", "country": "FR"}}
        },
        **vx,
    ).body["tools"]
    assert located == [{**tool, "user_location": {"type": "approximate", "city": "Paris", "country": "FR"}}]
    assert_anthropic_request(
        prepared("chat", model=MODEL, messages=HI, tools=[{"type": "web_search_preview"}], **vx).body,
        UPSTREAM,
    )
