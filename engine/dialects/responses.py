"""OpenAI Responses API ⇄ OpenAI chat: input items to messages, chat replies to output items and events.

The Responses API is another shape of the same conversation: ``input`` items
(messages with ``input_text`` / ``input_image`` / ``input_file`` parts,
``function_call`` and ``function_call_output`` items, ``reasoning`` items) instead of
messages, ``instructions`` instead of a system message, ``text.format`` instead of
``response_format``, ``reasoning.effort`` instead of ``reasoning_effort``; the reply
is a list of output items (``reasoning``, ``message``, ``function_call``). Pure
functions, no I/O; every model is reached through the engine's chat pipeline.

Thought signatures (Gemini, Claude) ride in a reasoning item's ``encrypted_content``
and in function-call ids, so a client that replays the output items by hand (without
``previous_response_id``) still sends them back.
References: https://platform.openai.com/docs/api-reference/responses,
https://platform.openai.com/docs/api-reference/responses-streaming.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from engine.errors import BadRequestError
from engine.redact import short

SAME = ("temperature", "top_p", "parallel_tool_calls", "top_logprobs")
# Accepted and echoed, with nothing to send upstream.
ECHOED = frozenset(
    {
        "metadata",
        "store",
        "previous_response_id",
        "include",
        "truncation",
        "service_tier",
        "user",
        "prompt_cache_key",
        "safety_identifier",
        "stream_options",
    }
)
ENCRYPTED_PREFIX = "vxl1:"
# Built-in tools with an OpenAI chat counterpart: the chat parameter that asks for them (the model's spec
# decides what that becomes, e.g. Google Search grounding, or refuses it with its name).
SERVER_TOOLS = {"web_search": ("web_search_options", {}), "web_search_preview": ("web_search_options", {})}


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _bad(message: str, param: str = "input") -> BadRequestError:
    return BadRequestError(message, param=param)


# --------------------------------------------------------------------------- thought signatures


def encode_blocks(blocks: list[dict[str, Any]]) -> str | None:
    """Thinking blocks that carry a signature, as an opaque ``encrypted_content`` string."""
    kept = [b for b in blocks if b.get("signature") or b.get("data")]
    if not kept:
        return None
    return ENCRYPTED_PREFIX + base64.urlsafe_b64encode(json.dumps(kept).encode()).decode()


def decode_blocks(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, str) or not value.startswith(ENCRYPTED_PREFIX):
        return []
    try:
        blocks = json.loads(base64.urlsafe_b64decode(value[len(ENCRYPTED_PREFIX) :].encode()))
    except ValueError:
        return []
    return [b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else []


# --------------------------------------------------------------------------- request


def _part(part: Any, where: str) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise _bad(f"{where}: each content part must be an object")
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": str(part.get("text") or "")}
    if kind == "refusal":
        return {"type": "text", "text": str(part.get("refusal") or "")}
    if kind == "input_image":
        url = part.get("image_url") or part.get("file_id")
        if not isinstance(url, str) or not url:
            raise _bad(f"{where}: an input_image needs 'image_url' (a URL or data: URL)")
        image: dict[str, Any] = {"url": url}
        if part.get("detail") not in (None, "auto"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        data, url = part.get("file_data"), part.get("file_url") or part.get("file_id")
        file: dict[str, Any] = {}
        if isinstance(data, str) and data:
            file["file_data"] = data
        elif isinstance(url, str) and url:
            file["file_id"] = url
        else:
            raise _bad(f"{where}: an input_file needs 'file_data' (a data: URL) or 'file_url'")
        if part.get("filename"):
            file["filename"] = part["filename"]
        return {"type": "file", "file": file}
    raise _bad(f"{where}: unsupported content part type {short(kind)}")


def _content(content: Any, where: str) -> Any:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad(f"{where}: content must be a string or a list of parts")
    parts = [_part(p, f"{where}[{i}]") for i, p in enumerate(content)]
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _output_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(p.get("text") or "") for p in value if isinstance(p, dict))
    return json.dumps(value)


class _Messages:
    """Builds chat messages, merging consecutive assistant items (text, calls, reasoning) into one turn."""

    def __init__(self) -> None:
        self.out: list[dict[str, Any]] = []
        self.blocks: list[dict[str, Any]] = []  # reasoning waiting for the next assistant turn

    def _assistant(self) -> dict[str, Any]:
        last = self.out[-1] if self.out else None
        if last is None or last["role"] != "assistant":
            last = {"role": "assistant", "content": None}
            self.out.append(last)
        if self.blocks:
            last.setdefault("thinking_blocks", []).extend(self.blocks)
            self.blocks = []
        return last

    def add(self, item: Any, where: str) -> None:
        if not isinstance(item, dict):
            raise _bad(f"{where}: each input item must be an object")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "system", "developer", "assistant"):
                raise _bad(f"{where}: role must be user, system, developer or assistant, got {short(role)}")
            content = _content(item.get("content"), f"{where}.content")
            if role == "assistant":
                turn = self._assistant()
                text = content if isinstance(content, str) else _output_text(content)
                turn["content"] = (turn["content"] or "") + text
            else:
                self.out.append({"role": "system" if role == "developer" else role, "content": content})
        elif kind == "function_call":
            if not isinstance(item.get("call_id"), str) or not isinstance(item.get("name"), str):
                raise _bad(f"{where}: a function_call item needs 'call_id' and 'name'")
            call = {
                "id": item["call_id"],
                "type": "function",
                "function": {"name": item["name"], "arguments": item.get("arguments") or "{}"},
            }
            self._assistant().setdefault("tool_calls", []).append(call)
        elif kind == "function_call_output":
            if not isinstance(item.get("call_id"), str):
                raise _bad(f"{where}: a function_call_output item needs 'call_id'")
            self.out.append(
                {"role": "tool", "tool_call_id": item["call_id"], "content": _output_text(item.get("output"))}
            )
        elif kind == "reasoning":
            blocks = decode_blocks(item.get("encrypted_content"))
            summary = item.get("summary")
            if not blocks and isinstance(summary, list):
                text = "".join(str(s.get("text") or "") for s in summary if isinstance(s, dict))
                blocks = [{"type": "thinking", "thinking": text}] if text else []
            self.blocks += blocks
        else:
            raise _bad(f"{where}: unsupported input item type {short(kind)}")


def input_messages(value: Any) -> list[dict[str, Any]]:
    """``input`` (a string or a list of items) → OpenAI chat messages."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise _bad("'input' must be a string or a non-empty list of items")
    builder = _Messages()
    for i, item in enumerate(value):
        builder.add(item, f"input[{i}]")
    return builder.out


def chat_tools(tools: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Function tools → chat function tools; built-in tools → their chat parameter."""
    if not isinstance(tools, list):
        raise _bad("'tools' must be a list", "tools")
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {}
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "function":
            if not isinstance(tool.get("name"), str):
                raise _bad(f"tools[{i}].name is required", "tools")
            function = {
                "name": tool["name"],
                "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
            }
            if tool.get("description"):
                function["description"] = tool["description"]
            out.append({"type": "function", "function": function})
        elif kind in SERVER_TOOLS:
            name, value = SERVER_TOOLS[kind]
            params[name] = dict(value)
        else:
            raise _bad(
                f"tools[{i}]: tool type {short(kind)} is not supported (function, web_search)", "tools"
            )
    return out, params


def chat_tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise _bad(
        "tool_choice must be 'auto', 'none', 'required' or {'type': 'function', 'name': ...}", "tool_choice"
    )


def chat_response_format(text: Any) -> dict[str, Any] | None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema" and isinstance(fmt.get("schema"), dict):
        schema = {"name": fmt.get("name") or "output", "schema": fmt["schema"]}
        if fmt.get("strict") is not None:
            schema["strict"] = fmt["strict"]
        return {"type": "json_schema", "json_schema": schema}
    raise _bad("text.format must be text, json_object or {'type': 'json_schema', 'name', 'schema'}", "text")


def to_chat_request(
    body: dict[str, Any], history: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A Responses request → (``completion`` arguments, the conversation to store after the reply)."""
    body = dict(body)
    new = input_messages(body.pop("input", None))
    conversation = [*history, *new]
    instructions = body.pop("instructions", None)
    if instructions is not None and not isinstance(instructions, str):
        raise _bad("'instructions' must be a string", "instructions")
    messages = ([{"role": "system", "content": instructions}] if instructions else []) + conversation
    out: dict[str, Any] = {"messages": messages}
    for name in SAME:
        if body.get(name) is not None:
            out[name] = body[name]
        body.pop(name, None)
    if body.get("max_output_tokens") is not None:
        out["max_tokens"] = body["max_output_tokens"]
    body.pop("max_output_tokens", None)
    tools, params = chat_tools(body["tools"]) if body.get("tools") else ([], {})
    out.update(params)
    if tools:
        out["tools"] = tools
    else:
        out.pop("parallel_tool_calls", None)
    body.pop("tools", None)
    if body.get("tool_choice") is not None and out.get("tools"):
        out["tool_choice"] = chat_tool_choice(body["tool_choice"])
    body.pop("tool_choice", None)
    reasoning = body.pop("reasoning", None)
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        out["reasoning_effort"] = reasoning["effort"]
    elif reasoning is not None and not isinstance(reasoning, dict):
        raise _bad("'reasoning' must be an object", "reasoning")
    fmt = chat_response_format(body.pop("text", None))
    if fmt is not None:
        out["response_format"] = fmt
    if body.pop("background", None):
        raise _bad("background responses are not supported", "background")
    unknown = sorted(k for k, v in body.items() if k not in ECHOED and v is not None)
    if unknown:
        raise BadRequestError(
            f"Responses parameter(s) {', '.join(unknown)} are not supported", param=unknown[0]
        )
    return out, conversation


# --------------------------------------------------------------------------- reply


def usage_of(usage: Any) -> dict[str, Any]:
    usage = usage or {}
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0),
            "cache_write_tokens": int(usage.get("cache_creation_input_tokens") or 0),
        },
        "output_tokens": completion,
        "output_tokens_details": {
            "reasoning_tokens": int(
                (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
            )
        },
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
    }


def reasoning_item(item_id: str, text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": item_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}] if text else [],
    }
    encrypted = encode_blocks(blocks)
    if encrypted:
        item["encrypted_content"] = encrypted
    return item


def annotations_of(chat_annotations: Any) -> list[dict[str, Any]]:
    """Chat ``url_citation`` annotations (Google Search grounding) → Responses ``url_citation`` annotations."""
    out = []
    for note in chat_annotations if isinstance(chat_annotations, list) else []:
        citation = note.get("url_citation") if isinstance(note, dict) else None
        if note.get("type") == "url_citation" and isinstance(citation, dict):
            out.append(
                {
                    "type": "url_citation",
                    **{k: citation.get(k) for k in ("start_index", "end_index", "url", "title")},
                }
            )
    return out


def message_item(
    item_id: str, text: str, status: str = "completed", annotations: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": annotations or []}],
    }


def function_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def output_items(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A chat ``message`` → Responses output items: reasoning, message, function calls."""
    items = []
    blocks = list(message.get("thinking_blocks") or [])
    text = message.get("reasoning_content") or "".join(b.get("thinking") or "" for b in blocks)
    if text or encode_blocks(blocks):
        items.append(reasoning_item(new_id("rs"), text, blocks))
    if message.get("content"):
        items.append(
            message_item(
                new_id("msg"), message["content"], annotations=annotations_of(message.get("annotations"))
            )
        )
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        items.append(
            function_item(
                new_id("fc"), call.get("id"), function.get("name"), function.get("arguments") or "{}"
            )
        )
    return items


INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def envelope(body: dict[str, Any], model: str, response_id: str, created: int) -> dict[str, Any]:
    """The Response object's fields that echo the request."""
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": body.get("store", True),
        "temperature": body.get("temperature"),
        "text": {"format": text.get("format") or {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p"),
        "truncation": body.get("truncation") or "disabled",
        "usage": None,
        "metadata": body.get("metadata") or {},
    }


def finish(
    response: dict[str, Any], items: list[dict[str, Any]], finish_reason: str | None, usage: Any
) -> dict[str, Any]:
    reason = INCOMPLETE.get(finish_reason or "")
    response.update(
        {
            "status": "incomplete" if reason else "completed",
            "incomplete_details": {"reason": reason} if reason else None,
            "output": items,
            "usage": usage_of(usage),
        }
    )
    return response


def output_text(response: dict[str, Any]) -> str:
    return "".join(
        part.get("text") or ""
        for item in response.get("output") or []
        if item.get("type") == "message"
        for part in item.get("content") or []
        if part.get("type") == "output_text"
    )


def from_chat_response(
    chat: dict[str, Any], body: dict[str, Any], model: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ``chat.completion`` → (the Response object, the assistant message to store)."""
    choice = (chat.get("choices") or [{}])[0]
    message = dict(choice.get("message") or {})
    response = envelope(body, model, new_id("resp"), int(time.time()))
    finish(response, output_items(message), choice.get("finish_reason"), chat.get("usage"))
    response["output_text"] = output_text(response)
    return response, _stored_message(message)


def _stored_message(message: dict[str, Any]) -> dict[str, Any]:
    keep = ("role", "content", "tool_calls", "thinking_blocks", "reasoning_content")
    return {k: message[k] for k in keep if message.get(k) is not None} | {"role": "assistant"}


class StreamTranslator:
    """``chat.completion.chunk`` objects → Responses stream events, with ``sequence_number``s.

    One output item is open at a time (reasoning, then message text, then each
    function call); a change of kind closes it with its ``*.done`` events. The last
    event is ``response.completed`` with every item and the usage.
    """

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response
        self.sequence = 0
        self.items: list[dict[str, Any]] = []
        self.open: dict[str, Any] | None = None
        self.reasoning_text: list[str] = []
        self.blocks: list[dict[str, Any]] = []
        self.text: list[str] = []
        self.annotations: list[dict[str, Any]] = []
        self.calls: dict[int, dict[str, Any]] = {}  # chunk tool index -> {item, arguments, chat call}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.message: dict[str, Any] = {"role": "assistant", "content": None}

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    def start(self) -> list[dict[str, Any]]:
        snapshot = dict(self.response)
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=dict(snapshot)),
        ]

    def _close(self) -> list[dict[str, Any]]:
        item, self.open = self.open, None
        if item is None:
            return []
        index = self.items.index(item)
        events: list[dict[str, Any]] = []
        if item["type"] == "reasoning":
            text = "".join(self.reasoning_text)
            done = reasoning_item(item["id"], text, self.blocks)
            if item.get("summary_started"):
                part = {"type": "summary_text", "text": text}
                events.append(
                    self._event(
                        "response.reasoning_summary_text.done",
                        item_id=item["id"],
                        output_index=index,
                        summary_index=0,
                        text=text,
                    )
                )
                events.append(
                    self._event(
                        "response.reasoning_summary_part.done",
                        item_id=item["id"],
                        output_index=index,
                        summary_index=0,
                        part=part,
                    )
                )
        elif item["type"] == "message":
            text = "".join(self.text)
            done = message_item(item["id"], text, annotations=self.annotations)
            part = done["content"][0]
            events.append(
                self._event(
                    "response.output_text.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    text=text,
                    logprobs=[],
                )
            )
            events.append(
                self._event(
                    "response.content_part.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    part=part,
                )
            )
        else:
            call = next(c for c in self.calls.values() if c["item"] is item)
            arguments = "".join(call["arguments"]) or "{}"
            done = function_item(item["id"], item["call_id"], item["name"], arguments)
            call["chat"]["function"]["arguments"] = arguments
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    name=item["name"],
                    arguments=arguments,
                )
            )
        self.items[index] = done
        events.append(self._event("response.output_item.done", output_index=index, item=done))
        return events

    def _add(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        events = self._close()
        self.items.append(item)
        self.open = item
        shown = {k: v for k, v in item.items() if k != "summary_started"}
        events.append(self._event("response.output_item.added", output_index=len(self.items) - 1, item=shown))
        return events

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            events += self._delta(choice.get("delta") or {})
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def _reasoning(self) -> list[dict[str, Any]]:
        if self.open is not None and self.open["type"] == "reasoning":
            return []
        if any(i["type"] == "reasoning" for i in self.items):
            return []  # one reasoning item per answer; late thinking joins it in the stored turn
        return self._add({"id": new_id("rs"), "type": "reasoning", "summary": []})

    def _delta(self, delta: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if delta.get("reasoning_content"):
            events += self._reasoning()
            item = self.open
            if item is not None and item["type"] == "reasoning":
                index = self.items.index(item)
                if not item.get("summary_started"):
                    item["summary_started"] = True
                    part = {"type": "summary_text", "text": ""}
                    events.append(
                        self._event(
                            "response.reasoning_summary_part.added",
                            item_id=item["id"],
                            output_index=index,
                            summary_index=0,
                            part=part,
                        )
                    )
                events.append(
                    self._event(
                        "response.reasoning_summary_text.delta",
                        item_id=item["id"],
                        output_index=index,
                        summary_index=0,
                        delta=delta["reasoning_content"],
                    )
                )
            self.reasoning_text.append(delta["reasoning_content"])
        self.annotations += annotations_of(delta.get("annotations"))
        for block in delta.get("thinking_blocks") or []:
            self._block(block)
        if delta.get("content"):
            if self.open is None or self.open["type"] != "message":
                if any(i["type"] == "message" for i in self.items):
                    pass  # text after a tool call joins the message already given
                else:
                    item = {
                        "id": new_id("msg"),
                        "type": "message",
                        "role": "assistant",
                        "status": "in_progress",
                        "content": [],
                    }
                    events += self._add(item)
                    events.append(
                        self._event(
                            "response.content_part.added",
                            item_id=item["id"],
                            output_index=len(self.items) - 1,
                            content_index=0,
                            part={"type": "output_text", "text": "", "annotations": []},
                        )
                    )
            item = (
                next(i for i in self.items if i["type"] == "message" and i is self.open)
                if self.open and self.open["type"] == "message"
                else None
            )
            if item is not None:
                events.append(
                    self._event(
                        "response.output_text.delta",
                        item_id=item["id"],
                        output_index=self.items.index(item),
                        content_index=0,
                        delta=delta["content"],
                        logprobs=[],
                    )
                )
            self.text.append(delta["content"])
        for call in delta.get("tool_calls") or []:
            key = call.get("index", 0)
            function = call.get("function") or {}
            if key not in self.calls:
                item = function_item(new_id("fc"), call.get("id"), function.get("name"), "", "in_progress")
                chat = {
                    "id": call.get("id"),
                    "type": "function",
                    "function": {"name": function.get("name"), "arguments": ""},
                }
                if call.get("provider_specific_fields"):
                    chat["provider_specific_fields"] = call["provider_specific_fields"]
                self.calls[key] = {"item": item, "arguments": [], "chat": chat}
                events += self._add(item)
            entry = self.calls[key]
            if function.get("arguments"):
                entry["arguments"].append(function["arguments"])
                if self.open is entry["item"]:
                    index = self.items.index(entry["item"])
                    events.append(
                        self._event(
                            "response.function_call_arguments.delta",
                            item_id=entry["item"]["id"],
                            output_index=index,
                            delta=function["arguments"],
                        )
                    )
        return events

    def _block(self, block: Any) -> None:
        """Streamed thinking fragments joined into whole blocks (Claude checks the text against the signature)."""
        if not isinstance(block, dict):
            return
        last = self.blocks[-1] if self.blocks else None
        if (
            block.get("type") == "thinking"
            and last is not None
            and last.get("type") == "thinking"
            and not last.get("signature")
        ):
            last["thinking"] = (last.get("thinking") or "") + (block.get("thinking") or "")
            if block.get("signature"):
                last["signature"] = block["signature"]
            return
        self.blocks.append(dict(block))

    def finish(self) -> list[dict[str, Any]]:
        events = self._close()
        # calls whose arguments arrived after another item opened are closed with their full arguments
        finish(self.response, self.items, self.finish_reason, self.usage)
        events.append(self._event("response.completed", response=self.response))
        return events

    def assistant_message(self) -> dict[str, Any]:
        """The answer as a chat message, for the stored conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or None}
        if self.calls:
            message["tool_calls"] = [c["chat"] for _, c in sorted(self.calls.items())]
        if self.blocks:
            message["thinking_blocks"] = self.blocks
        if self.reasoning_text:
            message["reasoning_content"] = "".join(self.reasoning_text)
        return {k: v for k, v in message.items() if v is not None} | {"role": "assistant"}
