"""Transforms for the ``:predict`` models (embeddings, multimodal embeddings, Imagen).

``:predict`` takes ``{"instances": [...], "parameters": {...}}`` whose instance schema
depends on the model, so OpenAI's flat ``input`` list has to become instances. The
parameter table does most of it; what is left is here:

- ``text_instances``: ``input`` (a string or a list of strings) → ``[{"content": ...}]``;
- ``multimodal_instances``: strings that are text, ``gs://`` or ``data:`` images and videos →
  ``VisionEmbeddingModelInstance`` objects (see the packing rule below);
- ``predict_instances`` (request finalize): fields a spec collected under ``instance``
  (``task_type``, ``title``, Imagen's ``prompt``) are copied into every instance;
- ``embedding_encoding`` (response finalize): ``encoding_format="base64"`` as OpenAI
  encodes it, float32 little-endian bytes in base64.

Multimodal packing: an instance holds at most one text, one image and one video, and the
reply lists them in that order (text, image, video segments). Inputs are packed into the
current instance while each new input ranks after everything already in it; otherwise a new
instance starts. So ``["hey", "gs://a.png"]`` is one instance, ``["gs://a.png", "hey"]`` two,
and the embeddings always come back in input order. Several images or videos therefore become
several instances, which the spec's ``batch`` section sends as separate requests (Vertex takes
one instance per request for this model) and merges in order. A video yields one embedding per
segment Google returns. A dict input is sent as a ready-made instance, e.g. to set
``videoSegmentConfig``, and gives one ``data`` entry (``multimodal_align``); when the input holds
any dict, strings are not packed either, so every instance is exactly one input.
"""

from __future__ import annotations

import base64
import re
import struct
from typing import Any

from engine.errors import BadRequestError
from engine.transforms import register

# https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/get-multimodal-embeddings, "API limits"
VIDEO_EXTENSIONS = frozenset({"avi", "flv", "mkv", "mov", "mp4", "mpeg", "mpg", "webm", "wmv", "m4v", "3gp"})
IMAGE_EXTENSIONS = frozenset({"bmp", "gif", "jpg", "jpeg", "png", "webp", "tif", "tiff"})
RANK = {"text": 0, "image": 1, "video": 2}
_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*;base64,(?P<data>.*)\Z", re.DOTALL)


def _bad(message: str, ctx: Any) -> BadRequestError:
    return BadRequestError(message, model=getattr(ctx, "model", None), param="input")


def _as_list(value: Any, ctx: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _bad("input is empty: pass a string or a non-empty list", ctx)
    return items


@register("text_instances", kind="param")
def text_instances(value: Any, ctx: Any) -> list[dict[str, Any]]:
    """One ``{"content": text}`` instance per input string."""
    instances = []
    for i, item in enumerate(_as_list(value, ctx)):
        if not isinstance(item, str):
            raise _bad(
                f"input[{i}] is {type(item).__name__}: Vertex AI text embeddings take strings, not token ids",
                ctx,
            )
        instances.append({"content": item})
    return instances


def _extension(uri: str) -> str:
    path = uri.split("?", 1)[0].rsplit("/", 1)[-1]
    return path.rsplit(".", 1)[-1].lower() if "." in path else ""


def _part(item: str, where: str, ctx: Any) -> tuple[str, Any]:
    """(kind, instance value) of one string input."""
    if item.startswith("gs://"):
        return ("video" if _extension(item) in VIDEO_EXTENSIONS else "image"), {"gcsUri": item}
    if item.startswith("data:"):
        match = _DATA_URL.match(item)
        kind = match.group("mime").split("/", 1)[0] if match else ""
        if kind not in ("image", "video"):
            raise _bad(f"{where} is a data: URL but not a base64 image/* or video/* one", ctx)
        return kind, {"bytesBase64Encoded": match.group("data")}  # type: ignore[union-attr]
    if item.startswith(("http://", "https://")) and _extension(item) in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS:
        raise _bad(
            f"{where}: Vertex AI reads images and videos from gs:// URIs or data: URLs only, not {item!r}",
            ctx,
        )
    return "text", item


@register("multimodal_instances", kind="param")
def multimodal_instances(value: Any, ctx: Any) -> list[dict[str, Any]]:
    """Inputs → VisionEmbeddingModelInstance objects, packed in order (module docstring)."""
    instances: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    items = _as_list(value, ctx)
    whole = any(isinstance(item, dict) for item in items)  # with instance objects, one input = one instance
    for i, item in enumerate(items):
        where = f"input[{i}]"
        if isinstance(item, dict):
            if not item or set(item) - RANK.keys():
                raise _bad(f"{where}: an instance object has only 'text', 'image' and/or 'video'", ctx)
            instances += [current, item] if current else [item]
            current = {}
            continue
        if not isinstance(item, str):
            raise _bad(f"{where} is {type(item).__name__}; expected text, a gs:// URI or a data: URL", ctx)
        kind, part = _part(item, where, ctx)
        if current and (whole or any(RANK[k] >= RANK[kind] for k in current)):
            instances.append(current)
            current = {}
        current[kind] = part
    if current:
        instances.append(current)
    return instances


@register("predict_instances", kind="request_finalize")
def predict_instances(body: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Copy the fields collected under ``instance`` into every instance (or make it the only one)."""
    shared = body.pop("instance", None) or {}
    instances = body.get("instances")
    if instances is None:
        body["instances"] = [shared]
    elif shared:
        body["instances"] = [{**shared, **item} for item in instances]
    return body


def float32_base64(vector: list[float]) -> str:
    """OpenAI's ``encoding_format="base64"``: little-endian float32 values, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


@register("embedding_encoding", kind="response_finalize")
def embedding_encoding(obj: Any, raw: Any, ctx: Any) -> Any:
    """Re-encode every vector when the caller asked for ``encoding_format="base64"``."""
    if ctx.params.get("encoding_format") == "base64":
        for item in obj["data"]:
            item["embedding"] = float32_base64(item["embedding"])
    return obj
