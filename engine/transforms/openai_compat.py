"""OpenAI messages for upstreams that already speak OpenAI's chat format (MaaS, Mistral, AI21, Model Garden).

The body is OpenAI's, so the only work is hygiene: a conversation replayed from an
earlier response carries fields those servers do not know (``reasoning_content``,
``thinking_blocks``, ``provider_specific_fields``, ``function_call: null``...), and
strict servers such as Mistral's reject unknown fields. Only the fields of OpenAI's
message schema are sent, and ``None`` values are left out.
"""

from __future__ import annotations

from typing import Any

from engine.errors import BadRequestError
from engine.transforms import register

MESSAGE_FIELDS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id", "prefix"})
TOOL_CALL_FIELDS = frozenset({"id", "type", "function", "index"})


def _tool_call(call: Any) -> Any:
    if not isinstance(call, dict):
        return call
    return {k: v for k, v in call.items() if k in TOOL_CALL_FIELDS and v is not None}


@register("openai_messages", kind="param")
def openai_messages(messages: list[Any], ctx: Any) -> list[dict[str, Any]]:
    """Each message reduced to OpenAI's message fields."""
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message:
            raise BadRequestError(
                f"messages[{i}] must be an object with a 'role'", model=ctx.model, param="messages"
            )
        clean = {k: v for k, v in message.items() if k in MESSAGE_FIELDS and v is not None}
        if "tool_calls" in clean:
            clean["tool_calls"] = [_tool_call(c) for c in clean["tool_calls"]]
        out.append(clean)
    return out
