"""Multimodal embeddings: one ``data`` entry per instance object the caller passed.

Why code: a prediction for an instance with text and an image carries both vectors, and
whether that is one input (a dict ``{"text", "image"}``) or two packed strings is known only
from the request (``input``), not from the reply. With instance objects in the input every
instance is one input (``multimodal_instances``), so here each prediction holding more than one
kind becomes a single entry: ``embedding`` in LiteLLM's order (text, else image, else the first
video segment) and every vector Google returned beside it (``text_embedding``,
``image_embedding``, ``video_embeddings``), so nothing is lost.
"""

from __future__ import annotations

from typing import Any

from engine.transforms import register

_KINDS = ("textEmbedding", "imageEmbedding", "videoEmbeddings")


def _entries(prediction: dict[str, Any]) -> list[dict[str, Any]]:
    text, image, video = (prediction.get(k) for k in _KINDS)
    segments = [s.get("embedding") for s in video or [] if isinstance(s, dict)]
    if sum(x is not None for x in (text, image, video)) < 2:
        return [{"embedding": v} for v in ([text] if text else []) + ([image] if image else []) + segments]
    entry: dict[str, Any] = {"embedding": text or image or (segments[0] if segments else None)}
    if text is not None:
        entry["text_embedding"] = text
    if image is not None:
        entry["image_embedding"] = image
    if video is not None:
        entry["video_embeddings"] = video
    return [entry]


@register("multimodal_align", kind="response_finalize")
def multimodal_align(obj: Any, raw: Any, ctx: Any) -> Any:
    """Response finalize: with instance objects in ``input``, one entry per multi-kind prediction."""
    inputs = ctx.params.get("input")
    if (
        not isinstance(inputs, list)
        or not any(isinstance(i, dict) for i in inputs)
        or not isinstance(raw, dict)
    ):
        return obj
    entries = [e for p in raw.get("predictions") or [] if isinstance(p, dict) for e in _entries(p)]
    obj["data"] = [{"object": "embedding", "index": i, **e} for i, e in enumerate(entries)]
    return obj
