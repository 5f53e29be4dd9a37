"""Normalize upstream replies into OpenAI objects, driven by a spec's extractors.

The spec says *where* things are (JMESPath); this module knows only the OpenAI
shapes: a chat completion has choices with a message, a chunk has choices with a
delta, usage has prompt and completion tokens. Choice fields the builder does not
know by name (``reasoning_content``, ``thinking_blocks``, ``annotations``...) are
copied onto the message as they are, so a spec can add fields without code.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from engine.compiler import Items, ResponseSpec
from engine.errors import APIResponseValidationError
from engine.types import (
    EmbeddingResponse,
    FileContent,
    ImageResponse,
    ModelResponse,
    ModelResponseStream,
    OpenAIObject,
    SpeechResponse,
    TextCompletionResponse,
)

_dict_new, _dict_init = dict.__new__, dict.__init__
_CHOICE_KEYS = frozenset({"index", "finish_reason", "logprobs", "tool_calls", "content"})
# Choice fields not copied into a delta as they are:
_DELTA_SKIP = frozenset({"index", "finish_reason", "logprobs", "tool_calls"})


def new_id(prefix: str = "chatcmpl-") -> str:
    return prefix + uuid.uuid4().hex


def _call_id(seed: str) -> str:
    return "call_" + hashlib.sha1(seed.encode()).hexdigest()[:24]


def normalize_tool_call(raw: dict[str, Any], seed: str) -> dict[str, Any]:
    """``{id?, name, arguments, provider_specific_fields?}`` from an extractor → an OpenAI tool call.

    ``provider_specific_fields`` (LiteLLM's name) is an object the spec fills with what the
    provider needs back on the next turn; its null entries are dropped. Other keys stay
    with the spec's transforms.
    """
    arguments = raw.get("arguments")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
    call: dict[str, Any] = {
        "id": raw.get("id") or _call_id(seed),
        "type": "function",
        "function": {"name": raw.get("name"), "arguments": arguments},
    }
    extra = raw.get("provider_specific_fields")
    if isinstance(extra, dict) and (fields := {k: v for k, v in extra.items() if v is not None}):
        call["provider_specific_fields"] = fields
    return call


def extract_usage(spec: ResponseSpec, data: Any) -> dict[str, Any] | None:
    if not spec.usage:
        return None
    found = spec.usage_section(data)  # the non-null values (one generated function per section)
    return {**dict.fromkeys(spec.usage), **found} if found else None


def usage_object(values: dict[str, Any] | None) -> dict[str, Any]:
    """OpenAI usage with ``prompt_tokens_details`` and ``completion_tokens_details`` always present."""
    values = dict(values or {})
    prompt = values.pop("prompt_tokens", None) or 0
    completion = values.pop("completion_tokens", None) or 0
    total = values.pop("total_tokens", None) or prompt + completion
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    usage["prompt_tokens_details"] = {"cached_tokens": values.pop("cached_tokens", None) or 0}
    usage["completion_tokens_details"] = {"reasoning_tokens": values.pop("reasoning_tokens", None) or 0}
    for key, value in values.items():
        if value is None:
            continue
        group, dot, name = key.partition(".")
        if dot and group in ("prompt_tokens_details", "completion_tokens_details"):
            usage[group][name] = value  # e.g. prompt_tokens_details.audio_tokens (per-modality counts)
        else:
            usage[key] = value
    return usage


def hidden_params(spec: ResponseSpec, data: Any) -> dict[str, Any]:
    return {**dict.fromkeys(spec.hidden), **spec.hidden_section(data)}  # every name, null where absent


def _items(items: Items, data: Any) -> list[Any]:
    found = items.each.search(data)
    return found if isinstance(found, list) else ([] if found is None else [found])


def _blocked_choice(items: Items, data: Any) -> dict[str, Any] | None:
    if items.when_empty is None:
        return None
    reason = items.when_empty[0].search(data)
    if reason is None:
        return None
    return {
        "index": 0,
        "finish_reason": items.when_empty[1] or "content_filter",
        "content": None,
        "block_reason": reason,
    }


def build_chat(spec: ResponseSpec, data: Any, model: str) -> ModelResponse:
    assert spec.choices is not None, "chat response spec without choices"
    response_id = (spec.id(data) if spec.id else None) or new_id()
    choices = []
    raw_items = _items(spec.choices, data)
    if not raw_items:
        blocked = _blocked_choice(spec.choices, data)
        if blocked is None:
            raise APIResponseValidationError(
                f"the reply has no choices at {spec.choices.each.expression!r}: {json.dumps(data)[:200]}",
                model=model,
            )
        choices.append(
            {
                "index": 0,
                "finish_reason": blocked["finish_reason"],
                "logprobs": None,
                "message": {"role": "assistant", "content": None},
            }
        )
    for position, raw in enumerate(raw_items):
        fields = spec.choices.section(raw)  # the non-null values; a missing name reads as null
        index = fields.get("index")
        index = position if index is None else index
        message: dict[str, Any] = {"role": "assistant", "content": fields.get("content")}
        calls = fields.get("tool_calls") or []
        if calls:
            message["tool_calls"] = [
                normalize_tool_call(c, f"{response_id}:{index}:{i}") for i, c in enumerate(calls)
            ]
        for key, value in fields.items():
            if key not in _CHOICE_KEYS and value not in (None, [], ""):
                message[key] = value
        finish = fields.get("finish_reason") or "stop"
        if calls and spec.choices.on_tool_calls and finish == "stop":
            finish = spec.choices.on_tool_calls
        choices.append(
            {"index": index, "finish_reason": finish, "logprobs": fields.get("logprobs"), "message": message}
        )
    resp = ModelResponse(
        id=response_id,
        object="chat.completion",
        created=_created(spec, data),
        model=model,
        system_fingerprint=None,
        choices=choices,
        usage=usage_object(extract_usage(spec, data)),
    )
    resp._hidden_params = hidden_params(spec, data)
    if raw_items == [] and choices:
        resp._hidden_params["block_reason"] = spec.choices.when_empty[0].search(data)  # type: ignore[index]
    return resp


def _created(spec: ResponseSpec, data: Any) -> int:
    value = spec.created(data) if spec.created else None
    return value if isinstance(value, int) else int(time.time())


def merge_per_choice(merged: list[Any], values: list[Any]) -> None:
    """A list-valued hidden extractor yields one entry per choice; across stream events the
    latest non-null entry of each position wins, so the stream ends with one entry per choice
    (as the unary reply has), not one list per event."""
    merged.extend([None] * (len(values) - len(merged)))
    for position, value in enumerate(values):
        if value is not None:
            merged[position] = value


class ChatStream:
    """Turns a sequence of decoded upstream events into ``chat.completion.chunk`` objects.

    Keeps the little state streaming needs: the response id, whether each choice
    has sent its role yet, the OpenAI index of every tool call (keyed by the
    upstream's own key, e.g. an Anthropic content-block index), and the latest usage.
    """

    def __init__(
        self,
        events: dict[str, ResponseSpec],
        chunk: ResponseSpec,
        event_key: Any,
        model: str,
        include_usage: bool,
        ctx: Any = None,
        chunk_finalize: list[Callable[..., Any]] | None = None,
    ) -> None:
        self.ctx = ctx  # the request context, for the spec's chunk_finalize transforms
        self.chunk_finalize = list(chunk_finalize or [])
        self.events = events
        self.chunk_spec = chunk
        self.event_key = event_key
        self.model = model
        self.include_usage = include_usage
        self.id: str | None = None
        self.created = int(time.time())
        self.role_sent: set[int] = set()
        self.tool_index: dict[int, dict[Any, int]] = {}
        self.tool_seen: set[int] = set()
        self.usage: dict[str, Any] = {}
        self.hidden: dict[str, Any] = {}
        self.text: dict[int, list[str]] = {}  # streamed content per choice, for stream finalize transforms
        if not self.chunk_finalize and type(self).feed is ChatStream.feed:
            self.feed = self._feed  # type: ignore[method-assign]  # nothing to run per chunk: one call less per event

    def feed(self, event: Any) -> list[ModelResponseStream]:
        chunks = self._feed(event)
        for fn in self.chunk_finalize:
            chunks = [fn(chunk, self.ctx) for chunk in chunks]
        return chunks

    def _feed(self, event: Any) -> list[ModelResponseStream]:
        spec = self.chunk_spec if self.event_key is None else self.events.get(self.event_key.search(event))
        if spec is None:
            return []
        if self.id is None and spec.id is not None:
            self.id = spec.id(event)
        # Sections return the non-null values only (engine/compiler.py): an event's absent parts cost nothing.
        usage = spec.usage_section(event)
        if usage:
            self.usage.update(usage)
        hidden = self.hidden
        for key, value in spec.hidden_section(event).items():
            if isinstance(value, list):
                if value:
                    merge_per_choice(hidden.setdefault(key, []), value)
                elif key not in hidden:
                    hidden[key] = []
            elif key in hidden:
                hidden[key].append(value)
            else:
                hidden[key] = [value]
        choices = spec.choices
        if choices is None:
            return []
        raw_items = choices.each.search(event)
        if not isinstance(raw_items, list):
            raw_items = [] if raw_items is None else [raw_items]
        if not raw_items and (blocked := _blocked_choice(choices, event)):
            return [
                self._chunk(
                    [{"index": 0, "delta": self._delta(0, {}), "finish_reason": blocked["finish_reason"]}]
                )
            ]
        out = []
        section, role_sent = choices.section, self.role_sent
        for position, raw in enumerate(raw_items):
            fields = section(raw)
            index = fields.get("index", position)
            delta = self._delta(index, fields)
            finish = fields.get("finish_reason")
            if finish == "stop" and index in self.tool_seen and choices.on_tool_calls:
                finish = choices.on_tool_calls
            if len(delta) > (0 if index in role_sent else 1) or finish:
                role_sent.add(index)
                choice = {
                    "index": index,
                    "delta": delta,
                    "finish_reason": finish,
                    "logprobs": fields.get("logprobs"),
                }
                out.append(self._chunk([choice]))
        return out

    def _delta(self, index: int, fields: dict[str, Any]) -> dict[str, Any]:
        delta: dict[str, Any] = {} if index in self.role_sent else {"role": "assistant"}
        for key, value in fields.items():
            if key in _DELTA_SKIP or value == [] or value == "":
                continue
            delta[key] = value
        content = delta.get("content")
        if isinstance(content, str):
            text = self.text
            if index in text:
                text[index].append(content)
            else:
                text[index] = [content]
        calls = fields.get("tool_calls")
        if calls:
            delta["tool_calls"] = [self._tool_delta(index, call) for call in calls]
            self.tool_seen.add(index)
        return delta

    def _tool_delta(self, choice: int, raw: dict[str, Any]) -> dict[str, Any]:
        indices = self.tool_index.setdefault(choice, {})
        key = raw.get("key")
        if key is None or key not in indices:
            position = len(indices)
            indices[key if key is not None else object()] = position
            seed = f"{self.id}:{choice}:{position}"
            call = normalize_tool_call(raw, seed)
            call["index"] = position
            if raw.get("arguments") is None:
                call["function"]["arguments"] = ""
            return call
        args = raw.get("arguments")
        return {
            "index": indices[key],
            "function": {"arguments": args if isinstance(args, str) else json.dumps(args)},
        }

    def _chunk(self, choices: list[dict[str, Any]]) -> ModelResponseStream:
        if self.id is None:
            self.id = new_id()
        # What ModelResponseStream(...) builds, without its Python __init__ and __setattr__ (one per chunk).
        chunk = _dict_new(ModelResponseStream)
        _dict_init(
            chunk,
            id=self.id,
            object="chat.completion.chunk",
            created=self.created,
            model=self.model,
            system_fingerprint=None,
            choices=choices,
        )
        chunk.__dict__["_hidden_params"] = self.hidden
        return chunk

    def assembled(self) -> ModelResponse:
        """The streamed answer as one ``chat.completion`` (content only), for checks that need all of it."""
        choices = [
            {"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": "".join(parts)}}
            for i, parts in sorted(self.text.items())
        ]
        return ModelResponse(
            id=self.id or new_id(),
            object="chat.completion",
            created=self.created,
            model=self.model,
            choices=choices,
        )

    def finish(self) -> list[ModelResponseStream]:
        if not self.include_usage:
            return []
        chunk = self._chunk([])
        chunk["usage"] = usage_object(self.usage)
        return [chunk]


def build_text_completion(spec: ResponseSpec, data: Any, model: str) -> TextCompletionResponse:
    """OpenAI ``text_completion``: the chat extractors' ``content`` becomes ``text``."""
    chat = build_chat(spec, data, model)
    resp = TextCompletionResponse(
        id=chat["id"].replace("chatcmpl-", "cmpl-"),
        object="text_completion",
        created=chat["created"],
        model=model,
        choices=[
            {
                "index": c["index"],
                "text": c["message"]["content"] or "",
                "finish_reason": c["finish_reason"],
                "logprobs": None,
            }
            for c in chat["choices"]
        ],
        usage=chat["usage"],
    )
    resp._hidden_params = chat._hidden_params
    return resp


def build_embedding(spec: ResponseSpec, data: Any, model: str) -> EmbeddingResponse:
    assert spec.data is not None, "embedding response spec without data"
    items = []
    for position, raw in enumerate(_items(spec.data, data)):
        fields = {name: ex(raw) for name, ex in spec.data.fields.items()}
        items.append({"object": "embedding", "index": position, "embedding": fields.get("embedding")})
    usage = usage_object(extract_usage(spec, data))
    resp = EmbeddingResponse(
        object="list",
        data=items,
        model=model,
        usage={"prompt_tokens": usage["prompt_tokens"], "total_tokens": usage["total_tokens"]},
    )
    resp._hidden_params = hidden_params(spec, data)
    return resp


def build_images(spec: ResponseSpec, data: Any, model: str) -> ImageResponse:
    assert spec.data is not None, "image response spec without data"
    items = []
    for raw in _items(spec.data, data):
        fields = {name: ex(raw) for name, ex in spec.data.fields.items()}
        items.append({k: v for k, v in fields.items() if v is not None})
    resp = ImageResponse(created=_created(spec, data), data=items)
    resp._hidden_params = hidden_params(spec, data)
    return resp


def build_speech(spec: ResponseSpec, data: Any, model: str) -> SpeechResponse:
    """Audio: the first ``data`` item's ``content`` (bytes, via an extractor transform) and ``media_type``."""
    assert spec.data is not None, "speech response spec without data"
    found = _items(spec.data, data)
    fields = {name: ex(found[0]) for name, ex in spec.data.fields.items()} if found else {}
    content = fields.get("content")
    if not isinstance(content, bytes) or not content:
        raise APIResponseValidationError(f"the reply has no audio: {json.dumps(data)[:200]}", model=model)
    return SpeechResponse(
        content, fields.get("media_type") or "application/octet-stream", hidden_params(spec, data)
    )


def build_binary(spec: ResponseSpec, data: list[bytes], model: str) -> FileContent:
    """Bytes as they are: the downloaded parts (``format: binary``) joined; finalize transforms may convert them."""
    return FileContent(b"".join(data), "application/octet-stream")


def build_object(spec: ResponseSpec, data: Any, model: str) -> OpenAIObject:
    """A plain OpenAI object (a file, a batch, a fine-tuning job...) from the spec's ``fields``.

    With a ``data`` section it is a list object: ``fields`` for the envelope (``object``,
    ``has_more``...) and one object per element of ``data.each``. Operations without a
    dedicated builder use this one, so a new resource kind needs only a spec.
    """
    obj = OpenAIObject({name: ex(data) for name, ex in spec.fields.items()})
    if spec.data is not None:
        obj["data"] = [
            {name: ex(raw) for name, ex in spec.data.fields.items()} for raw in _items(spec.data, data)
        ]
    obj._hidden_params = hidden_params(spec, data)
    return obj


def merge_parts(parts: list[Any]) -> Any:
    """One response from the replies to a request the engine split (spec ``batch``), in order.

    ``data`` lists are concatenated and re-indexed, usage counts added up; hidden
    params that are lists are concatenated, the others come from the first part.
    """
    first = parts[0]
    merged = type(first)(dict(first))
    data = [item for part in parts for item in part.get("data") or []]
    for position, item in enumerate(data):
        if "index" in item:
            item["index"] = position
    merged["data"] = data
    if isinstance(first.get("usage"), dict):
        merged["usage"] = _sum_counts([part.get("usage") or {} for part in parts])
    hidden = dict(first._hidden_params)
    for key, value in hidden.items():
        if isinstance(value, list):
            hidden[key] = [v for part in parts for v in part._hidden_params.get(key) or []]
    hidden["batch_requests"] = len(parts)
    merged._hidden_params = hidden
    return merged


def _sum_counts(values: list[Any]) -> Any:
    if all(isinstance(v, dict) for v in values):
        return {key: _sum_counts([v.get(key) for v in values]) for key in values[0]}
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return sum(values)
    return values[0]


BUILDERS: dict[str, Callable[[ResponseSpec, Any, str], OpenAIObject]] = {
    "chat": build_chat,
    "text_completion": build_text_completion,
    "embedding": build_embedding,
    "image_generation": build_images,
    "speech": build_speech,  # type: ignore[dict-item]  # binary audio, not an OpenAI JSON object
    "file_content": build_binary,  # type: ignore[dict-item]  # a file's bytes
}
