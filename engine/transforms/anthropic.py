"""OpenAI chat → Anthropic Messages (Claude on Vertex AI): turns, system, tools, tool choice, thinking.

Anthropic keeps system text outside the turns, wants tool results inside a *user*
turn as ``tool_result`` blocks, tool calls inside the *assistant* turn as
``tool_use`` blocks, and earlier thinking blocks (with their signatures) sent back
first in the assistant turn. That restructuring is not a field mapping, so it lives
here, as named transforms the Anthropic spec references. Content blocks keep their
``cache_control`` so prompt caching works unchanged.
References: https://docs.anthropic.com/en/api/messages,
https://docs.anthropic.com/en/docs/build-with-claude/tool-use,
https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from engine.errors import BadRequestError, UnsupportedParamsError
from engine.redact import short
from engine.transforms import register
from engine.transforms.content import bad, check_forwarded_url, items, typed_parts
from engine.transforms.gemini_media import fetch, mime_from_name

Block = dict[str, Any]
log = logging.getLogger("vertexlate")


def _with_cache(block: Block, source: dict[str, Any]) -> Block:
    if source.get("cache_control") is not None:
        block["cache_control"] = source["cache_control"]
    return block


def _text_block(part: dict[str, Any], ctx: Any, where: str) -> Block | None:
    text = part.get("text")
    if not isinstance(text, str):
        raise bad(where, "a text part needs a string 'text'", ctx)
    return _with_cache({"type": "text", "text": text}, part) if text else None


# Claude on Vertex AI reads inline data only: http(s) URLs are downloaded here; gs:// and local files never.
CLAUDE_SCHEMES = frozenset({"http", "https", "data"})


def _source(url: str, ctx: Any, where: str, explicit: Any = None) -> dict[str, Any]:
    """A ``data:`` URL becomes an inline base64 source; an http(s) URL is downloaded and inlined.

    Claude on Vertex AI does not fetch URLs itself, so the engine does, with the same
    bounded, private-address-refusing fetch the Gemini media parts use.
    """
    if url.startswith("data:"):
        header, comma, data = url.partition(",")
        media_type = header[len("data:") :].split(";")[0]
        if not comma or ";base64" not in header or not media_type:
            raise bad(where, "a data: URL must look like data:<mime type>;base64,<data>", ctx)
        return {"type": "base64", "media_type": media_type, "data": data}
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        raise bad(where, "the media URL is malformed", ctx) from None
    if scheme in ("http", "https"):
        check_forwarded_url(url, ctx, where, CLAUDE_SCHEMES)  # no internal address, even before resolving
        mime, data = fetch(url, ctx, where)
        media_type = explicit if isinstance(explicit, str) and explicit else mime or mime_from_name(url)
        if not media_type:
            raise bad(where, f"cannot tell the media type of {url[:120]!r}; pass it as 'format'", ctx)
        return {"type": "base64", "media_type": media_type, "data": data}
    raise bad(where, f"Claude on Vertex AI takes https:// or data: URLs, not {url[:40]!r}", ctx)


def _image_block(part: dict[str, Any], ctx: Any, where: str) -> Block:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise bad(where, "an image_url part needs a URL (https:// or data:)", ctx)
    explicit = image.get("format") if isinstance(image, dict) else None
    return _with_cache({"type": "image", "source": _source(url, ctx, where, explicit)}, part)


def _file_block(part: dict[str, Any], ctx: Any, where: str) -> Block:
    file = part.get("file")
    if not isinstance(file, dict):
        raise bad(where, "a file part needs a 'file' object with 'file_data' or 'file_id'", ctx)
    url = file.get("file_data") or file.get("file_id")
    if not isinstance(url, str) or not url:
        raise bad(where, "a file part needs file.file_data (a data: URL) or file.file_id (a URL)", ctx)
    return _with_cache({"type": "document", "source": _source(url, ctx, where, file.get("format"))}, part)


PART_CONVERTERS: dict[str, Callable[[dict[str, Any], Any, str], Block | None]] = {
    "text": _text_block,
    "image_url": _image_block,
    "file": _file_block,
}


def content_blocks(content: Any, ctx: Any, where: str) -> list[Block]:
    """The blocks of one OpenAI ``content`` (string or typed parts); empty text is dropped."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for convert, part, pwhere in typed_parts(content, PART_CONVERTERS, ctx, where):
        if (block := convert(part, ctx, pwhere)) is not None:
            blocks.append(block)
    return blocks


def _user(message: dict[str, Any], ctx: Any, where: str) -> list[Block]:
    return content_blocks(message.get("content"), ctx, where)


def _tool_result(message: dict[str, Any], ctx: Any, where: str) -> list[Block]:
    if not isinstance(message.get("tool_call_id"), str) or not message["tool_call_id"]:
        raise bad(where, "a tool message needs 'tool_call_id' (the id of the assistant's tool call)", ctx)
    content = message.get("content")
    result: Any = content if isinstance(content, str) else content_blocks(content, ctx, where)
    return [{"type": "tool_result", "tool_use_id": message["tool_call_id"], "content": result}]


def legacy_call_id(name: str, position: int) -> str:
    """The id given to an OpenAI ``function_call`` (which has none): Anthropic pairs results by id."""
    return f"toolu_legacy_{position}_{name}"


def _function_result(message: dict[str, Any], ctx: Any, where: str, position: int) -> list[Block]:
    """OpenAI's deprecated ``role: function`` result, answering the latest ``function_call`` of that name."""
    name = message.get("name")
    if not isinstance(name, str) or not name:
        raise bad(where, "a function message needs a 'name'", ctx)
    return _tool_result({**message, "tool_call_id": legacy_call_id(name, position)}, ctx, where)


def _thinking(block: Any, ctx: Any, where: str) -> Block:
    if not isinstance(block, dict) or block.get("type") not in ("thinking", "redacted_thinking"):
        raise bad(
            where,
            "thinking_blocks items must be {'type': 'thinking', 'thinking', 'signature'} or redacted_thinking",
            ctx,
        )
    keys = ("type", "thinking", "signature") if block["type"] == "thinking" else ("type", "data")
    return {k: block[k] for k in keys if k in block}


def _tool_use(call: Any, ctx: Any, where: str) -> Block:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
        raise bad(where, "each tool call needs function.name", ctx)
    arguments = function.get("arguments") or "{}"
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except (ValueError, RecursionError):
        raise bad(where, f"tool call arguments are not valid JSON: {arguments[:100]!r}", ctx) from None
    if not isinstance(parsed, dict):
        raise bad(where, "tool call arguments must be a JSON object (Anthropic's tool_use.input)", ctx)
    return {"type": "tool_use", "id": call.get("id"), "name": function["name"], "input": parsed}


def _assistant(message: dict[str, Any], ctx: Any, where: str) -> list[Block]:
    """Thinking blocks first (Anthropic requires it), then text, then tool calls."""
    blocks = [
        _thinking(b, ctx, f"{where}.thinking_blocks[{i}]")
        for i, b in enumerate(items(message.get("thinking_blocks"), ctx, where, "thinking_blocks"))
    ]
    blocks += content_blocks(message.get("content"), ctx, where)
    blocks += [
        _tool_use(c, ctx, f"{where}.tool_calls[{i}]")
        for i, c in enumerate(items(message.get("tool_calls"), ctx, where, "tool_calls"))
    ]
    return blocks


TURNS: dict[str, tuple[str, Callable[[dict[str, Any], Any, str], list[Block]]]] = {
    "user": ("user", _user),
    "tool": ("user", _tool_result),
    "assistant": ("assistant", _assistant),
}


def _compact(blocks: list[Block]) -> Any:
    """A lone plain text block is sent as a string, as Anthropic's own examples do."""
    if len(blocks) == 1 and blocks[0].keys() == {"type", "text"}:
        return blocks[0]["text"]
    return blocks


@register("anthropic_messages", kind="param")
def anthropic_messages(messages: list[Any], ctx: Any) -> dict[str, Any]:
    """``messages`` (same-role turns merged) and ``system`` from OpenAI messages."""
    system: list[Block] = []
    turns: list[dict[str, Any]] = []
    legacy_calls = 0  # position of the latest OpenAI function_call, for the function result after it
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad(where, f"each message must be an object, got {type(message).__name__}", ctx)
        role = message.get("role")
        if not isinstance(role, str) or (
            role not in TURNS and role not in ("system", "developer", "function")
        ):
            raise bad(where, f"unknown role {short(role)} (expected system, user, assistant or tool)", ctx)
        if role == "function":
            turn_role, blocks = "user", _function_result(message, ctx, where, legacy_calls)
        else:
            legacy = message.get("function_call")
            if role == "assistant" and isinstance(legacy, dict) and not message.get("tool_calls"):
                legacy_calls = i  # OpenAI's deprecated single call, given the id its result will name
                call = {
                    "id": legacy_call_id(str(legacy.get("name")), i),
                    "type": "function",
                    "function": legacy,
                }
                message = {**message, "tool_calls": [call]}
            turn_role, convert = TURNS.get(role, ("system", _user))
            blocks = convert(message, ctx, where)
        if not blocks:
            continue  # e.g. an assistant turn with empty content: Anthropic rejects empty turns
        blocks[-1] = _with_cache(
            blocks[-1], message
        )  # also a tool result's block (Anthropic caches those too)  # message-level cache_control marks its last block
        if turn_role == "system":
            system += blocks
            continue
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["content"] += blocks
        else:
            turns.append({"role": turn_role, "content": blocks})
    if not turns and system:  # only a system message: Claude needs a turn, so it becomes the prompt
        turns, system = [{"role": "user", "content": system}], []
    if not turns:
        raise bad("messages", "at least one message is required", ctx)
    body: dict[str, Any] = {
        "messages": [{"role": t["role"], "content": _compact(t["content"])} for t in turns]
    }
    if system:
        body["system"] = _compact(system)
    return body


OPENAI_WEB_SEARCH = frozenset({"web_search", "web_search_preview"})
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search"}  # Anthropic's server tool


def web_search_tool(options: dict[str, Any], ctx: Any) -> Block:
    """OpenAI's web search (tool or ``web_search_options``) → Anthropic's web search server tool.

    ``user_location.approximate`` becomes Anthropic's ``user_location``; ``search_context_size``
    has no equivalent and is reported in the log, not sent.
    """
    tool: Block = dict(WEB_SEARCH)
    location = (options.get("user_location") or {}).get("approximate")
    if isinstance(location, dict):
        tool["user_location"] = {"type": "approximate", **location}
    unmapped = sorted(set(options) - {"user_location"})
    if unmapped:
        log.warning("%s: web search options %s have no Anthropic equivalent", ctx.model, ", ".join(unmapped))
    return tool


@register("anthropic_web_search", kind="param")
def anthropic_web_search(options: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """``web_search_options`` → the web search tool added to ``tools``."""
    tools = list(ctx.body.get("tools") or [])
    if not any(isinstance(t, dict) and t.get("name") == WEB_SEARCH["name"] for t in tools):
        tools.append(web_search_tool(options, ctx))
    return {"tools": tools}


@register("anthropic_tools", kind="param")
def anthropic_tools(tools: list[Any], ctx: Any) -> list[Block]:
    """OpenAI function tools → ``{name, description, input_schema}``; Anthropic-native tools pass through."""
    out = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise BadRequestError(f"tools[{i}] must be an object", model=ctx.model, param="tools")
        if tool.get("type") in OPENAI_WEB_SEARCH:
            out.append(web_search_tool({k: v for k, v in tool.items() if k != "type"}, ctx))
            continue
        if tool.get("type") != "function":
            out.append(tool)  # e.g. {"type": "bash_20250124", "name": "bash"}: already Anthropic's shape
            continue
        function = tool.get("function") or {}
        if (
            not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not function["name"]
        ):
            raise BadRequestError(f"tools[{i}].function.name is required", model=ctx.model, param="tools")
        converted: Block = {"name": function["name"]}
        if function.get("description"):
            converted["description"] = function["description"]
        converted["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
        out.append(_with_cache(converted, tool))
    return out


TOOL_CHOICE = {
    "auto": {"type": "auto"},
    "required": {"type": "any"},
    "any": {"type": "any"},
    "none": {"type": "none"},
}


@register("anthropic_tool_choice", kind="param")
def anthropic_tool_choice(value: Any, ctx: Any) -> dict[str, Any]:
    """``auto``/``required``/``none`` or ``{"type": "function", "function": {"name"}}`` → Anthropic's tool_choice.

    A forced choice (``any`` / ``tool``) on a model whose ``forced_tool_choice`` capability is false
    is unsupported (dropped with ``drop_params``), as Anthropic answers it with a 400.
    """
    return _allowed_choice(_tool_choice(value, ctx), ctx)


def _allowed_choice(choice: dict[str, Any], ctx: Any) -> dict[str, Any]:
    if choice.get("type") in ("any", "tool") and ctx.capabilities.get("forced_tool_choice") is False:
        raise UnsupportedParamsError(
            f"{ctx.model} does not support a forced tool_choice ({choice.get('type')}); use 'auto' or 'none', "
            "or pass drop_params=True to drop it",
            model=ctx.model,
            param="tool_choice",
        )
    return choice


def _tool_choice(value: Any, ctx: Any) -> dict[str, Any]:
    if isinstance(value, str) and value in TOOL_CHOICE:
        return dict(TOOL_CHOICE[value])
    if (
        isinstance(value, dict)
        and value.get("type") == "function"
        and isinstance(value.get("function"), dict)
        and isinstance(value["function"].get("name"), str)
    ):
        return {"type": "tool", "name": value["function"]["name"]}
    if isinstance(value, dict) and value.get("type") in ("auto", "any", "tool", "none"):
        return value
    raise BadRequestError(
        f"tool_choice {short(value)} is not one of auto, required, none or {{'type': 'function', 'function': {{'name': ...}}}}",
        model=ctx.model,
        param="tool_choice",
    )


def json_instruction(response_format: Any, ctx: Any) -> str | None:
    """The system text that asks for JSON: Claude 3.x on Vertex has no structured-output field.

    As the reference documents for Claude, the schema travels in the prompt
    (``json_schema``), or a bare request for one JSON object (``json_object``).
    """
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return "Respond with a single JSON object and nothing else."
    spec = response_format.get("json_schema") if kind == "json_schema" else None
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise BadRequestError(
            "response_format must be {'type': 'text' | 'json_object'} or {'type': 'json_schema', 'json_schema': {'schema': {...}}}",
            model=ctx.model,
            param="response_format",
        )
    return f"Respond with a single JSON object and nothing else. Use this JSON schema:\n```json\n{json.dumps(schema)}\n```"


def _add_system_text(body: dict[str, Any], text: str) -> None:
    system = body.get("system")
    blocks = [{"type": "text", "text": system}] if isinstance(system, str) else list(system or [])
    body["system"] = _compact([*blocks, {"type": "text", "text": text}])


@register("anthropic_thinking", kind="param")
def anthropic_thinking(value: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """A caller's ``thinking`` object, as it is, when the model takes its ``type`` (``thinking_types``).

    Newer Claude models reject some types with a 400 (adaptive-only models refuse ``enabled``,
    always-on ones also ``disabled``); the capability says which, so the error comes first and
    ``drop_params`` can drop it.
    """
    kind = value.get("type")
    allowed = ctx.capabilities.get("thinking_types")
    if allowed and kind not in allowed:
        raise UnsupportedParamsError(
            f"{ctx.model} does not support thinking type {kind!r}; it accepts: {', '.join(allowed)} "
            "(use reasoning_effort for the effort levels). Pass drop_params=True to drop it",
            model=ctx.model,
            param="thinking",
        )
    return value


JSON_TOOL = "json_tool_call"  # LiteLLM's name for the forced tool that carries a JSON answer


def _schema_of(response_format: Any) -> Any:
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def _structured_output(body: dict[str, Any], ctx: Any) -> bool:
    """``response_format`` with a schema, enforced: native ``output_config.format`` where the model has it
    (capability ``structured_outputs``; Vertex AI "Structured outputs with Anthropic Claude models"), else a
    forced tool whose input is the answer. False when neither applies (the schema then goes in the prompt).
    """
    schema = _schema_of(ctx.params.get("response_format"))
    if schema is None:
        return False
    if ctx.capabilities.get("structured_outputs"):
        config = dict(body.get("output_config") or {})
        config["format"] = {"type": "json_schema", "schema": schema}
        body["output_config"] = config
        return True
    if (body.get("thinking") or {}).get("type") == "enabled" or body.get("tool_choice"):
        return False  # Anthropic refuses a forced tool with thinking on, or beside the caller's own choice
    tool = {
        "name": JSON_TOOL,
        "description": "Respond with a JSON object matching this schema.",
        "input_schema": schema,
    }
    body["tools"] = [*(body.get("tools") or []), tool]
    body["tool_choice"] = {"type": "tool", "name": JSON_TOOL}
    return True


def uses_json_tool(ctx: Any) -> bool:
    """Whether the request forced the JSON tool (so its input is the answer, not a tool call)."""
    choice = (getattr(ctx, "body", None) or {}).get("tool_choice")
    return isinstance(choice, dict) and choice.get("name") == JSON_TOOL


def _betas(body: dict[str, Any], ctx: Any) -> list[str]:
    """The ``anthropic-beta`` flags the body needs, from the spec's ``anthropic_betas`` table."""
    table = ctx.capabilities.get("anthropic_betas") or {}
    found = [beta for key, beta in (table.get("body") or {}).items() if body.get(key) is not None]
    by_tool = table.get("tools") or {}
    found += [
        by_tool[t["type"]]
        for t in body.get("tools") or []
        if isinstance(t, dict) and t.get("type") in by_tool
    ]
    return list(dict.fromkeys(found))


@register("anthropic_finalize", kind="request_finalize")
def anthropic_finalize(body: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Body-wide rules: thinking budget vs ``max_tokens``, ``tool_choice`` type, structured output, betas.

    When the caller left ``max_tokens`` to the spec default and the thinking budget
    does not fit under it, the default is raised to budget + default (capped at the
    model's maximum), so ``thinking={...}`` or ``reasoning_effort`` alone just works.
    """
    instruction = (
        None if _structured_output(body, ctx) else json_instruction(ctx.params.get("response_format"), ctx)
    )
    if instruction is not None:
        _add_system_text(body, instruction)
    budget = (body.get("thinking") or {}).get("budget_tokens")
    caller_set = any(ctx.params.get(name) is not None for name in ("max_tokens", "max_completion_tokens"))
    if isinstance(budget, int) and not caller_set and body.get("max_tokens", 0) <= budget:
        raised = budget + int(ctx.capabilities.get("default_max_tokens") or 4096)
        cap = ctx.capabilities.get("max_output_tokens")
        body["max_tokens"] = min(raised, cap) if cap else raised
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and "type" not in choice:
        body["tool_choice"] = {"type": "auto", **choice}
    if betas := _betas(body, ctx):
        ctx.headers["anthropic-beta"] = ",".join(betas)
    return body


def _json_answer(message: dict[str, Any]) -> bool:
    """Move the forced JSON tool's input into ``content``; True when it did."""
    calls = message.get("tool_calls") or []
    json_calls = [c for c in calls if (c.get("function") or {}).get("name") == JSON_TOOL]
    if not json_calls:
        return False
    message["content"] = "".join(c["function"].get("arguments") or "" for c in json_calls)
    rest = [c for c in calls if c not in json_calls]
    if rest:
        message["tool_calls"] = rest
    else:
        message.pop("tool_calls", None)
    return True


@register("anthropic_json_tool", kind="response_finalize")
def anthropic_json_tool(obj: Any, raw: Any, ctx: Any) -> Any:
    """Response finalize: with the forced JSON tool, its input is the answer (content, finish_reason stop)."""
    if not uses_json_tool(ctx):
        return obj
    for choice in obj["choices"]:
        if _json_answer(choice["message"]) and choice.get("finish_reason") == "tool_calls":
            choice["finish_reason"] = "stop"
    return obj


@register("anthropic_json_tool_chunk", kind="chunk_finalize")
def anthropic_json_tool_chunk(chunk: Any, ctx: Any) -> Any:
    """Stream chunk finalize: the forced JSON tool's argument fragments stream as ``content`` deltas."""
    if not uses_json_tool(ctx):
        return chunk
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        calls = delta.pop("tool_calls", None)
        if calls:
            delta["content"] = "".join((c.get("function") or {}).get("arguments") or "" for c in calls)
        if choice.get("finish_reason") == "tool_calls":
            choice["finish_reason"] = "stop"
    return chunk
