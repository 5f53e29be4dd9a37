"""Transforms for the long-running resources: files, batches, fine-tuning jobs, cached contents.

What the specs cannot say with JMESPath and tables:

- Google's RFC 3339 timestamps become OpenAI's Unix seconds (``epoch_seconds``), and
  resource names become OpenAI ids (``resource_id``: the last path segment);
- an OpenAI batch file (JSON lines of ``{"custom_id", "method", "url", "body"}``) becomes
  a Vertex batch-prediction file (``{"request": <GenerateContentRequest>}`` per line),
  each body built by the very chat pipeline ``completion()`` uses, so every chat
  parameter means the same in a batch, and the ``custom_id`` in the request's labels
  (``openai_batch_file``; see :mod:`engine.transforms.batch_output`);
- a batch input file id names the model it was written for
  (``gs://bucket/<folder>/publishers/<publisher>/models/<model>/<uuid>``, the layout the
  seed documents), which becomes the job's model, input and output (``batch_input``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import uuid
from pathlib import Path
from typing import Any

from engine.errors import BadRequestError
from engine.transforms import register
from engine.transforms.batch_output import MODEL_PATH, custom_id_labels

_CHAT_URL = "/v1/chat/completions"


@register("epoch_seconds", kind="extractor", keeps_null=True)
def epoch_seconds(value: Any) -> int | None:
    """``2024-10-16T19:33:59.153782Z`` -> 1729107239; anything that is not a timestamp -> None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp())


@register("resource_id", kind="extractor", keeps_null=True)
def resource_id(value: Any) -> str | None:
    """``projects/p/locations/l/batchPredictionJobs/123`` -> ``123`` (the id OpenAI clients pass back)."""
    return value.rsplit("/", 1)[-1] if isinstance(value, str) and value else None


def _bad(message: str, ctx: Any, param: str) -> BadRequestError:
    return BadRequestError(message, model=ctx.model, param=param)


@register("gcs_uri", kind="param")
def gcs_uri(value: str, ctx: Any) -> str:
    """A file id must be ``gs://<bucket>/<object>`` (what create_file returns)."""
    bucket, _, name = value.removeprefix("gs://").partition("/")
    if not value.startswith("gs://") or not bucket or not name:
        raise _bad(
            f"file_id must be a gs://<bucket>/<object> URI as create_file returns, got {value!r}",
            ctx,
            "file_id",
        )
    return value


@register("batch_input", kind="param")
def batch_input(file_id: str, ctx: Any) -> dict[str, Any]:
    """The job's ``model``, input URI and output prefix from an input file id.

    The model comes from the file's path (as create_file writes it), else from an explicit
    ``model=`` argument; results go next to the input file, as the seed's expected
    ``output_file_id`` shows.
    """
    if not file_id.startswith("gs://"):
        raise _bad(
            f"input_file_id must be a gs:// URI (the id create_file returns), got {file_id!r}",
            ctx,
            "input_file_id",
        )
    found = MODEL_PATH.search(file_id)
    if found:
        model = found.group(0)
    elif ctx.resolved.model_id:
        model = f"publishers/{ctx.capabilities.get('publisher', 'google')}/models/{ctx.resolved.model_id}"
    else:
        raise _bad(
            f"cannot tell the model of {file_id!r}: upload the file with create_file (its path names the model) or pass model=",
            ctx,
            "input_file_id",
        )
    return {
        "model": model,
        "inputConfig": {"gcsSource": {"uris": [file_id]}},
        "outputConfig": {"gcsDestination": {"outputUriPrefix": file_id.rsplit("/", 1)[0]}},
    }


def read_file(file: Any, ctx: Any) -> bytes:
    """The bytes of ``file``: bytes, text, a path, a binary or text file object, or OpenAI's ``(name, content)`` tuple."""
    if isinstance(file, tuple) and len(file) >= 2:
        file = file[1]
    if isinstance(file, (bytes, bytearray)):
        return bytes(file)
    if isinstance(file, (str, os.PathLike)):
        path = Path(file).expanduser()
        if not path.is_file():
            raise _bad(
                f"file {str(file)!r} is not an existing file (pass bytes or an open file for content)",
                ctx,
                "file",
            )
        return path.read_bytes()
    if isinstance(file, (io.IOBase,)) or hasattr(file, "read"):
        data = file.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    raise _bad(f"file must be bytes, a path or a file object, got {type(file).__name__}", ctx, "file")


def _batch_line(number: int, raw: str, ctx: Any) -> dict[str, Any]:
    """The OpenAI batch line ``raw`` (number ``number``), checked: a JSON object with a chat body."""
    try:
        item = json.loads(raw)
    except ValueError:
        raise _bad(f"line {number} of the batch file is not JSON", ctx, "file") from None
    body = item.get("body") if isinstance(item, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        raise _bad(
            f"line {number} of the batch file needs a body with a model (OpenAI batch format)", ctx, "file"
        )
    if item.get("url", _CHAT_URL) != _CHAT_URL:
        raise _bad(
            f"line {number}: Vertex AI batches serve {_CHAT_URL} only, not {item.get('url')!r}", ctx, "file"
        )
    return item


def convert_batch_file(data: bytes, ctx: Any) -> tuple[bytes, Any]:
    """OpenAI batch JSONL -> Vertex batch-prediction JSONL, and the (one) model it is for."""
    from engine.registry import default_registry
    from engine.request import ENGINE_OPTIONS, build_body

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad("the batch file is not UTF-8 text", ctx, "file") from None
    out: list[str] = []
    resolved = None
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        item = _batch_line(number, raw, ctx)
        body = item["body"]
        line_model = default_registry().resolve(body["model"], "chat")
        if resolved is not None and line_model.name != resolved.name:
            raise _bad(
                f"line {number} uses model {line_model.name!r}, line 1 {resolved.name!r}: one model per batch",
                ctx,
                "file",
            )
        resolved = line_model
        params = {k: v for k, v in body.items() if k not in ENGINE_OPTIONS and v is not None}
        drop = bool(body.get("drop_params", getattr(ctx.settings, "drop_params", False)))
        built = build_body(resolved, resolved.family.operations["chat"], params, ctx.settings, drop).body
        if item.get("custom_id") is not None:
            custom_id = str(item["custom_id"])
            if custom_id in seen:
                raise _bad(f"line {number} repeats custom_id {custom_id!r}: each must be unique", ctx, "file")
            seen.add(custom_id)
            built = {**built, "labels": {**(built.get("labels") or {}), **custom_id_labels(custom_id)}}
        out.append(json.dumps({"request": built}, separators=(",", ":"), ensure_ascii=False))
    if resolved is None:
        raise _bad("the batch file has no requests", ctx, "file")
    return ("\n".join(out) + "\n").encode(), resolved


@register("openai_batch_file", kind="request_finalize", url_vars=("object",))
def openai_batch_file(body: dict[str, Any], ctx: Any) -> bytes:
    """The upload's content, and its object name in ``ctx.url_vars["object"]``.

    A ``batch`` file is converted line by line and stored under the model it is for;
    any other purpose (e.g. a ``fine-tune`` dataset already in Vertex's format) is
    stored unchanged.
    """
    data = read_file(ctx.params["file"], ctx)
    if ctx.params.get("purpose", "batch") != "batch":
        ctx.url_vars["object"] = f"{uuid.uuid4()}.jsonl"
        return data
    content, resolved = convert_batch_file(data, ctx)
    publisher = resolved.capabilities.get("publisher", "google")
    ctx.url_vars["object"] = f"publishers/{publisher}/models/{resolved.model_id}/{uuid.uuid4()}"
    return content
