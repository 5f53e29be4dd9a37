"""OpenAI ``messages`` → Gemini ``contents`` and ``systemInstruction``.

Gemini wants alternating ``user``/``model`` turns made of typed parts, with system
text outside the turns. That restructuring is not a field mapping, so it is a
named transform. Content-part conversion is a table keyed by OpenAI part type
(``PART_CONVERTERS``), so new part kinds are one function each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.transforms import register
from engine.transforms.content import bad, typed_parts

ROLES = {"user": "user", "assistant": "model", "tool": "user", "function": "user"}

PartConverter = Callable[[dict[str, Any], Any, str], list[dict[str, Any]]]
PART_CONVERTERS: dict[str, PartConverter] = {}


def part_converter(kind: str) -> Callable[[PartConverter], PartConverter]:
    def decorate(fn: PartConverter) -> PartConverter:
        PART_CONVERTERS[kind] = fn
        return fn

    return decorate


@part_converter("text")
def _text_part(part: dict[str, Any], ctx: Any, where: str) -> list[dict[str, Any]]:
    text = part.get("text")
    if not isinstance(text, str):
        raise bad(where, "a text part needs a string 'text'", ctx)
    if not text.strip():
        raise bad(where, "text is empty; Gemini rejects empty text parts", ctx)
    return [{"text": text}]


def content_parts(content: Any, ctx: Any, where: str) -> list[dict[str, Any]]:
    """The parts of one message's ``content`` (a string or a list of typed parts)."""
    if isinstance(content, str):
        return _text_part({"text": content}, ctx, where)
    parts: list[dict[str, Any]] = []
    for convert, part, pwhere in typed_parts(content, PART_CONVERTERS, ctx, where):
        parts += convert(part, ctx, pwhere)
    if not parts:
        raise bad(where, "content is empty", ctx)
    return parts


MessageConverter = Callable[[dict[str, Any], Any, str, dict[str, Any]], list[dict[str, Any]]]
MESSAGE_CONVERTERS: dict[str, MessageConverter] = {}


def message_converter(role: str) -> Callable[[MessageConverter], MessageConverter]:
    """Register the converter for one OpenAI role (e.g. ``tool``); default handles plain content."""

    def decorate(fn: MessageConverter) -> MessageConverter:
        MESSAGE_CONVERTERS[role] = fn
        return fn

    return decorate


ContentsPass = Callable[[list[dict[str, Any]], Any, dict[str, Any]], None]
CONTENTS_PASSES: list[ContentsPass] = []


def contents_pass(fn: ContentsPass) -> ContentsPass:
    """Register a pass over the finished ``contents`` (e.g. ordering function responses); runs in order."""
    CONTENTS_PASSES.append(fn)
    return fn


def _default_message(
    message: dict[str, Any], ctx: Any, where: str, state: dict[str, Any]
) -> list[dict[str, Any]]:
    return content_parts(message.get("content"), ctx, where)


_LEVELS = ("MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_HIGH")


@contents_pass
def _part_resolution(contents: list[dict[str, Any]], ctx: Any, state: dict[str, Any]) -> None:
    """Per-part ``mediaResolution`` only where the model has it (``part_media_resolution``, Gemini 3);
    elsewhere the highest level asked for becomes the request's ``generationConfig.mediaResolution``."""
    if ctx.capabilities.get("part_media_resolution", False):
        return
    asked = []
    for content in contents:
        for part in content["parts"]:
            if "mediaResolution" in part:
                asked.append(part.pop("mediaResolution").get("level"))
    levels = [_LEVELS.index(a) if a in _LEVELS else len(_LEVELS) - 1 for a in asked]  # ULTRA_HIGH: HIGH
    if levels:
        state["media_resolution"] = _LEVELS[max(levels)]


@register("gemini_contents", kind="param")
def gemini_contents(messages: list[Any], ctx: Any) -> dict[str, Any]:
    """Build ``contents`` (same-role turns merged) and ``systemInstruction`` from OpenAI messages.

    With LiteLLM's ``cache_control`` markers, the marked prefix (and every system message) is
    left out and recorded on ``ctx.prefix_cache``, for a ``cachedContents`` resource the engine
    creates (or reuses) before sending (engine/transforms/gemini_cache.py).
    """
    from engine.transforms.gemini_cache import split_cached_prefix

    return split_cached_prefix(messages, convert_messages(messages, ctx), ctx)


def convert_messages(messages: list[Any], ctx: Any) -> dict[str, Any]:
    """The whole conversation → ``contents`` and ``systemInstruction``."""
    if not messages:
        raise bad("messages", "at least one message is required", ctx)
    system_parts: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    state: dict[str, Any] = {}  # shared by converters, e.g. tool-call ids → names
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad(where, f"each message must be an object, got {type(message).__name__}", ctx)
        role = message.get("role")
        if not isinstance(role, str):
            raise bad(where, "each message needs a string 'role' (system, user, assistant or tool)", ctx)
        if role in ("system", "developer"):
            system_parts += content_parts(message.get("content"), ctx, where)
            continue
        if role not in ROLES:
            raise bad(where, f"unknown role {role[:40]!r} (expected system, user, assistant or tool)", ctx)
        parts = MESSAGE_CONVERTERS.get(role, _default_message)(message, ctx, where, state)
        gemini_role = ROLES[role]
        if contents and contents[-1]["role"] == gemini_role:
            contents[-1]["parts"] += parts
        else:
            contents.append({"role": gemini_role, "parts": parts})
    for run_pass in CONTENTS_PASSES:
        run_pass(contents, ctx, state)
    if not contents and system_parts:  # only a system message: Gemini needs a turn, so it becomes the prompt
        contents, system_parts = [{"role": "user", "parts": system_parts}], []
    body: dict[str, Any] = {"contents": contents}
    if state.get("media_resolution"):
        body["generationConfig"] = {"mediaResolution": state["media_resolution"]}
    if system_parts:
        if ctx.capabilities.get("system_messages", True):
            body["systemInstruction"] = {"parts": system_parts}
        elif contents and contents[0]["role"] == "user":
            contents[0]["parts"] = system_parts + contents[0]["parts"]
        else:
            contents.insert(0, {"role": "user", "parts": system_parts})
    if not contents:
        raise bad(
            "messages", "Gemini needs at least one user or assistant message besides system messages", ctx
        )
    return body
