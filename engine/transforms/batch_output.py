"""Batch results in OpenAI's format: custom ids through Vertex batch prediction, and output lines back.

OpenAI's batch lines carry a ``custom_id``; a Vertex batch-prediction line is only
``{"request": <GenerateContentRequest>}``. Vertex writes each output line with the request
it answered (``{"status", "processed_time", "request", "response"}``), so the id travels
in the request's ``labels`` and is read back from there. Label values may hold only
``[a-z0-9_-]`` and 63 characters, so the id is stored twice, under LiteLLM's label keys
(files written by either library read back in both): lowercased with other characters as
``_`` (``litellm_custom_id``, lossy), and exactly as base32 over as many labels as it needs
(``litellm_custom_id_raw``, ``litellm_custom_id_raw_1``...).

``vertex_batch_output`` (response finalize of ``file_content``) turns each output line into
OpenAI's ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``,
the body a ``chat.completion`` built by the model's own chat response spec, exactly as
``completion()`` would have returned it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import re
from typing import Any

from engine.errors import APIError
from engine.transforms import register

ID_LABEL = "litellm_custom_id"
RAW_LABEL = "litellm_custom_id_raw"
_RAW_PREFIX = "b32_"
_LABEL_MAX = 63
_UNSAFE = re.compile(r"[^a-z0-9_-]")
# Where create_file writes a batch file, below the folder: the model it is for (results go next to it).
MODEL_PATH = re.compile(r"publishers/(?P<publisher>[^/]+)/models/(?P<model>[^/]+)")


def custom_id_labels(custom_id: str) -> dict[str, str]:
    """The labels that carry ``custom_id`` through a batch job (see the module docstring)."""
    encoded = base64.b32encode(custom_id.encode()).decode().rstrip("=").lower()
    size = _LABEL_MAX - len(_RAW_PREFIX)
    chunks = [encoded[i : i + size] for i in range(0, len(encoded), size)] or [""]
    labels = {ID_LABEL: _UNSAFE.sub("_", custom_id.lower())[:_LABEL_MAX]}
    for index, chunk in enumerate(chunks):
        labels[RAW_LABEL if index == 0 else f"{RAW_LABEL}_{index}"] = _RAW_PREFIX + chunk
    return labels


def custom_id_from_labels(labels: Any) -> str | None:
    """The exact id when the raw labels decode, else the lossy label, else None (not written by us)."""
    if not isinstance(labels, dict):
        return None
    chunks, index = [], 0
    while (value := labels.get(RAW_LABEL if index == 0 else f"{RAW_LABEL}_{index}")) is not None:
        chunks.append(str(value))
        index += 1
    if chunks and all(c.startswith(_RAW_PREFIX) for c in chunks):
        encoded = "".join(c[len(_RAW_PREFIX) :] for c in chunks).upper()
        try:
            return base64.b32decode(encoded + "=" * (-len(encoded) % 8)).decode()
        except (binascii.Error, UnicodeDecodeError):
            pass
    found = labels.get(ID_LABEL)
    return str(found) if found is not None else None


def _output_lines(parts: list[bytes]) -> list[dict[str, Any]] | None:
    """Every line of every part when all are Vertex batch output lines; None for any other file."""
    lines = []
    for part in parts:
        try:
            text = part.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None
        for raw in text.splitlines():
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                return None
            if (
                not isinstance(line, dict)
                or "request" not in line
                or not ("response" in line or "status" in line)
            ):
                return None
            lines.append(line)
    return lines or None


def _error(status: Any) -> dict[str, str]:
    """OpenAI's per-request error from Vertex's ``status`` (Google's error object or its text)."""
    if isinstance(status, dict):
        inner = status.get("error") if isinstance(status.get("error"), dict) else status
        return {
            "code": str(inner.get("status") or inner.get("code") or "vertex_ai_error"),
            "message": str(inner.get("message") or json.dumps(status)),
        }
    return {"code": "vertex_ai_error", "message": str(status) if status else "the request has no response"}


class _Chat:
    """Builds a ``chat.completion`` from a GenerateContentResponse with the batch model's chat spec."""

    def __init__(self, file_id: str, ctx: Any) -> None:
        from engine.registry import default_registry

        found = MODEL_PATH.search(file_id)
        self.settings = ctx.settings
        self.resolved = None
        if found:  # the model the batch file was written for (create_file's layout)
            with contextlib.suppress(
                APIError
            ):  # not a model the specs know: each line's modelVersion decides
                self.resolved = default_registry().resolve(found.group("model"), "chat")

    def body(self, response: dict[str, Any]) -> dict[str, Any]:
        from engine.registry import default_registry
        from engine.request import RequestContext
        from engine.response import BUILDERS

        version = response.get("modelVersion")
        name = version.split("@", 1)[0] if isinstance(version, str) and version else None
        resolved = self.resolved or default_registry().resolve(name or "", "chat")
        op = resolved.family.operations["chat"]
        obj = BUILDERS["chat"](op.response, response, name or resolved.name)
        ctx = RequestContext(resolved, "chat", {}, settings=self.settings)
        for fn in op.response.finalize:
            obj = fn(obj, response, ctx)
        return obj.model_dump()


def _openai_line(ident: str, line: dict[str, Any], chat: _Chat) -> dict[str, Any]:
    request = line.get("request")
    custom_id = custom_id_from_labels(request.get("labels") if isinstance(request, dict) else None)
    out: dict[str, Any] = {"id": ident, "custom_id": custom_id, "response": None, "error": None}
    response = line.get("response")
    if line.get("status") or not isinstance(response, dict):
        out["error"] = _error(line.get("status"))
        return out
    try:
        body = chat.body(response)
    except APIError as exc:
        out["error"] = {"code": type(exc).__name__, "message": exc.message}
        return out
    out["response"] = {"status_code": 200, "request_id": body["id"], "body": body}
    return out


@register("vertex_batch_output", kind="response_finalize")
def vertex_batch_output(obj: Any, raw: list[bytes], ctx: Any) -> Any:
    """Vertex batch prediction output -> OpenAI batch output JSONL; any other file stays as it is.

    Line ids are ``batch_req_`` + a digest of the file id and the line's position, so reading
    the same results twice gives the same lines.
    """
    lines = _output_lines(raw)
    if lines is None:
        return obj
    file_id = ctx.url_vars["file_id"]
    chat = _Chat(file_id, ctx)
    out = []
    for number, line in enumerate(lines):
        ident = "batch_req_" + hashlib.sha1(f"{file_id}#{number}".encode()).hexdigest()[:24]
        out.append(json.dumps(_openai_line(ident, line, chat), separators=(",", ":"), ensure_ascii=False))
    obj.content = ("\n".join(out) + "\n").encode()
    obj.media_type = "application/jsonl"
    return obj
