"""What the fake model "says", independent of any API family's wire format.

Why: scripted items (text, function calls, thoughts, grounding, safety, faults)
mean the same for Gemini, Claude and OpenAI-style models; each family only
renders a :class:`Reply` in its own format. The scripting vocabulary is the
``/emulator/script`` contract described in the package docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONTENT_KEYS = frozenset(
    {"text", "function_calls", "thought", "grounding_metadata", "block_reason", "finish_reason", "json", "stream_events"}
)


@dataclass
class Reply:
    """One model answer plus the faults to inject while delivering it."""

    text: str | None = None
    thought: str | None = None
    thought_signature: str | None = None
    function_calls: list[dict[str, Any]] = field(default_factory=list)
    grounding_metadata: dict[str, Any] | None = None
    finish_reason: str | None = None
    block_reason: str | None = None
    raw_json: Any = None
    has_json: bool = False
    stream_events: list[Any] | None = None
    delay_ms: int = 0
    status: int | None = None
    retry_after: int | float | None = None
    message: str | None = None
    cut_stream_after: int | None = None
    malformed_chunk: bool = False

    @property
    def safety_stop(self) -> bool:
        """True when the answer was stopped by a safety filter."""
        return self.finish_reason == "SAFETY" or self.block_reason is not None


def _content(item: dict[str, Any]) -> Reply:
    return Reply(
        text=item.get("text"),
        thought=item.get("thought"),
        thought_signature=item.get("thought_signature"),
        function_calls=list(item.get("function_calls") or []),
        grounding_metadata=item.get("grounding_metadata"),
        finish_reason=item.get("finish_reason"),
        block_reason=item.get("block_reason"),
        raw_json=item.get("json"),
        has_json="json" in item,
        stream_events=item.get("stream_events"),
    )


def build(item: dict[str, Any] | None, default: Reply) -> Reply:
    """The reply for one call: the scripted ``item`` if any, else ``default``.

    A fault-only item (``{"delay_ms": 200}``, ``{"cut_stream_after": 2}``) keeps
    the default content and only adds the fault.
    """
    if item is None:
        return default
    reply = _content(item) if CONTENT_KEYS & item.keys() else default
    reply.delay_ms = int(item.get("delay_ms", 0))
    reply.status = item.get("status")
    reply.retry_after = item.get("retry_after")
    reply.message = item.get("message")
    reply.cut_stream_after = item.get("cut_stream_after")
    reply.malformed_chunk = bool(item.get("malformed_chunk", False))
    return reply
