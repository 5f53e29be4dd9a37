"""The other Vertex methods Google's SDKs call: tokens, embedContent, GETs of models, endpoints, operations.

Which methods exist and their request/response shapes come from the v1 and v1beta1 discovery
documents (``publishers.models.computeTokens``, ``.embedContent``, ``.batchEmbedContents``,
``publishers.models.get``, ``projects.locations.endpoints.get``, ``*.operations.get``):

- ``:computeTokens`` → ``tokensInfo[{tokens (bytes, base64), tokenIds (int64 as strings), role}]``,
  one entry per content (or per ``instances`` item), tokens as the emulator counts them
  (engine/emulator/text.py), so ``countTokens`` and ``computeTokens`` agree;
- ``:embedContent`` → ``{embedding{values}, truncated, usageMetadata}``;
  ``:batchEmbedContents`` → ``{embeddings[{values}], usageMetadata}`` (vectors from
  engine/emulator/vectors.py, ``outputDimensionality`` honoured, 3072 by default as the
  Gemini embedding model documents);
- ``GET publishers/{p}/models/{m}`` (with or without ``projects/*/locations/*``) → ``PublisherModel``;
  ``GET v1beta1/publishers/{p}/models`` (``publishers.models.list``, v1beta1 only) → a page of them;
- ``GET .../endpoints/{e}`` → ``Endpoint``; ``GET .../operations/{o}`` → a stored long-running
  ``Operation`` (404 when the emulator never created it).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from starlette.responses import JSONResponse, Response

from engine.emulator import catalogue
from engine.emulator.errors import google_error, not_found
from engine.emulator.limits import max_dimensions, out_of_range
from engine.emulator.reply import Reply
from engine.emulator.routing import (
    ENDPOINT,
    EXPRESS_MODEL,
    PREFIX,
    PUBLISHER_MODEL,
    VERSION,
    Call,
    Route,
    endpoint_missing,
    route,
)
from engine.emulator.streaming import early
from engine.emulator.text import collect_texts, count_tokens
from engine.emulator.validation import parse, respond
from engine.emulator.vectors import embed

_TOKEN = re.compile(r"\w+|[^\w\s]")
DEFAULT_DIMENSIONS = 3072
ANY_PUBLISHER_MODEL = r"publishers/(?P<publisher>[^/]+)/models/(?P<model>[^/:]+)"


def _token_id(token: str) -> str:
    """A stable id for a token (int64 in proto3 JSON is a string)."""
    return str(int.from_bytes(hashlib.sha256(token.encode("utf-8")).digest()[:3], "big"))


def _tokens_info(texts: list[str], role: str | None) -> dict[str, Any]:
    tokens = [t for text in texts for t in _TOKEN.findall(text)]
    info: dict[str, Any] = {
        "tokens": [base64.b64encode(t.encode("utf-8")).decode("ascii") for t in tokens],
        "tokenIds": [_token_id(t) for t in tokens],
    }
    if role:
        info["role"] = role
    return info


async def compute_tokens(call: Call) -> Response:
    """``:computeTokens``: the tokens of every content (or instance) of the prompt."""
    problem = parse(call, "GoogleCloudAiplatformV1ComputeTokensRequest")
    if problem:
        return problem
    done = await early(call.reply(Reply()))
    if done is not None:
        return done
    infos = [
        _tokens_info(collect_texts(content.get("parts") or []), content.get("role"))
        for content in call.body.get("contents") or []
    ]
    infos += [_tokens_info(collect_texts(instance), None) for instance in call.body.get("instances") or []]
    return respond(call, {"tokensInfo": infos}, "GoogleCloudAiplatformV1ComputeTokensResponse")


def _dimensionality(request: dict[str, Any]) -> Any:
    """The requested outputDimensionality (the config field or its deprecated top-level twin), else None."""
    config = request.get("embedContentConfig") or {}
    return config.get("outputDimensionality") or request.get("outputDimensionality")


def _dimension_problem(call: Call, requests: list[Any]) -> Response | None:
    """Vertex's 400 when a request asks for more (or fewer) dimensions than the model has."""
    most = max_dimensions(call.model or "")
    for request in requests:
        refused = out_of_range("outputDimensionality", _dimensionality(request), 1, most)
        if refused is not None:
            return refused
    return None


def _embedding(request: dict[str, Any]) -> tuple[list[float], int]:
    """(vector, prompt tokens) for one EmbedContentRequest (config fields or their deprecated top-level twins)."""
    config = request.get("embedContentConfig") or {}
    size = int(_dimensionality(request) or DEFAULT_DIMENSIONS)
    task = config.get("taskType") or request.get("taskType") or ""
    text = " ".join(collect_texts((request.get("content") or {}).get("parts") or []))
    return embed(f"{task}|{text}", size), max(1, count_tokens(text))


def _usage(tokens: int) -> dict[str, Any]:
    return {"promptTokenCount": tokens, "totalTokenCount": tokens}


async def embed_content(call: Call) -> Response:
    """``:embedContent``: one embedding for one content."""
    problem = parse(call, "GoogleCloudAiplatformV1EmbedContentRequest")
    if problem:
        return problem
    done = await early(call.reply(Reply()))
    if done is not None:
        return done
    refused = _dimension_problem(call, [call.body])
    if refused is not None:
        return refused
    values, tokens = _embedding(call.body)
    payload = {"embedding": {"values": values}, "truncated": False, "usageMetadata": _usage(tokens)}
    return respond(call, payload, "GoogleCloudAiplatformV1EmbedContentResponse")


async def batch_embed_contents(call: Call) -> Response:
    """``:batchEmbedContents``: one embedding per request, in order."""
    problem = parse(call, "GoogleCloudAiplatformV1BatchEmbedContentsRequest")
    if problem:
        return problem
    done = await early(call.reply(Reply()))
    if done is not None:
        return done
    requests = call.body.get("requests") or []
    refused = _dimension_problem(call, requests)
    if refused is not None:
        return refused
    found = [_embedding(request) for request in requests]
    payload = {
        "embeddings": [{"values": values} for values, _ in found],
        "usageMetadata": _usage(sum(tokens for _, tokens in found)),
    }
    return respond(call, payload, "GoogleCloudAiplatformV1BatchEmbedContentsResponse")


def publisher_model(publisher: str, model: str) -> dict[str, Any]:
    """The ``PublisherModel`` JSON of ``publishers/{publisher}/models/{model}`` (the one lookup a GET needs)."""
    base, _, version = model.partition("@")
    name = f"publishers/{publisher}/models/{base}"
    return {
        "name": name,
        "versionId": version or "default",
        "openSourceCategory": "PROPRIETARY" if publisher == "google" else "THIRD_PARTY_OWNED_OSS",
        "launchStage": "GA",
        "publisherModelTemplate": f"projects/{{user-project}}/locations/{{location}}/publishers/{publisher}/models/{model}",
    }


async def get_publisher_model(call: Call) -> Response:
    """``GET publishers/{p}/models/{m}``."""
    failed = await early(call.reply(Reply()))
    if failed is not None:
        return failed
    publisher, model = call.params["publisher"], call.params["model"]
    entry = catalogue.find(publisher, model)  # None only for accepted made-up names (routing checked it)
    found = entry.publisher_model() if entry is not None else publisher_model(publisher, model)
    return respond(call, found, "GoogleCloudAiplatformV1PublisherModel")


DEFAULT_PAGE_SIZE = 100  # the emulator's choice; Google documents no default for publishers.models.list
MAX_PAGE_SIZE = 1000
LIST_QUERY = frozenset({"pageSize", "pageToken", "listAllVersions", "view", "languageCode", "$alt", "alt"})


def _page_start(token: str) -> int | None:
    """The offset a page token stands for (an opaque base64 offset), None when it is not one of ours."""
    try:
        start = int(base64.urlsafe_b64decode(token.encode("ascii") + b"==").decode("ascii"))
    except ValueError:
        return None
    return start if start >= 0 else None


async def list_publisher_models(call: Call) -> Response:
    """``GET v1beta1/publishers/{p}/models`` (v1beta1 only, as the discovery documents have it).

    Served from the catalogue: models not retired, one per model id (every ``@version`` with
    ``listAllVersions=true``), ``pageSize`` / ``pageToken`` paging. ``filter`` and ``orderBy``
    are refused by name rather than ignored (no silent loss).
    """
    failed = await early(call.reply(Reply()))
    if failed is not None:
        return failed
    query = call.query
    unknown = sorted(k for k in query if k not in LIST_QUERY)
    if unknown:
        return google_error(
            400, f"The emulator does not support {', '.join(unknown)} on publishers.models.list."
        )
    try:
        size = int(query.get("pageSize") or DEFAULT_PAGE_SIZE)
    except ValueError:
        size = -1
    if size < 0:
        return google_error(400, f"Invalid value at 'page_size' (TYPE_INT32), \"{query['pageSize']}\"")
    size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    start = _page_start(query["pageToken"]) if query.get("pageToken") else 0
    if start is None:
        return google_error(400, "Invalid page token.")
    every = query.get("listAllVersions", "").lower() == "true"
    found = catalogue.listed(call.params["publisher"], all_versions=every)
    payload: dict[str, Any] = {"publisherModels": [e.publisher_model() for e in found[start : start + size]]}
    if start + size < len(found):
        payload["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode().rstrip("=")
    return respond(
        call, payload, "GoogleCloudAiplatformV1beta1ListPublisherModelsResponse", "aiplatform.v1beta1"
    )


async def get_endpoint(call: Call) -> Response:
    """``GET .../endpoints/{e}``: an endpoint with one deployed model of the same id."""
    failed = await early(call.reply(Reply()))
    if failed is not None:
        return failed
    parent = f"projects/{call.params['project']}/locations/{call.params['location']}"
    ident = call.params["endpoint"]
    endpoint = {
        "name": f"{parent}/endpoints/{ident}",
        "displayName": ident,
        "deployedModels": [{"id": ident, "model": f"{parent}/models/{ident}", "displayName": ident}],
        "trafficSplit": {ident: 100},
        "createTime": "2026-01-01T00:00:00Z",
        "updateTime": "2026-01-01T00:00:00Z",
    }
    return respond(call, endpoint, "GoogleCloudAiplatformV1Endpoint")


def remember_operation(call: Call, operation: dict[str, Any]) -> dict[str, Any]:
    """Keep ``operation`` so ``GET {name}`` can poll it (long-running calls store what they return)."""
    call.state.collection("operations")[operation["name"]] = operation
    return operation


async def get_operation(call: Call) -> Response:
    """``GET .../operations/{o}``: the stored operation, else Google's 404."""
    name = call.request.url.path.split("/", 2)[2]
    found = call.state.collection("operations").get(name)
    if found is None:
        return not_found(f"Operation {name} not found.")
    return JSONResponse(found)


def _none(params: dict[str, str], body: Any) -> str | None:
    return None


ROUTES: list[Route] = [
    route("POST", PUBLISHER_MODEL + ":computeTokens", compute_tokens),
    route("POST", EXPRESS_MODEL + ":computeTokens", compute_tokens),
    route("POST", ENDPOINT + ":computeTokens", compute_tokens, missing=endpoint_missing),
    route("POST", PUBLISHER_MODEL + ":embedContent", embed_content),
    route("POST", PUBLISHER_MODEL + ":batchEmbedContents", batch_embed_contents),
    route("GET", PREFIX + ANY_PUBLISHER_MODEL, get_publisher_model),
    route("GET", VERSION + ANY_PUBLISHER_MODEL, get_publisher_model),
    route("GET", r"^/(?P<version>v1beta1)/publishers/(?P<publisher>[^/]+)/models", list_publisher_models),
    route("GET", ENDPOINT, get_endpoint, missing=endpoint_missing),
    route("GET", VERSION + r"(?:[^:]+/)?operations/(?P<operation>[^/:]+)", get_operation, model=_none),
]
