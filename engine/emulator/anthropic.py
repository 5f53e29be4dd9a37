"""Claude on Vertex AI: ``publishers/anthropic/models/{m}:rawPredict`` / ``:streamRawPredict``.

The body is Anthropic's Messages API with ``anthropic_version`` and no ``model`` field
(https://docs.anthropic.com/en/api/claude-on-vertex-ai). Versions: Google and Anthropic document
``vertex-2023-10-16``; Anthropic's SDKs 2.x send their API version instead (anthropic 2.15's
``lib/vertex/_client.py`` sets ``anthropic_version`` to ``ANTHROPIC_API_VERSION``, "2026-10-21"). The
emulator accepts ``vertex-2023-10-16`` and any dated version (``YYYY-MM-DD``, with or without ``vertex-``)
from that day up to today, plus ``state.anthropic_versions``; others get Anthropic's 400 wording for a bad
version ("anthropic-version: \"2023-10-01\" is not a valid version", quoted in directus-labs/extensions#285).

Errors: Anthropic's shape ``{"type": "error", "error": {"type", "message"}}``
(https://docs.anthropic.com/en/api/errors) for what the model side refuses (400 invalid_request_error,
413, 500 api_error, 529 overloaded_error); 401 / 403 / 404 / 429 come from Vertex's front end
(authentication, the catalogue, quota) in Google's shape, as Vertex sends them. A scripted fault may name
``error_type`` to force Anthropic's shape (e.g. ``{"status": 429, "error_type": "rate_limit_error"}``).
Responses and the SSE event flow (message_start, content_block_start, ping,
content_block_delta with text_delta / thinking_delta / signature_delta /
input_json_delta, content_block_stop, message_delta, message_stop) follow
https://docs.anthropic.com/en/api/messages-streaming ("Basic streaming request",
"Streaming request with tool use", "Streaming request with extended thinking").
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from starlette.responses import JSONResponse, Response

from engine.emulator.catalogue import claude_problem
from engine.emulator.reply import Reply, limit
from engine.emulator.routing import PREFIX, Call, Route, route
from engine.emulator.sample import example
from engine.emulator.streaming import ANTHROPIC_ERROR_TYPES, ANTHROPIC_SSE, early, google_shape, stream
from engine.emulator.text import chunks, digest, echo, prompt_tokens, signature_for

CLAUDE = PREFIX + r"publishers/(?P<publisher>anthropic)/models/(?P<model>[^/:]+)"


FIRST_VERSION = datetime.date(2023, 10, 16)
DATED = re.compile(r"(?:vertex-)?(\d{4})-(\d{2})-(\d{2})")
# Statuses Vertex's own front end answers before Claude sees the request: Google's error shape.
VERTEX_STATUSES = frozenset({401, 403, 404, 429})
ANTHROPIC_MESSAGES = {
    400: "Invalid request.",
    413: "Request exceeds the maximum allowed number of bytes.",
    529: "Overloaded",
}


def version_ok(value: Any, extra: tuple[str, ...]) -> bool:
    """True for an ``anthropic_version`` Claude on Vertex takes (see the module docstring)."""
    if not isinstance(value, str):
        return False
    if value in extra:
        return True
    match = DATED.fullmatch(value)
    if match is None:
        return False
    try:
        day = datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return False
    return FIRST_VERSION <= day <= datetime.datetime.now(datetime.timezone.utc).date()


def anthropic_shape(reply: Reply) -> Any:
    """The body of a scripted fault on a Claude route (see the module docstring)."""
    status = reply.status or 500
    if reply.error_type is None and status in VERTEX_STATUSES:
        return google_shape(reply)
    kind = reply.error_type or ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    message = reply.message or ANTHROPIC_MESSAGES.get(status, "Internal server error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def request_error(message: str, status: int = 400) -> JSONResponse:
    """Anthropic's error body (``invalid_request_error``) for content problems."""
    return JSONResponse(
        {"type": "error", "error": {"type": "invalid_request_error", "message": message}}, status_code=status
    )


def _messages_shape(messages: Any) -> str | None:
    """Anthropic's validation message when ``messages`` is not a list of messages with text or block content."""
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages.{index}: Input should be a valid dictionary"
        if "content" not in message:
            return f"messages.{index}.content: Field required"
        content = message["content"]
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            return f"messages.{index}.content: Input should be a valid list"
        for place, block in enumerate(content):
            if not isinstance(block, dict):
                return f"messages.{index}.content.{place}: Input should be a valid dictionary"
    return None


def _problem(body: Any, counting: bool, versions: tuple[str, ...]) -> str | None:
    """What Anthropic's validation would say about ``body``, if anything."""
    if not isinstance(body, dict):
        return "Input should be a valid dictionary"
    if "anthropic_version" not in body and not counting:
        return "anthropic_version: Field required"
    if "anthropic_version" in body and not version_ok(body["anthropic_version"], versions):
        return f"anthropic_version: {json.dumps(body['anthropic_version'])} is not a valid version"
    if "model" in body and not counting:
        return "model: Extra inputs are not permitted"
    if not body.get("messages"):
        return "messages: Field required"
    shape = _messages_shape(body["messages"])
    if shape:
        return shape
    if "max_tokens" not in body and not counting:
        return "max_tokens: Field required"
    return None


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        pieces = []
        for block in content or []:
            if block.get("type") == "text":
                pieces.append(block.get("text", ""))
            elif block.get("type") == "tool_result":
                pieces.append(
                    f"{block.get('tool_use_id')} returned {json.dumps(block.get('content'), sort_keys=True)}"
                )
        return " ".join(pieces)
    return ""


def default_reply(body: dict[str, Any]) -> Reply:
    """Echo of the last user text, with a thinking block when thinking is enabled."""
    said = _last_user_text(body)
    thinking = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
    text = echo(said)
    output = (body.get("output_config") or {}).get("format") or {}
    if output.get("type") == "json_schema":  # structured outputs: JSON that fits the schema
        text = json.dumps(example(output.get("schema"), text))
    reply = Reply(text=text, thought=f"Thinking about: {said}" if thinking else None)
    return limit(reply, body.get("max_tokens"), body.get("stop_sequences"))


def _blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.thought:
        blocks.append(
            {
                "type": "thinking",
                "thinking": reply.thought,
                "signature": reply.thought_signature or signature_for(reply.thought),
            }
        )
    if reply.text is not None:
        blocks.append({"type": "text", "text": reply.text})
    for index, call in enumerate(reply.function_calls):
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_vrtx_{digest(call, index, length=24)}",
                "name": call["name"],
                "input": call.get("args", {}),
            }
        )
    return blocks


def _stop_reason(reply: Reply) -> str:
    if reply.safety_stop:
        return "refusal"
    if reply.finish_reason == "MAX_TOKENS":
        return "max_tokens"
    if reply.stop_sequence is not None:
        return "stop_sequence"
    return "tool_use" if reply.function_calls else "end_turn"


def _usage(body: dict[str, Any], reply: Reply) -> dict[str, int]:
    output = reply.answer_tokens() + reply.thought_tokens()
    return {
        "input_tokens": prompt_tokens({"system": body.get("system"), "messages": body.get("messages")}),
        "output_tokens": output,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def message(call: Call, reply: Reply) -> dict[str, Any]:
    """The unary Messages API response."""
    return {
        "id": f"msg_vrtx_{digest(call.body, call.state.next_id(), length=24)}",
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": _blocks(reply),
        "stop_reason": _stop_reason(reply),
        "stop_sequence": reply.stop_sequence,
        "usage": _usage(call.body, reply),
    }


def _block_events(index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    kind = block["type"]
    if kind == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in chunks(block["text"])]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": ""}
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in chunks(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        raw = json.dumps(block["input"])
        half = len(raw) // 2
        deltas = [{"type": "input_json_delta", "partial_json": part} for part in ("", raw[:half], raw[half:])]
    events = [{"type": "content_block_start", "index": index, "content_block": start}]
    events += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
    events.append({"type": "content_block_stop", "index": index})
    return events


def stream_events(full: dict[str, Any]) -> list[dict[str, Any]]:
    """The documented event flow for a complete ``message``."""
    usage = full["usage"]
    start = {
        **full,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(full["content"]):
        block_events = _block_events(index, block)
        events += block_events[:1] + ([{"type": "ping"}] if index == 0 else []) + block_events[1:]
    if not full["content"]:
        events.append({"type": "ping"})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": full["stop_reason"], "stop_sequence": full["stop_sequence"]},
            "usage": {"output_tokens": usage["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return events


async def _predict(call: Call, streaming: bool) -> Response:
    counting = call.model == "count-tokens"
    problem = _problem(call.body, counting, call.state.anthropic_versions)
    if problem is None and not counting:
        problem = claude_problem(call.params.get("model"), call.body)
    if problem:
        return request_error(problem)
    reply = call.reply(Reply() if counting else default_reply(call.body))
    streams = streaming or bool(call.body.get("stream"))
    done = await early(reply, streams, anthropic_shape)
    if done is not None:
        return done
    if counting:
        return JSONResponse({"input_tokens": _usage(call.body, reply)["input_tokens"]})
    full = message(call, reply)
    if not streams:
        return JSONResponse(full)
    return stream(stream_events(full), ANTHROPIC_SSE, reply)


async def raw_predict(call: Call) -> Response:
    """``:rawPredict`` (streams when the body says ``"stream": true``)."""
    return await _predict(call, streaming=False)


async def stream_raw_predict(call: Call) -> Response:
    """``:streamRawPredict``: always Server-Sent Events."""
    return await _predict(call, streaming=True)


ROUTES: list[Route] = [
    route("POST", CLAUDE + ":rawPredict", raw_predict),
    route("POST", CLAUDE + ":streamRawPredict", stream_raw_predict),
]
