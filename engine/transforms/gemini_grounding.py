"""Grounding: ``groundingMetadata`` → OpenAI ``url_citation`` annotations and a per-candidate hidden list.

Why code: Gemini's grounding supports point at the answer by *byte* offsets inside
one part (``segment.partIndex``, ``startIndex``, ``endIndex``; aiplatform v1
``GoogleCloudAiplatformV1Segment``), while OpenAI annotations use character offsets
into the whole ``content``. The conversion needs the candidate's parts, so it is an
extractor transform over the candidate.
"""

from __future__ import annotations

from typing import Any

from engine.transforms import register

_SOURCES = ("web", "retrievedContext", "maps")


def _answer_offsets(parts: list[Any]) -> dict[int, tuple[int, bytes]]:
    """Per answer part: (characters of ``content`` before it, its UTF-8 text)."""
    offsets, before = {}, 0
    for index, part in enumerate(parts):
        if isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought"):
            offsets[index] = (before, part["text"].encode("utf-8"))
            before += len(part["text"])
    return offsets


def _char_index(offsets: dict[int, tuple[int, bytes]], part: int, byte: int) -> int:
    before, text = offsets.get(part, (0, b""))
    if byte > len(text):  # e.g. a stream chunk that holds only part of the text: keep Google's number
        return before + byte
    return before + len(text[:byte].decode("utf-8", errors="ignore"))


@register("gemini_url_citations", kind="extractor", keeps_null=True)
def gemini_url_citations(candidate: Any) -> list[dict[str, Any]] | None:
    """Extractor transform over a candidate: one ``url_citation`` per (support, source) pair."""
    if not isinstance(candidate, dict) or not isinstance(candidate.get("groundingMetadata"), dict):
        return None
    meta = candidate["groundingMetadata"]
    chunks = meta.get("groundingChunks") or []
    offsets = _answer_offsets((candidate.get("content") or {}).get("parts") or [])
    annotations = []
    for support in meta.get("groundingSupports") or []:
        segment = support.get("segment") or {}
        part = segment.get("partIndex", next(iter(offsets), 0))
        start = _char_index(offsets, part, segment.get("startIndex", 0))
        end = _char_index(offsets, part, segment.get("endIndex", segment.get("startIndex", 0)))
        for index in support.get("groundingChunkIndices") or []:
            chunk = chunks[index] if isinstance(index, int) and 0 <= index < len(chunks) else {}
            source = next((chunk[k] for k in _SOURCES if isinstance(chunk.get(k), dict)), {})
            if source.get("uri"):
                citation = {
                    "start_index": start,
                    "end_index": end,
                    "url": source["uri"],
                    "title": source.get("title") or "",
                }
                annotations.append({"type": "url_citation", "url_citation": citation})
    return annotations or None


@register("gemini_per_candidate", kind="extractor")
def gemini_per_candidate(values: Any) -> list[Any]:
    """Extractor transform: a ``map(&field, candidates)`` list (None for a candidate without it); [] when none has it."""
    if isinstance(values, list):
        for value in values:  # a loop, not all(generator): it runs on every stream event
            if value is not None:
                return values
    return []
