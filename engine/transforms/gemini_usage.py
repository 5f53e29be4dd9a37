"""Gemini ``usageMetadata`` → OpenAI ``completion_tokens``.

Why code: OpenAI's completion tokens include the reasoning tokens, so Gemini's
``candidatesTokenCount`` and ``thoughtsTokenCount`` are added up — except where
``candidatesTokenCount`` already holds the thoughts (``prompt + candidates == total``,
as some Gemini versions report), which adding again would double-count. The rule
"never more than ``total - prompt``" needs arithmetic JMESPath does not have.
"""

from __future__ import annotations

from typing import Any

from engine.transforms import register


def _count(meta: dict[str, Any], key: str) -> int:
    value = meta.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@register("gemini_completion_tokens", kind="extractor", keeps_null=True)
def gemini_completion_tokens(meta: Any) -> int | None:
    """Extractor transform over ``usageMetadata``: answer plus thought tokens, bounded by total − prompt."""
    if not isinstance(meta, dict) or (
        "candidatesTokenCount" not in meta and "thoughtsTokenCount" not in meta
    ):
        return None
    candidates, thoughts = _count(meta, "candidatesTokenCount"), _count(meta, "thoughtsTokenCount")
    completion = candidates + thoughts
    if isinstance(meta.get("totalTokenCount"), int) and isinstance(meta.get("promptTokenCount"), int):
        room = meta["totalTokenCount"] - meta["promptTokenCount"] - _count(meta, "toolUsePromptTokenCount")
        completion = min(completion, max(room, candidates))
    return completion
