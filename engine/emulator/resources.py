"""Long-running resources: ``cachedContents``, ``batchPredictionJobs``, ``tuningJobs``.

Methods exactly where the v1 discovery document has them (cachedContents:
create/get/list/patch/delete; batchPredictionJobs: create/get/list/cancel/delete;
tuningJobs: create/get/list/cancel). Jobs move through Google's JobState values
(JOB_STATE_PENDING → JOB_STATE_RUNNING → JOB_STATE_SUCCEEDED, or
JOB_STATE_CANCELLING → JOB_STATE_CANCELLED) one ``job_step_seconds`` at a
time, computed when read so no background thread is needed.

Cloud Storage is ``state.storage_url`` when set (e.g. a gcp-storage-emulator), else the
emulator's built-in one (engine/emulator/storage.py, same URL as the emulator). A batch job that has succeeded writes its results the first
time it is read, as Vertex does: ``<gcsOutputDirectory>/predictions.jsonl``, one
``{"status", "processed_time", "request", "response"}`` line per input line (the shape of
Google's example output, GoogleCloudPlatform/generative-ai
gemini/batch-prediction/intro_batch_prediction.ipynb), each response what
``:generateContent`` answers for that request, scripts for the model included. A scripted
fault (``{"status": 400, "message": ...}``) makes that line a failed one: no response, the
message in ``status``.
"""

from __future__ import annotations

import datetime
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from starlette.responses import JSONResponse, Response

from engine.emulator import catalogue, storage
from engine.emulator.errors import google_error, not_found
from engine.emulator.gemini import _events, _merge, default_reply
from engine.emulator.methods import remember_operation
from engine.emulator.reply import Reply
from engine.emulator.routing import PREFIX, Call, Handler, ModelKey, Route, route
from engine.emulator.streaming import fault
from engine.emulator.text import prompt_tokens
from engine.emulator.validation import parse, respond

TERMINAL = ("JOB_STATE_SUCCEEDED", "JOB_STATE_CANCELLED", "JOB_STATE_FAILED")


@dataclass(frozen=True)
class Kind:
    """One resource collection and which of Google's methods it has."""

    collection: str
    schema: str
    required: tuple[str, ...]
    job: bool
    methods: frozenset[str]


KINDS = (
    Kind(
        "cachedContents",
        "GoogleCloudAiplatformV1CachedContent",
        ("model",),
        False,
        frozenset({"create", "get", "list", "patch", "delete"}),
    ),
    Kind(
        "batchPredictionJobs",
        "GoogleCloudAiplatformV1BatchPredictionJob",
        ("displayName", "model", "inputConfig", "outputConfig"),
        True,
        frozenset({"create", "get", "list", "cancel", "delete"}),
    ),
    Kind(
        "tuningJobs",
        "GoogleCloudAiplatformV1TuningJob",
        ("baseModel",),
        True,
        frozenset({"create", "get", "list", "cancel"}),
    ),
)


def _stamp(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _ttl_seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", value.strip())
    return float(match.group(1)) if match else 3600.0


def _job_state(stored: dict[str, Any], step: float, now: float) -> tuple[str, float | None, float | None]:
    """(state, startTime, endTime) of a job at ``now``."""
    created = stored["_created"]
    started = created + step
    cancelled = stored.get("_cancelled")
    if cancelled is not None:
        done = cancelled + step
        return (
            ("JOB_STATE_CANCELLED", started if cancelled >= started else None, done)
            if now >= done
            else ("JOB_STATE_CANCELLING", started if now >= started else None, None)
        )
    if now < started:
        return "JOB_STATE_PENDING", None, None
    finished = created + 2 * step
    return (
        ("JOB_STATE_RUNNING", started, None) if now < finished else ("JOB_STATE_SUCCEEDED", started, finished)
    )


def _job_outputs(stored: dict[str, Any]) -> dict[str, Any]:
    """What a succeeded job reports: output location or tuned model."""
    name = stored["name"]
    parent = name.split("/tuningJobs/")[0].split("/batchPredictionJobs/")[0]
    if "/tuningJobs/" in name:
        ident = name.rsplit("/", 1)[1]
        return {
            "tunedModel": {"model": f"{parent}/models/{ident}", "endpoint": f"{parent}/endpoints/{ident}"}
        }
    destination = stored.get("outputConfig") or {}
    stamp = datetime.datetime.fromtimestamp(stored["_wall"], datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    if "gcsDestination" in destination:
        prefix = destination["gcsDestination"].get("outputUriPrefix", "").rstrip("/")
        return {"outputInfo": {"gcsOutputDirectory": f"{prefix}/prediction-model-{stamp}"}}
    if "bigqueryDestination" in destination:
        uri = destination["bigqueryDestination"].get("outputUri", "")
        return {"outputInfo": {"bigqueryOutputDataset": uri, "bigqueryOutputTable": f"predictions_{stamp}"}}
    return {}


def view(call: Call, stored: dict[str, Any]) -> dict[str, Any]:
    """The public JSON of a stored resource at this moment (internal ``_`` keys dropped)."""
    public = {k: v for k, v in stored.items() if not k.startswith("_")}
    if not stored.get("_job"):
        return public
    now = call.state.now()
    state, started, ended = _job_state(stored, call.state.job_step_seconds, now)
    offset = stored["_wall"] - stored["_created"]
    public["state"] = state
    public["updateTime"] = _stamp(
        offset + max(x for x in (stored["_created"], started, ended) if x is not None)
    )
    if started is not None:
        public["startTime"] = _stamp(offset + started)
    if ended is not None:
        public["endTime"] = _stamp(offset + ended)
    if state == "JOB_STATE_SUCCEEDED":
        public.update(_job_outputs(stored))
    return public


def _prediction(call: Call, request: dict[str, Any], model: str) -> dict[str, Any]:
    """One output line: the request and the model's answer to it (or, for a scripted fault, the error)."""
    line = Call(call.request, call.state, call.params, request, model)
    reply = line.reply(default_reply(request))
    done = {"processed_time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")}
    if reply.status is not None and reply.status >= 400:
        return {"status": reply.message or f"HTTP {reply.status}", **done, "request": request}
    response = reply.raw_json if reply.has_json else _merge(_events(line, reply, 0))
    return {"status": "", **done, "request": request, "response": response}


async def _export(call: Call, stored: dict[str, Any], public: dict[str, Any]) -> None:
    """Write a succeeded batch job's predictions.jsonl to Cloud Storage, once (see the module docstring)."""
    directory = (public.get("outputInfo") or {}).get("gcsOutputDirectory")
    if not directory or stored.get("_exported"):
        return
    stored["_exported"] = True
    model = str(stored.get("model", "")).rsplit("/", 1)[-1]
    external = call.state.storage_url
    lines = []
    async with httpx.AsyncClient(base_url=(external or "http://unused").rstrip("/"), timeout=10) as client:
        for uri in (stored.get("inputConfig") or {}).get("gcsSource", {}).get("uris") or []:
            bucket, _, name = uri.removeprefix("gs://").partition("/")
            text = await _read(call, client, bucket, name) if external else _read_builtin(call, bucket, name)
            if text is not None:
                requests = [json.loads(raw)["request"] for raw in text.splitlines() if raw.strip()]
                lines += [_prediction(call, request, model) for request in requests]
        bucket, _, folder = directory.removeprefix("gs://").partition("/")
        data = "".join(json.dumps(line) + "\n" for line in lines).encode()
        if not external:
            storage.put(call.state, bucket, f"{folder}/predictions.jsonl", data, "application/jsonl")
            return
        await client.post(
            f"/upload/storage/v1/b/{bucket}/o",
            params={"uploadType": "media", "name": f"{folder}/predictions.jsonl"},
            content=data,
            headers={"content-type": "application/octet-stream"},  # the storage emulator parses json* types
        )


async def _read(call: Call, client: httpx.AsyncClient, bucket: str, name: str) -> str | None:
    """An object's text from the external Cloud Storage, or None when it is absent."""
    got = await client.get(f"/storage/v1/b/{bucket}/o/{quote(name, safe='')}", params={"alt": "media"})
    return got.text if got.status_code == 200 else None


def _read_builtin(call: Call, bucket: str, name: str) -> str | None:
    """An object's text from the built-in Cloud Storage, or None when it is absent."""
    blob = storage.get(call.state, bucket, name)
    return blob.data.decode("utf-8", "replace") if blob is not None else None


PUBLISHER_MODEL_NAME = re.compile(r"(?:projects/[^/]+/locations/[^/]+/)?publishers/([^/]+)/models/([^/]+)")


def _unserved_model(call: Call, kind: Kind) -> Response | None:
    """Vertex's 400 for a batch job on a publisher model it does not serve.

    Text from googleapis/python-genai#704: ``{"code": 400, "message": "Do not support publisher
    model gemini-2.5-flash-preview-04-17", "status": "INVALID_ARGUMENT"}``.
    """
    named = PUBLISHER_MODEL_NAME.fullmatch(str(call.body.get("model", "")))
    if kind.collection != "batchPredictionJobs" or named is None or call.state.accept_any_model:
        return None
    publisher, model = named.groups()
    if call.state.is_accepted(model) or catalogue.find(publisher, model) is not None:
        return None
    return google_error(400, f"Do not support publisher model {model}")


def _parent(call: Call) -> str:
    return f"projects/{call.params['project']}/locations/{call.params['location']}"


def _new(call: Call, kind: Kind) -> dict[str, Any]:
    body = call.body
    wall = time.time()
    name = f"{_parent(call)}/{kind.collection}/{call.state.next_id()}"
    stored: dict[str, Any] = {
        **body,
        "name": name,
        "createTime": _stamp(wall),
        "updateTime": _stamp(wall),
        "_created": call.state.now(),
        "_wall": wall,
        "_job": kind.job,
    }
    if kind.job:
        return stored
    for key in ("contents", "systemInstruction", "tools", "toolConfig", "ttl"):
        stored.pop(key, None)
    expire = wall + _ttl_seconds(body.get("ttl", "3600s"))
    stored["expireTime"] = body.get("expireTime") or _stamp(expire)
    stored["usageMetadata"] = {
        "totalTokenCount": prompt_tokens(
            {"contents": body.get("contents"), "systemInstruction": body.get("systemInstruction")}
        )
    }
    return stored


def _missing(name: str, kind: Kind) -> Response:
    return not_found(f"{kind.schema.removeprefix('GoogleCloudAiplatformV1')} `{name}` not found.")


def handler(kind: Kind, method: str) -> Handler:
    """The route handler for ``method`` on ``kind``."""

    async def handle(call: Call) -> Response:
        failed = await fault(call.reply(Reply()))
        if failed is not None:
            return failed
        store = call.state.collection(kind.collection)
        if method == "create":
            problem = parse(call, kind.schema)
            if problem:
                return problem
            absent = [f for f in kind.required if not call.body.get(f)]
            if absent:
                return google_error(400, f"{absent[0]} is required.")
            refused = _unserved_model(call, kind)
            if refused is not None:
                return refused
            stored = _new(call, kind)
            store[stored["name"]] = stored
            return respond(call, view(call, stored), kind.schema)
        if method == "list":
            prefix = f"{_parent(call)}/{kind.collection}/"
            found = [(s, view(call, s)) for n, s in store.items() if n.startswith(prefix)]
            for stored, public in found:
                await _export(call, stored, public)
            items = [public for _, public in found]
            listing = f"GoogleCloudAiplatformV1List{kind.collection[0].upper()}{kind.collection[1:]}Response"
            return respond(call, {kind.collection: items} if items else {}, listing)
        name = f"{_parent(call)}/{kind.collection}/{call.params['id']}"
        stored = store.get(name)
        if stored is None:
            return _missing(name, kind)
        if method == "get":
            public = view(call, stored)
            await _export(call, stored, public)
            return respond(call, public, kind.schema)
        if method == "patch":
            problem = parse(call, kind.schema)
            if problem:
                return problem
            if "ttl" in call.body:
                stored["expireTime"] = _stamp(time.time() + _ttl_seconds(call.body["ttl"]))
            stored.update({k: v for k, v in call.body.items() if k in ("expireTime", "displayName")})
            stored["updateTime"] = _stamp(time.time())
            return respond(call, view(call, stored), kind.schema)
        if method == "cancel":
            state = view(call, stored)["state"]
            if state in TERMINAL or state == "JOB_STATE_CANCELLING":
                return google_error(
                    400, f"Cannot cancel {name} in state {state}.", status="FAILED_PRECONDITION"
                )
            stored["_cancelled"] = call.state.now()
            return JSONResponse({})
        del store[name]
        if kind.job:
            return JSONResponse(
                remember_operation(
                    call,
                    {
                        "name": f"{name}/operations/{call.state.next_id()}",
                        "done": True,
                        "metadata": {
                            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata",
                            "genericMetadata": {
                                "createTime": _stamp(time.time()),
                                "updateTime": _stamp(time.time()),
                            },
                        },
                        "response": {"@type": "type.googleapis.com/google.protobuf.Empty"},
                    },
                )
            )
        return JSONResponse({})

    return handle


def _key(kind: Kind) -> ModelKey:
    """Scripts (faults) for a collection are queued under its name, e.g. ``batchPredictionJobs``."""
    return lambda params, body: kind.collection


def _routes() -> list[Route]:
    verbs = {
        "create": ("POST", ""),
        "list": ("GET", ""),
        "get": ("GET", "/(?P<id>[^/:]+)"),
        "patch": ("PATCH", "/(?P<id>[^/:]+)"),
        "delete": ("DELETE", "/(?P<id>[^/:]+)"),
        "cancel": ("POST", "/(?P<id>[^/:]+):cancel"),
    }
    routes = []
    for kind in KINDS:
        for method in sorted(kind.methods):
            http, suffix = verbs[method]
            routes.append(
                route(http, PREFIX + kind.collection + suffix, handler(kind, method), model=_key(kind))
            )
    return routes


ROUTES: list[Route] = _routes()
