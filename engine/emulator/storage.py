"""A built-in, in-memory Cloud Storage: the JSON API subset the batch and file paths use.

Why built in: ``vertexlate emulator`` run alone must let a batch job write its
``predictions.jsonl`` and let a client read it back, without a second emulator. When the
emulator is given ``--storage-url`` (e.g. a gcp-storage-emulator) it uses that instead and
these routes simply stay unused.

Methods, as the Cloud Storage JSON API v1 has them (https://cloud.google.com/storage/docs/json_api/v1):
objects.insert with ``uploadType=media`` or ``multipart`` (``POST /upload/storage/v1/b/{bucket}/o``,
https://cloud.google.com/storage/docs/uploading-objects and .../json_api/v1/how-tos/multipart-upload),
objects.get (metadata, or the bytes with ``alt=media``; also ``/download/storage/v1/...``),
objects.list with ``prefix`` (``GET /storage/v1/b/{bucket}/o``), objects.delete, and buckets.insert /
buckets.get. Buckets spring into being on first upload. No authentication is checked, as in
gcp-storage-emulator. Errors use Google's ``{"error": {"code", "message", ...}}`` shape with the
JSON API's texts ("No such object: bucket/name").
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import time
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import quote

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.emulator.errors import google_error
from engine.emulator.state import EmulatorState


@dataclass(frozen=True)
class Blob:
    """One stored object: its bytes, content type and when it was written."""

    data: bytes
    content_type: str
    generation: int
    created: float


def _stamp(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def resource(base: str, bucket: str, name: str, blob: Blob) -> dict[str, Any]:
    """The JSON API's Object resource for ``blob`` (the fields clients read)."""
    quoted = quote(name, safe="")
    return {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{blob.generation}",
        "selfLink": f"{base}/storage/v1/b/{bucket}/o/{quoted}",
        "mediaLink": f"{base}/download/storage/v1/b/{bucket}/o/{quoted}?generation={blob.generation}&alt=media",
        "name": name,
        "bucket": bucket,
        "generation": str(blob.generation),
        "metageneration": "1",
        "contentType": blob.content_type,
        "storageClass": "STANDARD",
        "size": str(len(blob.data)),
        "md5Hash": base64.b64encode(hashlib.md5(blob.data).digest()).decode(),  # noqa: S324 - GCS's checksum
        "timeCreated": _stamp(blob.created),
        "updated": _stamp(blob.created),
    }


def put(state: EmulatorState, bucket: str, name: str, data: bytes, content_type: str) -> Blob:
    """Store ``data`` as ``gs://bucket/name`` (creating the bucket), a new generation each time."""
    with state.lock:
        objects = state.buckets.setdefault(bucket, {})
        now = time.time()
        blob = Blob(data, content_type, time.time_ns() // 1000, now)  # generation: microseconds, as GCS
        objects[name] = blob
        return blob


async def write(
    state: EmulatorState, bucket: str, name: str, data: bytes, content_type: str
) -> Response | None:
    """Store ``gs://bucket/name`` in the Cloud Storage the emulator uses: ``state.storage_url`` if set, else built in.

    None when stored; Google's 503 UNAVAILABLE when the ``--storage-url`` service cannot be reached or
    refuses the write (an httpx error must not become a bare 500).
    """
    if not state.storage_url:
        put(state, bucket, name, data, content_type)
        return None
    try:
        async with httpx.AsyncClient(base_url=state.storage_url.rstrip("/"), timeout=10) as client:
            answer = await client.post(
                f"/upload/storage/v1/b/{bucket}/o",
                params={"uploadType": "media", "name": name},
                content=data,
                headers={"content-type": content_type},
            )
            answer.raise_for_status()
    except httpx.HTTPError as error:
        return google_error(
            503, f"Cloud Storage write of gs://{bucket}/{name} failed: {type(error).__name__}."
        )
    return None


def get(state: EmulatorState, bucket: str, name: str) -> Blob | None:
    """The object ``gs://bucket/name``, or None."""
    with state.lock:
        return state.buckets.get(bucket, {}).get(name)


def _no_object(bucket: str, name: str) -> Response:
    return google_error(404, f"No such object: {bucket}/{name}", status="NOT_FOUND")


def _no_bucket(bucket: str) -> Response:
    return google_error(404, "The specified bucket does not exist.", status="NOT_FOUND")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _multipart(body: bytes, content_type: str) -> tuple[dict[str, Any], bytes, str] | None:
    """(metadata, media, media content type) of a multipart/related upload, or None when malformed."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not message.is_multipart():
        return None
    parts = list(message.iter_parts())
    if len(parts) != 2:
        return None
    try:
        metadata = json.loads(parts[0].get_payload(decode=True) or b"{}")
    except ValueError:
        return None
    media = parts[1].get_payload(decode=True) or b""
    return metadata, media, parts[1].get_content_type()


async def upload(request: Request, state: EmulatorState) -> Response:
    """objects.insert: ``uploadType=media`` (name in the query) or ``multipart`` (name in the metadata)."""
    bucket = request.path_params["bucket"]
    kind = request.query_params.get("uploadType", "media")
    body = await request.body()
    content_type = request.headers.get("content-type", "application/octet-stream")
    if kind == "media":
        name = request.query_params.get("name")
        media, media_type = body, content_type
    elif kind == "multipart":
        parsed = _multipart(body, content_type)
        if parsed is None:
            return google_error(400, "Invalid multipart request.")
        metadata, media, media_type = parsed
        if not isinstance(metadata, dict):
            return google_error(400, "Invalid multipart request: the metadata part must be a JSON object.")
        name = request.query_params.get("name") or metadata.get("name")
        given = metadata.get("contentType")
        media_type = given if isinstance(given, str) and given else media_type
    else:
        return google_error(400, f"Upload type {kind} is not supported by the emulator's Cloud Storage.")
    if not isinstance(name, str) or not name:
        return google_error(400, "Required parameter: name")
    blob = put(state, bucket, name, media, media_type)
    return JSONResponse(resource(_base(request), bucket, name, blob))


async def object_call(request: Request, state: EmulatorState) -> Response:
    """objects.get (metadata or ``alt=media``) and objects.delete."""
    bucket, name = request.path_params["bucket"], request.path_params["name"]
    if request.method == "DELETE":
        with state.lock:
            removed = state.buckets.get(bucket, {}).pop(name, None)
        return Response(status_code=204) if removed else _no_object(bucket, name)
    blob = get(state, bucket, name)
    if blob is None:
        return _no_object(bucket, name)
    media = request.query_params.get("alt") == "media" or request.url.path.startswith("/download/")
    if media:
        return Response(blob.data, media_type=blob.content_type)
    return JSONResponse(resource(_base(request), bucket, name, blob))


async def list_objects(request: Request, state: EmulatorState) -> Response:
    """objects.list with ``prefix`` (no paging: everything fits in memory)."""
    bucket = request.path_params["bucket"]
    prefix = request.query_params.get("prefix", "")
    with state.lock:
        if bucket not in state.buckets:
            return _no_bucket(bucket)
        found = sorted((n, b) for n, b in state.buckets[bucket].items() if n.startswith(prefix))
    items = [resource(_base(request), bucket, n, b) for n, b in found]
    return JSONResponse({"kind": "storage#objects", **({"items": items} if items else {})})


async def bucket_call(request: Request, state: EmulatorState) -> Response:
    """buckets.insert (``POST /storage/v1/b`` ``{"name"}``) and buckets.get."""
    if request.method == "POST":
        try:
            name = json.loads(await request.body() or b"{}").get("name")
        except (ValueError, AttributeError):
            name = None
        if not isinstance(name, str) or not name:
            return google_error(400, "Required parameter: name")
        with state.lock:
            if name in state.buckets:
                return google_error(
                    409, "Your previous request to create the named bucket succeeded and you already own it."
                )
            state.buckets[name] = {}
    else:
        name = request.path_params["bucket"]
        with state.lock:
            if name not in state.buckets:
                return _no_bucket(name)
    return JSONResponse({"kind": "storage#bucket", "id": name, "name": name, "storageClass": "STANDARD"})
