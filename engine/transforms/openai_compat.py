"""OpenAI messages for upstreams that already speak OpenAI's chat format (MaaS, Mistral, AI21, Model Garden).

The body is OpenAI's, so the only work is hygiene: a conversation replayed from an
earlier response carries fields those servers do not know (``reasoning_content``,
``thinking_blocks``, ``provider_specific_fields``, ``function_call: null``...), and
strict servers such as Mistral's reject unknown fields. Only the fields of OpenAI's
message schema are sent, and ``None`` values are left out.
"""

from __future__ import annotations

import json
from typing import Any

from engine.errors import BadRequestError
from engine.redact import short
from engine.transforms import register
from engine.transforms.content import bad, check_forwarded_url, items

MESSAGE_FIELDS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id", "prefix"})
TOOL_CALL_FIELDS = frozenset({"id", "type", "function", "index"})


def _tool_call(call: Any, ctx: Any, where: str) -> dict[str, Any]:
    if not isinstance(call, dict):
        raise bad(where, f"each tool call must be an object, got {type(call).__name__}", ctx)
    function = call.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise bad(where, "a tool call needs a 'function' with a string 'name'", ctx)
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, str):
        raise bad(where, "function.arguments must be a JSON string (OpenAI's format)", ctx)
    if arguments:
        try:
            parsed = json.loads(arguments)
        except (ValueError, RecursionError):
            raise bad(where, f"function.arguments is not valid JSON: {short(arguments)}", ctx) from None
        if not isinstance(parsed, dict):
            raise bad(where, "function.arguments must encode a JSON object", ctx)
    return {k: v for k, v in call.items() if k in TOOL_CALL_FIELDS and v is not None}


def _url_of(value: Any) -> Any:
    return value.get("url") if isinstance(value, dict) else value


def _media(kind: str, part: dict[str, Any], ctx: Any, where: str) -> None:
    """Media parts keep OpenAI's shape; their URLs follow the same scheme and address rules as Gemini's."""
    if kind in ("image_url", "video_url"):
        check_forwarded_url(_url_of(part.get(kind)), ctx, where)
    elif kind == "file":
        file = part.get("file")
        if not isinstance(file, dict):
            raise bad(where, "a file part needs a 'file' object with 'file_data' or 'file_id'", ctx)
        for key in ("file_data", "file_id"):
            value = file.get(key)
            if value is not None and not isinstance(value, str):
                raise bad(where, f"file.{key} must be a string", ctx)
        if isinstance(file.get("file_data"), str) and file["file_data"].startswith(("data:", "http", "gs:")):
            check_forwarded_url(file["file_data"], ctx, where)
        if isinstance(file.get("file_id"), str) and "://" in file["file_id"]:
            check_forwarded_url(file["file_id"], ctx, where)
    elif kind == "input_audio":
        audio = part.get("input_audio")
        if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
            raise bad(where, "input_audio needs {'data': <base64>, 'format': 'wav' | 'mp3'}", ctx)


def _content(content: Any, ctx: Any, where: str) -> None:
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise bad(where, f"content must be a string or a list of parts, got {type(content).__name__}", ctx)
    for i, part in enumerate(content):
        pwhere = f"{where}.content[{i}]"
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise bad(pwhere, "each content part must be an object with a string 'type'", ctx)
        kind = part["type"]
        if kind == "text" and not isinstance(part.get("text"), str):
            raise bad(pwhere, "a text part needs a string 'text'", ctx)
        _media(kind, part, ctx, pwhere)


@register("openai_messages", kind="param")
def openai_messages(messages: list[Any], ctx: Any) -> list[dict[str, Any]]:
    """Each message reduced to OpenAI's message fields, its shape and media URLs checked."""
    out = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequestError(
                f"{where} must be an object with a 'role'", model=ctx.model, param="messages"
            )
        items(message.get("thinking_blocks"), ctx, where, "thinking_blocks")  # replayed, not sent: shape only
        clean = {k: v for k, v in message.items() if k in MESSAGE_FIELDS and v is not None}
        _content(clean.get("content"), ctx, where)
        if "tool_calls" in clean:
            calls = items(clean["tool_calls"], ctx, where, "tool_calls")
            clean["tool_calls"] = [
                _tool_call(c, ctx, f"{where}.tool_calls[{j}]") for j, c in enumerate(calls)
            ]
        for key in ("name", "tool_call_id"):
            if key in clean and not isinstance(clean[key], str):
                raise bad(where, f"{key} must be a string", ctx)
        out.append(clean)
    return out
