"""Conversation history with tool use: assistant ``tool_calls`` and ``tool`` results → Gemini parts.

Why this is more than a field mapping: OpenAI pairs a result with its call by id,
Gemini by function name and position. So the call ids of every assistant turn are
remembered (with the function name and the call's position), each ``tool`` message
becomes a ``functionResponse`` named after its call, and the responses to one turn
are put in call order in one content, which Vertex checks ("the number of function
response parts is equal to the number of function call parts").

Thought signatures travel back where Gemini returned them: on the function-call
part (from ``provider_specific_fields`` or, when a client dropped that, from the
tool-call id) and, for a text answer, on its first text part (from ``thinking_blocks``).
"""

from __future__ import annotations

import json
from typing import Any

from engine.transforms.content import items
from engine.transforms.gemini import bad, content_parts, contents_pass, message_converter
from engine.transforms.gemini_tools import split_call_id

_ORDER = "response_order"  # state key: id(part) → position of the call it answers


def call_signature(call: dict[str, Any]) -> str | None:
    """The thought signature of an OpenAI tool call: provider fields first, then the id."""
    fields = call.get("provider_specific_fields")
    if isinstance(fields, dict) and isinstance(fields.get("thought_signature"), str):
        return fields["thought_signature"]
    call_id = call.get("id")
    return split_call_id(call_id)[1] if isinstance(call_id, str) else None


def block_signature(blocks: Any) -> str | None:
    """The first signature among ``thinking_blocks`` (``signature`` or Gemini's ``thoughtSignature``)."""
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, dict):
            signature = block.get("signature") or block.get("thoughtSignature")
            if isinstance(signature, str) and signature:
                return signature
    return None


def _arguments(raw: Any, ctx: Any, where: str) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise bad(where, f"function.arguments is not valid JSON: {raw[:80]!r}", ctx) from None
    if not isinstance(raw, dict):
        raise bad(
            where, "function.arguments must be a JSON object (Gemini's functionCall.args is an object)", ctx
        )
    return raw


@message_converter("assistant")
def _assistant(message: dict[str, Any], ctx: Any, where: str, state: dict[str, Any]) -> list[dict[str, Any]]:
    calls = items(message.get("tool_calls"), ctx, where, "tool_calls")
    if not calls and isinstance(message.get("function_call"), dict):  # OpenAI's deprecated single call
        calls = [{"type": "function", "function": message["function_call"]}]
    content = message.get("content")
    parts = content_parts(content, ctx, where) if content not in (None, "", []) or not calls else []
    signature = block_signature(items(message.get("thinking_blocks"), ctx, where, "thinking_blocks"))
    if signature and parts and "text" in parts[0]:
        parts[0] = {**parts[0], "thoughtSignature": signature}
    known = state.setdefault("calls", {})
    for position, call in enumerate(calls):
        cwhere = f"{where}.tool_calls[{position}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise bad(cwhere, "a tool call needs a 'function' with a string 'name'", ctx)
        part: dict[str, Any] = {
            "functionCall": {
                "name": function["name"],
                "args": _arguments(function.get("arguments"), ctx, cwhere),
            }
        }
        if signature := call_signature(call):
            part["thoughtSignature"] = signature
        parts.append(part)
        call_id = call.get("id")
        if isinstance(call_id, str):
            known[call_id] = known[split_call_id(call_id)[0]] = (function["name"], position)
    return parts


def _result_text(content: Any, ctx: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if len(texts) == len(content):
            return "".join(t for t in texts if isinstance(t, str))
    raise bad(where, "a tool result's content must be a string or a list of text parts", ctx)


def _response_parts(name: str, content: Any, ctx: Any, where: str) -> list[dict[str, Any]]:
    """A tool result → its ``functionResponse`` part, plus media parts when the result holds images or files.

    Models with ``function_response_parts`` take the media inside the response
    (``functionResponse.parts``: inlineData/fileData); the others get them as parts
    right after the response, in the same user turn.
    """
    media: list[dict[str, Any]] = []
    if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") != "text" for p in content):
        converted = content_parts(content, ctx, where)
        text = "".join(p["text"] for p in converted if "text" in p)
        media = [p for p in converted if "text" not in p]
    else:
        text = _result_text(content, ctx, where)
    response: dict[str, Any] = {"name": name, "response": {"content": text}}
    if media and ctx.capabilities.get("function_response_parts", False):
        response["parts"] = [{k: v for k, v in p.items() if k in ("inlineData", "fileData")} for p in media]
        media = []
    return [{"functionResponse": response}, *media]


@message_converter("tool")
def _tool(message: dict[str, Any], ctx: Any, where: str, state: dict[str, Any]) -> list[dict[str, Any]]:
    call_id = message.get("tool_call_id")
    known = state.get("calls", {})
    found = known.get(call_id) if isinstance(call_id, str) else None
    if found is None and isinstance(call_id, str):
        found = known.get(split_call_id(call_id)[0])
    if found is None:
        raise bad(
            where, f"tool_call_id {call_id!r} matches no tool call of an earlier assistant message", ctx
        )
    name, position = found
    parts = _response_parts(name, message.get("content"), ctx, where)
    state.setdefault(_ORDER, {})[id(parts[0])] = position
    return parts


@message_converter("function")
def _function(message: dict[str, Any], ctx: Any, where: str, state: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI's deprecated ``role: function`` result: the name is given, not looked up."""
    name = message.get("name")
    if not isinstance(name, str):
        raise bad(where, "a function message needs a 'name'", ctx)
    return _response_parts(name, message.get("content"), ctx, where)


@contents_pass
def _order_and_count_responses(contents: list[dict[str, Any]], ctx: Any, state: dict[str, Any]) -> None:
    """Responses in call order; each call turn followed by exactly as many responses as it made calls."""
    order = state.get(_ORDER, {})
    for index, content in enumerate(contents):
        if order and content["role"] == "user":
            content["parts"].sort(key=lambda p: (0, order[id(p)]) if id(p) in order else (1, 0))
        calls = sum("functionCall" in p for p in content["parts"]) if content["role"] == "model" else 0
        if calls and index + 1 < len(contents):
            answered = sum("functionResponse" in p for p in contents[index + 1]["parts"])
            if answered != calls:
                raise bad(
                    "messages",
                    f"an assistant turn made {calls} tool call(s) but {answered} tool result(s) follow it; "
                    "Gemini needs one role='tool' message per call before the next turn",
                    ctx,
                )
