"""What the fake model "says", independent of any API family's wire format.

Why: scripted items (text, function calls, thoughts, grounding, safety, faults)
mean the same for Gemini, Claude and OpenAI-style models; each family only
renders a :class:`Reply` in its own format. The scripting vocabulary is the
``/emulator/script`` contract described in the package docstring.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.emulator.text import count_tokens, first_tokens

CONTENT_KEYS = frozenset(
    {
        "text",
        "function_calls",
        "thought",
        "grounding_metadata",
        "block_reason",
        "finish_reason",
        "json",
        "stream_events",
        "code_execution",
    }
)


@dataclass
class Reply:
    """One model answer plus the faults to inject while delivering it."""

    text: str | None = None
    thought: str | None = None
    thought_signature: str | None = None
    function_calls: list[dict[str, Any]] = field(default_factory=list)
    grounding_metadata: dict[str, Any] | None = None
    code_execution: list[dict[str, Any]] = field(default_factory=list)  # [{"code", "output"?, "outcome"?}]
    finish_reason: str | None = None
    stop_sequence: str | None = None
    block_reason: str | None = None
    raw_json: Any = None
    has_json: bool = False
    stream_events: list[Any] | None = None
    delay_ms: int = 0
    status: int | None = None
    retry_after: int | float | None = None
    message: str | None = None
    error_type: str | None = None  # Claude routes: Anthropic's error type for a scripted fault
    cut_stream_after: int | None = None
    malformed_chunk: bool = False
    stream_error: dict[str, Any] | None = (
        None  # {"after": N, "status"?, "message"?}: an error event mid-stream
    )

    def answer_tokens(self) -> int:
        """Output tokens of the visible answer: text plus one per call and its JSON arguments."""
        calls = sum(count_tokens(json.dumps(c.get("args", {}))) + 1 for c in self.function_calls)
        return count_tokens(self.text or "") + calls

    def thought_tokens(self) -> int:
        """Output tokens spent on the thought (reported separately by Gemini)."""
        return count_tokens(self.thought or "")

    @property
    def safety_stop(self) -> bool:
        """True when the answer was stopped by a safety filter."""
        return self.finish_reason == "SAFETY" or self.block_reason is not None


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def limit(reply: Reply, max_tokens: Any, stops: Any) -> Reply:
    """Honour the request's stop sequences and output-token limit on a default answer.

    Why: the echo then proves the parameters arrived (``max_tokens`` → ``MAX_TOKENS``,
    ``stop`` → text cut before the sequence), as a real model would behave.
    """
    if reply.text is None:
        return reply
    text = reply.text
    candidates = [stops] if isinstance(stops, str) else [s for s in stops or [] if isinstance(s, str)]
    hits = sorted((text.find(s), s) for s in candidates if s and s in text)
    if hits:
        text, reply.stop_sequence = text[: hits[0][0]], hits[0][1]
    most = _as_int(max_tokens)
    if most is not None and count_tokens(text) > most:
        text, reply.finish_reason, reply.stop_sequence = first_tokens(text, most), "MAX_TOKENS", None
    reply.text = text
    return reply


def _content(item: dict[str, Any]) -> Reply:
    return Reply(
        text=item.get("text"),
        thought=item.get("thought"),
        thought_signature=item.get("thought_signature"),
        function_calls=list(item.get("function_calls") or []),
        grounding_metadata=item.get("grounding_metadata"),
        code_execution=list(item.get("code_execution") or []),
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
    reply.error_type = item.get("error_type")
    reply.cut_stream_after = item.get("cut_stream_after")
    reply.malformed_chunk = bool(item.get("malformed_chunk", False))
    error = item.get("stream_error")
    reply.stream_error = error if isinstance(error, dict) else None
    return reply
