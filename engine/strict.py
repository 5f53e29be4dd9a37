"""``strict_openai_compliance``: replies with OpenAI's fields only, as Portkey's gateway offers.

By default a reply carries what the provider adds on top of OpenAI's shape
(``reasoning_content``, ``thinking_blocks``, tool calls' ``provider_specific_fields``...),
as LiteLLM does. A caller whose client validates strictly against OpenAI's schema passes
``strict_openai_compliance=True`` (or sets ``engine.strict_openai_compliance``) and gets
messages, deltas, tool calls and usage with OpenAI's documented keys only
(``openai.types.chat.ChatCompletion`` / ``ChatCompletionChunk``). The name follows
Portkey's ``strict_open_ai_compliance`` in LiteLLM's spelling of OpenAI.
"""

from __future__ import annotations

from typing import Any

from engine.response import ChatStream

MESSAGE_KEYS = frozenset(
    {"role", "content", "refusal", "annotations", "audio", "function_call", "tool_calls"}
)
DELTA_KEYS = frozenset({"role", "content", "refusal", "function_call", "tool_calls"})
CHOICE_KEYS = frozenset({"index", "finish_reason", "logprobs", "message", "delta", "text"})
TOOL_CALL_KEYS = frozenset({"index", "id", "type", "function"})
USAGE_KEYS = frozenset(
    {
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
    }
)


def _only(mapping: Any, keys: frozenset[str]) -> None:
    if isinstance(mapping, dict):
        for key in [k for k in mapping if k not in keys]:
            del mapping[key]


def strict(obj: Any) -> Any:
    """Drop, in place, every key OpenAI's chat objects do not define; returns ``obj``."""
    if not isinstance(obj, dict):
        return obj
    for choice in obj.get("choices") or []:
        _only(choice, CHOICE_KEYS)
        for key, allowed in (("message", MESSAGE_KEYS), ("delta", DELTA_KEYS)):
            part = choice.get(key) if isinstance(choice, dict) else None
            _only(part, allowed)
            for call in (part or {}).get("tool_calls") or [] if isinstance(part, dict) else []:
                _only(call, TOOL_CALL_KEYS)
    _only(obj.get("usage"), USAGE_KEYS)
    return obj


class StrictChatStream(ChatStream):
    """A :class:`ChatStream` whose chunks carry OpenAI's fields only."""

    def feed(self, event: Any) -> list[Any]:
        return [strict(chunk) for chunk in super().feed(event)]

    def finish(self) -> list[Any]:
        return [strict(chunk) for chunk in super().finish()]
