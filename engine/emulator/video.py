"""Veo video generation: ``:predictLongRunning`` starts an operation, ``:fetchPredictOperation`` polls it.

Why: google-genai's ``models.generate_videos`` (and the REST samples in Google's Veo API reference,
https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/veo-video-generation) start a
long-running prediction whose name is
``projects/*/locations/*/publishers/google/models/{m}/operations/{id}``, then POST
``{model}:fetchPredictOperation`` with ``{"operationName"}`` until ``done``. The emulator's operation
is done on the ``POLLS_UNTIL_DONE``-th fetch (counted, not timed, so tests need no clock); its
``response.videos`` hold ``parameters.sampleCount`` tiny MP4s (an ``ftyp`` box, ``video/mp4``): inline
as ``bytesBase64Encoded``, or, with ``parameters.storageUri``, written to Cloud Storage (built-in or
``--storage-url``) as ``{storageUri}/{id}/sample_{i}.mp4`` and named by ``gcsUri``. A scripted
fault for the model answers the ``:predictLongRunning`` call.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from starlette.responses import JSONResponse, Response

from engine.emulator import storage
from engine.emulator.errors import google_error, not_found
from engine.emulator.reply import Reply
from engine.emulator.routing import EXPRESS_MODEL, PUBLISHER_MODEL, Call, Route, route
from engine.emulator.streaming import early
from engine.emulator.validation import parse

POLLS_UNTIL_DONE = 2
MAX_SAMPLES = 4  # Veo's sampleCount range is 1-4 (the Veo API reference)
# An ISO base-media ``ftyp`` box: enough for a client to see an MP4, a few bytes to move around.
FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
MIME = "video/mp4"


def _operations(call: Call) -> dict[str, dict[str, Any]]:
    return call.state.collection("video-operations")


async def predict_long_running(call: Call) -> Response:
    """``:predictLongRunning``: validate, remember the request, answer ``{"name": operation}``."""
    problem = parse(call, "GoogleCloudAiplatformV1PredictLongRunningRequest")
    if problem:
        return problem
    done = await early(call.reply(Reply()))
    if done is not None:
        return done
    instances = call.body.get("instances") or []
    if not instances:
        return google_error(400, "Required field instances is missing.")
    parameters = call.body.get("parameters") or {}
    if not isinstance(parameters, dict):
        return google_error(400, "Request contains an invalid argument: parameters must be an object.")
    count = parameters.get("sampleCount", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SAMPLES:
        return google_error(400, f"sampleCount must be between 1 and {MAX_SAMPLES}, got {count}.")
    target = parameters.get("storageUri")
    if target is not None and not _bucket_of(target):
        return google_error(
            400, f"Invalid value for storageUri: {str(target)[:80]}. It must be gs://bucket[/path]."
        )
    path = call.request.url.path.split("/", 2)[2].rpartition(":")[0]
    name = f"{path}/operations/{uuid.uuid4()}"
    _operations(call)[name] = {"polls": 0, "count": count, "storage": target}
    return JSONResponse({"name": name})


def _bucket_of(target: Any) -> str:
    """The bucket of a ``gs://bucket[/path]`` URI, "" when ``target`` is not one."""
    if not isinstance(target, str) or not target.startswith("gs://"):
        return ""
    return target.removeprefix("gs://").partition("/")[0]


async def _videos(call: Call, name: str, found: dict[str, Any]) -> list[dict[str, Any]] | Response:
    """The finished videos, written to Cloud Storage when the request named a ``storageUri``.

    Cloud Storage's error response when a write fails (the operation stays pollable).
    """
    target = found["storage"]
    if not target:
        data = base64.b64encode(FAKE_MP4).decode("ascii")
        return [{"bytesBase64Encoded": data, "mimeType": MIME} for _ in range(found["count"])]
    bucket, _, folder = str(target).removeprefix("gs://").rstrip("/").partition("/")
    ident = name.rsplit("/", 1)[1]
    videos = []
    for i in range(found["count"]):
        key = "/".join(p for p in (folder, ident, f"sample_{i}.mp4") if p)
        failed = await storage.write(call.state, bucket, key, FAKE_MP4, MIME)
        if failed is not None:
            return failed
        videos.append({"gcsUri": f"gs://{bucket}/{key}", "mimeType": MIME})
    return videos


async def fetch_predict_operation(call: Call) -> Response:
    """``:fetchPredictOperation``: the operation, ``done`` from the ``POLLS_UNTIL_DONE``-th fetch on."""
    problem = parse(call, "GoogleCloudAiplatformV1FetchPredictOperationRequest")
    if problem:
        return problem
    name = str(call.body.get("operationName", ""))
    found = _operations(call).get(name)
    if found is None:
        return not_found(f"Operation {name} not found.")
    found["polls"] += 1
    if found["polls"] < POLLS_UNTIL_DONE:
        return JSONResponse({"name": name, "done": False})
    if "videos" not in found:
        videos = await _videos(call, name, found)
        if isinstance(videos, Response):
            return videos
        found["videos"] = videos
    response = {"raiMediaFilteredCount": 0, "videos": found["videos"]}
    return JSONResponse({"name": name, "done": True, "response": response})


ROUTES: list[Route] = [
    route("POST", PUBLISHER_MODEL + ":predictLongRunning", predict_long_running),
    route("POST", PUBLISHER_MODEL + ":fetchPredictOperation", fetch_predict_operation),
    route("POST", EXPRESS_MODEL + ":predictLongRunning", predict_long_running),
    route("POST", EXPRESS_MODEL + ":fetchPredictOperation", fetch_predict_operation),
]
