"""Anthropic Messages API ⇄ OpenAI chat: requests one way, replies and streams the other.

Used when a model's spec has no native Messages operation (Gemini, MaaS partners):
the Anthropic request becomes ``engine.completion`` keyword arguments, and the
OpenAI reply becomes Anthropic's ``message`` (or its event stream). Pure functions,
no I/O. What has no counterpart is refused with its name, or dropped with a warning
when it only informs Anthropic's own service (``metadata``, ``service_tier``).

Thought signatures survive a tool loop: a Gemini tool call's signature rides in its
id (which becomes the ``tool_use`` id and comes back as ``tool_use_id``), and thinking
blocks carry theirs as Anthropic's ``signature``.
References: https://docs.anthropic.com/en/api/messages,
https://docs.anthropic.com/en/docs/build-with-claude/streaming,
https://docs.anthropic.com/en/docs/build-with-claude/tool-use.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from engine.errors import BadRequestError
from engine.redact import short

log = logging.getLogger("vertexlate")

Block = dict[str, Any]

# Anthropic body fields that inform Anthropic's own service only: dropped (with a warning) off Claude.
DROPPED = frozenset({"metadata", "service_tier", "cache_control", "inference_geo", "speed"})
# Anthropic sampling fields with the same name and meaning in OpenAI chat.
SAME = ("max_tokens", "temperature", "top_p", "top_k")

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

TOOL_CHOICE = {"auto": "auto", "any": "required", "none": "none"}
_warned: set[tuple[str, ...]] = set()

# Anthropic server tools with an OpenAI chat counterpart: the chat parameter that asks for them
# (each model's spec decides what that becomes, e.g. Google Search grounding, or refuses it).
SERVER_TOOLS = {"web_search": ("web_search_options", {})}


def _bad(message: str, param: str = "messages", model: str | None = None) -> BadRequestError:
    return BadRequestError(message, param=param, model=model)


# --------------------------------------------------------------------------- request: Anthropic -> OpenAI


def _data_url(source: Any, where: str) -> str:
    if not isinstance(source, dict):
        raise _bad(f"{where}.source must be an object")
    kind = source.get("type")
    if kind == "base64":
        if not isinstance(source.get("media_type"), str) or not isinstance(source.get("data"), str):
            raise _bad(f"{where}.source: a base64 source needs 'media_type' and 'data' strings")
        return f"data:{source['media_type']};base64,{source['data']}"
    if kind == "url" and isinstance(source.get("url"), str):
        return source["url"]
    raise _bad(f"{where}.source: type must be 'base64' or 'url' (got {short(kind)})")


def _part(block: Any, where: str) -> dict[str, Any]:
    """One user-side Anthropic block (text, image, document) → an OpenAI content part."""
    if not isinstance(block, dict):
        raise _bad(f"{where}: each content block must be an object")
    kind = block.get("type")
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise _bad(f"{where}: a text block needs a string 'text'")
        part: dict[str, Any] = {"type": "text", "text": block["text"]}
    elif kind == "image":
        part = {"type": "image_url", "image_url": {"url": _data_url(block.get("source") or {}, where)}}
    elif kind == "document":
        source = block.get("source")
        if not isinstance(source, dict):
            raise _bad(f"{where}.source must be an object")
        if source.get("type") == "text":
            part = {"type": "text", "text": str(source.get("data") or "")}
        elif source.get("type") == "url":
            part = {"type": "file", "file": {"file_id": _data_url(source, where)}}
        else:
            part = {"type": "file", "file": {"file_data": _data_url(source, where)}}
    else:
        raise _bad(f"{where}: unsupported content block type {short(kind)} here")
    if block.get("cache_control") is not None:
        part["cache_control"] = block["cache_control"]
    return part


def _parts(content: Any, where: str) -> Any:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad(f"{where}: content must be a string or a list of blocks")
    parts = [_part(block, f"{where}[{i}]") for i, block in enumerate(content)]
    if all(p.keys() == {"type", "text"} for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _tool_result(block: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """A ``tool_result`` → a ``tool`` message (text), plus a user message for any image it holds."""
    if not isinstance(block.get("tool_use_id"), str):
        raise _bad(f"{where}: a tool_result needs 'tool_use_id'")
    content = block.get("content")
    if content is not None and not isinstance(content, (str, list)):
        raise _bad(f"{where}.content must be a string or a list of blocks")
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
    texts, media = [], []
    for i, item in enumerate(blocks):
        part = _part(item, f"{where}.content[{i}]")
        (texts if part["type"] == "text" else media).append(part)
    text = "".join(p["text"] for p in texts)
    if block.get("is_error"):
        text = f"Error: {text}" if text else "Error"
    out = [{"role": "tool", "tool_call_id": block["tool_use_id"], "content": text}]
    if media:
        out.append({"role": "user", "content": media})
    return out


def _user(content: Any, where: str) -> list[dict[str, Any]]:
    """Tool results first (OpenAI wants them right after the assistant's calls), then the rest."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    if not isinstance(content, list):
        raise _bad(f"{where}: content must be a string or a list of blocks")
    results: list[dict[str, Any]] = []
    rest: list[Any] = []
    for i, block in enumerate(content):
        if isinstance(block, dict) and block.get("type") == "tool_result":
            results += _tool_result(block, f"{where}[{i}]")
        else:
            rest.append(block)
    if rest:
        results.append({"role": "user", "content": _parts(rest, where)})
    return results


def _assistant(content: Any, where: str) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    if not isinstance(content, list):
        raise _bad(f"{where}: content must be a string or a list of blocks")
    message: dict[str, Any] = {"role": "assistant", "content": None}
    texts: list[str] = []
    thinking: list[Block] = []
    calls: list[dict[str, Any]] = []
    for i, block in enumerate(content):
        bwhere = f"{where}[{i}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "thinking":
            thinking.append(
                {
                    "type": "thinking",
                    "thinking": block.get("thinking") or "",
                    "signature": block.get("signature"),
                }
            )
        elif kind == "redacted_thinking":
            thinking.append({"type": "redacted_thinking", "data": block.get("data")})
        elif kind == "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise _bad(f"{bwhere}: a tool_use block needs 'id' and 'name'")
            calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {
                        "name": block["name"],
                        "arguments": json.dumps(block.get("input") or {}, ensure_ascii=False),
                    },
                }
            )
        else:
            raise _bad(f"{bwhere}: unsupported assistant content block type {short(kind)}")
    if texts:
        message["content"] = "".join(texts)
    if thinking:
        message["thinking_blocks"] = thinking
        text = "".join(b.get("thinking") or "" for b in thinking)
        if text:
            message["reasoning_content"] = text
    if calls:
        message["tool_calls"] = calls
    return message


def _system(system: Any) -> dict[str, Any]:
    return {"role": "system", "content": _parts(system, "system")}


def to_openai_messages(messages: Any, system: Any = None) -> list[dict[str, Any]]:
    """Anthropic ``system`` + ``messages`` → OpenAI chat messages."""
    if not isinstance(messages, list) or not messages:
        raise _bad("'messages' must be a non-empty list")
    out = [_system(system)] if system not in (None, "", []) else []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise _bad(f"{where}: each message must be an object")
        role = message.get("role")
        if role == "user":
            out += _user(message.get("content"), f"{where}.content")
        elif role == "assistant":
            out.append(_assistant(message.get("content"), f"{where}.content"))
        else:
            raise _bad(f"{where}: role must be 'user' or 'assistant', got {short(role)}")
    return out


def to_openai_tools(tools: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Custom tools → OpenAI function tools; ``web_search_*`` → the chat parameter ``web_search_options``."""
    if not isinstance(tools, list):
        raise _bad("'tools' must be a list", "tools")
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {}
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise _bad(f"tools[{i}] must be an object", "tools")
        kind = tool.get("type")
        if kind in (None, "custom"):
            if not isinstance(tool.get("name"), str):
                raise _bad(f"tools[{i}].name is required", "tools")
            function: dict[str, Any] = {"name": tool["name"]}
            if tool.get("description"):
                function["description"] = tool["description"]
            function["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
            out.append({"type": "function", "function": function})
            continue
        base = kind.rsplit("_", 1)[0] if isinstance(kind, str) else kind
        if base not in SERVER_TOOLS:
            raise _bad(
                f"tools[{i}]: Anthropic's built-in tool {short(kind)} has no counterpart on this model "
                "(supported: custom tools and web_search)",
                "tools",
            )
        name, value = SERVER_TOOLS[base]
        params[name] = dict(value)
    return out, params


def to_openai_tool_choice(choice: Any) -> tuple[Any, bool | None]:
    """Anthropic ``tool_choice`` → (OpenAI ``tool_choice``, ``parallel_tool_calls`` or None)."""
    if not isinstance(choice, dict) or choice.get("type") not in (*TOOL_CHOICE, "tool"):
        raise _bad("tool_choice must be {'type': 'auto' | 'any' | 'none' | 'tool', ...}", "tool_choice")
    parallel = None
    if choice.get("disable_parallel_tool_use") is not None:
        parallel = not bool(choice["disable_parallel_tool_use"])
    if choice["type"] == "tool":
        if not isinstance(choice.get("name"), str):
            raise _bad("tool_choice of type 'tool' needs a 'name'", "tool_choice")
        return {"type": "function", "function": {"name": choice["name"]}}, parallel
    return TOOL_CHOICE[choice["type"]], parallel


def _output_config(config: Any, out: dict[str, Any]) -> None:
    """``output_config``: ``format`` (JSON schema) → ``response_format``; ``effort`` → ``reasoning_effort``."""
    if not isinstance(config, dict):
        raise _bad("output_config must be an object", "output_config")
    unknown = sorted(set(config) - {"format", "effort"})
    if unknown:
        raise _bad(f"output_config.{unknown[0]} has no counterpart on this model", "output_config")
    fmt = config.get("format")
    if fmt is not None:
        if (
            not isinstance(fmt, dict)
            or fmt.get("type") != "json_schema"
            or not isinstance(fmt.get("schema"), dict)
        ):
            raise _bad(
                "output_config.format must be {'type': 'json_schema', 'schema': {...}}", "output_config"
            )
        out["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": fmt["schema"]},
        }
    if config.get("effort") is not None:
        out["reasoning_effort"] = config["effort"]


def _thinking(value: Any, out: dict[str, Any]) -> None:
    if not isinstance(value, dict):
        raise _bad("thinking must be an object", "thinking")
    if value.get("type") == "adaptive":
        out.setdefault("reasoning_effort", "medium")
        return
    out["thinking"] = {k: v for k, v in value.items() if k in ("type", "budget_tokens")}


def to_openai_request(body: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic request body (without ``model`` and ``stream``) → ``engine.completion`` arguments."""
    body = dict(body)
    out: dict[str, Any] = {
        "messages": to_openai_messages(body.pop("messages", None), body.pop("system", None))
    }
    for name in SAME:
        if body.get(name) is not None:
            out[name] = body.pop(name)
        body.pop(name, None)
    if body.get("stop_sequences") is not None:
        out["stop"] = body.pop("stop_sequences")
    if body.get("tools"):
        tools, params = to_openai_tools(body.pop("tools"))
        out.update(params)
        if tools:
            out["tools"] = tools
    body.pop("tools", None)
    if body.get("tool_choice") is not None:
        choice, parallel = to_openai_tool_choice(body.pop("tool_choice"))
        if out.get("tools"):
            out["tool_choice"] = choice
            if parallel is not None:
                out["parallel_tool_calls"] = parallel
    if body.get("output_config") is not None:
        _output_config(body.pop("output_config"), out)
    if body.get("thinking") is not None:
        _thinking(body.pop("thinking"), out)
    dropped = tuple(sorted(k for k in body if k in DROPPED and body[k] is not None))
    if (
        dropped and dropped not in _warned
    ):  # once per process and set of fields: agents send them on every call
        _warned.add(dropped)
        log.warning(
            "Anthropic field(s) %s have no counterpart on this model and are dropped", ", ".join(dropped)
        )
    unknown = sorted(k for k in body if k not in DROPPED and body[k] is not None)
    if unknown:
        raise BadRequestError(
            f"Anthropic field(s) {', '.join(unknown)} have no counterpart on this model",
            param=unknown[0],
        )
    return out


def to_openai_count_request(body: dict[str, Any]) -> dict[str, Any]:
    """A ``count_tokens`` body → arguments of the engine's ``count_tokens`` (messages and tools only)."""
    out = {"messages": to_openai_messages(body.get("messages"), body.get("system"))}
    tools = to_openai_tools(body.get("tools") or [])[0]
    if tools:
        out["tools"] = tools
    return out


# --------------------------------------------------------------------------- reply: OpenAI -> Anthropic


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex[:24]


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {"_raw": raw}
    return raw if raw is not None else {}


def usage_of(usage: Any) -> dict[str, Any]:
    """OpenAI usage → Anthropic's: input excludes cached tokens, which are reported apart."""
    usage = usage or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    return {
        "input_tokens": max(prompt - cached, 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


def _thinking_blocks(message: dict[str, Any]) -> list[Block]:
    blocks = []
    for block in message.get("thinking_blocks") or []:
        if block.get("type") == "redacted_thinking":
            blocks.append({"type": "redacted_thinking", "data": block.get("data") or ""})
        else:
            blocks.append(
                {
                    "type": "thinking",
                    "thinking": block.get("thinking") or "",
                    "signature": block.get("signature") or block.get("thoughtSignature") or "",
                }
            )
    if not blocks and message.get("reasoning_content"):
        blocks.append({"type": "thinking", "thinking": message["reasoning_content"], "signature": ""})
    return blocks


def from_openai_response(response: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` → Anthropic's ``message`` (the first choice)."""
    choice = (response.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[Block] = _thinking_blocks(message)
    if message.get("content"):
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": _arguments(function.get("arguments")),
            }
        )
    return {
        "id": new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASONS.get(choice.get("finish_reason") or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": usage_of(response.get("usage")),
    }


class StreamTranslator:
    """OpenAI ``chat.completion.chunk`` objects → Anthropic's stream events, one block at a time.

    Anthropic streams one content block at a time (``content_block_start``, deltas,
    ``content_block_stop``); a change of kind (thinking → text → tool call) closes the
    open block and starts the next. Usage arrives last in OpenAI's stream, so
    ``message_start`` carries zeros and ``message_delta`` the real counts.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.started = False
        self.index = -1
        self.open: str | None = None  # "thinking" | "text" | ("tool", n)
        self.tool_keys: dict[int, int] = {}  # OpenAI tool-call index -> block index
        self.finish: str | None = None
        self.usage: dict[str, Any] = {}

    def _start(self) -> list[dict[str, Any]]:
        if self.started:
            return []
        self.started = True
        message = {
            "id": new_message_id(),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [{"type": "message_start", "message": message}]

    def _close(self) -> list[dict[str, Any]]:
        if self.open is None:
            return []
        self.open = None
        return [{"type": "content_block_stop", "index": self.index}]

    def _open(self, kind: Any, block: Block) -> list[dict[str, Any]]:
        events = self._close()
        self.index += 1
        self.open = kind
        return [*events, {"type": "content_block_start", "index": self.index, "content_block": block}]

    def _delta(self, delta: Block) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": self.index, "delta": delta}

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        events = self._start()
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            events += self._choice(choice.get("delta") or {})
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return events

    def _choice(self, delta: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if delta.get("reasoning_content"):
            if self.open != "thinking":
                events += self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            events.append(self._delta({"type": "thinking_delta", "thinking": delta["reasoning_content"]}))
        for block in delta.get("thinking_blocks") or []:
            signature = block.get("signature") or block.get("thoughtSignature")
            if block.get("type") == "redacted_thinking":
                events += self._open(
                    "redacted", {"type": "redacted_thinking", "data": block.get("data") or ""}
                )
            elif signature:
                if self.open != "thinking":
                    events += self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                events.append(self._delta({"type": "signature_delta", "signature": signature}))
        if delta.get("content"):
            if self.open != "text":
                events += self._open("text", {"type": "text", "text": ""})
            events.append(self._delta({"type": "text_delta", "text": delta["content"]}))
        for call in delta.get("tool_calls") or []:
            key = call.get("index", 0)
            function = call.get("function") or {}
            if key not in self.tool_keys:
                block = {"type": "tool_use", "id": call.get("id"), "name": function.get("name"), "input": {}}
                events += self._open(("tool", key), block)
                self.tool_keys[key] = self.index
            elif self.open != ("tool", key):
                continue  # a late fragment of an earlier call: Anthropic cannot reopen a block
            if function.get("arguments"):
                events.append(
                    self._delta({"type": "input_json_delta", "partial_json": function["arguments"]})
                )
        return events

    def finish_events(self) -> list[dict[str, Any]]:
        events = self._start() + self._close()
        events.append(
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": STOP_REASONS.get(self.finish or "stop", "end_turn"),
                    "stop_sequence": None,
                },
                "usage": usage_of(self.usage),
            }
        )
        events.append({"type": "message_stop"})
        return events


def translate_stream(chunks: Iterable[dict[str, Any]], model: str) -> Iterable[dict[str, Any]]:
    """Synchronous form of :class:`StreamTranslator` over a whole chunk sequence."""
    translator = StreamTranslator(model)
    for chunk in chunks:
        yield from translator.feed(chunk)
    yield from translator.finish_events()
