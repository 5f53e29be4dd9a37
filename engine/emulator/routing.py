"""URL dispatch for Google's resource paths, with auth, logging and 404s in one place.

Why not Starlette's router: Google's paths carry custom verbs after a colon
(``models/{m}:generateContent``) and every unmatched path must still answer in
Google's error format; a small regex table keeps both explicit and lets the
request log, the bearer check and the unknown-model check run uniformly.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from engine.emulator import catalogue
from engine.emulator.auth import unauthenticated
from engine.emulator.errors import google_error, not_found
from engine.emulator.reply import Reply, build
from engine.emulator.state import EmulatorState

# Vertex serves every route on both API versions (google-genai defaults to v1beta1).
VERSION = r"^/(?P<version>v1|v1beta1)/"
PREFIX = VERSION + r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/"
PUBLISHER_MODEL = PREFIX + r"publishers/(?P<publisher>google)/models/(?P<model>[^/:]+)"
ENDPOINT = PREFIX + r"endpoints/(?P<endpoint>[^/:]+)"
# Express mode (an API key, no project): the discovery documents' project-less publisher-model methods
# (v1 and v1beta1 ``publishers.models.{generateContent, streamGenerateContent, countTokens,
# computeTokens, predict, get}``), which google-genai calls with ``Client(vertexai=True, api_key=...)``.
EXPRESS_MODEL = VERSION + r"publishers/(?P<publisher>google)/models/(?P<model>[^/:]+)"


@dataclass
class Call:
    """One request on its way to a handler: parsed body, path parameters, script key."""

    request: Request
    state: EmulatorState
    params: dict[str, str]
    body: Any
    model: str | None

    def reply(self, default: Reply) -> Reply:
        """The scripted reply for this call's model, else ``default``."""
        item = self.state.pop_script(self.model) if self.model else None
        return build(item, default)

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (last value wins)."""
        return dict(self.request.query_params)


Handler = Callable[[Call], Awaitable[Response]]
ModelKey = Callable[[dict[str, str], Any], str | None]
Catalogued = Callable[[dict[str, str], Any], tuple[str, str] | None]


def path_model(params: dict[str, str], body: Any) -> str | None:
    """Script key of publisher-model routes: the model id from the path."""
    return params.get("model") or params.get("endpoint")


def path_publisher_model(params: dict[str, str], body: Any) -> tuple[str, str] | None:
    """(publisher, model) of a ``publishers/{p}/models/{m}`` path, checked against the catalogue."""
    if "publisher" in params and "model" in params:
        return params["publisher"], params["model"]
    return None


def publisher_missing(params: dict[str, str]) -> str:
    """Vertex's 404 text for an unknown publisher model."""
    parent = f"projects/{params['project']}/locations/{params['location']}/" if "project" in params else ""
    name = f"{parent}publishers/{params.get('publisher', 'google')}/models/{params.get('model')}"
    return (
        f"Publisher Model `{name}` was not found or your project does not have access to it. "
        "Please ensure you are using a valid model version. "
        "For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions"
    )


def endpoint_missing(params: dict[str, str]) -> str:
    """Vertex's 404 text for an unknown endpoint."""
    return f"Endpoint `projects/{params['project']}/locations/{params['location']}/endpoints/{params.get('endpoint')}` not found."


@dataclass(frozen=True)
class Route:
    """One method + path pattern and how to treat it."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    model: ModelKey = path_model
    missing: Callable[[dict[str, str]], str] = publisher_missing
    catalogued: Catalogued = path_publisher_model


def route(method: str, regex: str, handler: Handler, **options: Any) -> Route:
    """Compile ``regex`` (anchored at the end) into a :class:`Route`."""
    return Route(method, re.compile(regex + "$"), handler, **options)


def _headers(request: Request) -> dict[str, str]:
    headers = {k.lower(): v for k, v in request.headers.items()}
    if "authorization" in headers:
        scheme = headers["authorization"].partition(" ")[0]
        headers["authorization"] = f"{scheme} <redacted>"
    if "x-goog-api-key" in headers:
        headers["x-goog-api-key"] = "<redacted>"
    return headers


def log_entry(request: Request, body: Any, model: str | None) -> dict[str, Any]:
    """One request-log record (the Authorization value is redacted)."""
    return {
        "method": request.method,
        "path": request.url.path,
        "query": {k: "<redacted>" if k == "key" else v for k, v in request.query_params.items()},
        "headers": _headers(request),
        "body": body,
        "model": model,
        "time": time.time(),
    }


# A \uD800-\uDFFF escape or a UTF-8-encoded surrogate (0xED 0xA0-0xBF): the only ways a
# JSON text can carry a lone surrogate, which no reply could encode back (checked only then).
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


async def _body(request: Request) -> tuple[Any, bool]:
    """(parsed JSON body or None, ok): too deep a nesting or a lone surrogate is invalid JSON, as for Google."""
    raw = await request.body()
    if not raw:
        return None, True
    try:
        body = json.loads(raw)
        if _SURROGATE.search(raw):
            json.dumps(body, ensure_ascii=False).encode("utf-8")  # a pair is one character; a lone half fails
        return body, True
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return raw.decode("utf-8", "replace"), False


def _not_served(
    route: Route, path: str, params: dict[str, str], body: Any, state: EmulatorState
) -> Response | None:
    """Vertex's 404 for a publisher model outside the catalogue, or its 400 for a method the model lacks."""
    named = route.catalogued(params, body)
    if named is None or state.accept_any_model:
        return None
    publisher, model = named
    if state.is_accepted(model) or state.is_accepted(f"{publisher}/{model}"):
        return None
    entry = catalogue.find(publisher, model)
    if entry is None:
        return not_found(publisher_missing({**params, "publisher": publisher, "model": model}))
    last = path.rpartition("/")[2]
    problem = catalogue.method_problem(entry, last.rpartition(":")[2]) if ":" in last else None
    return google_error(400, problem, status="FAILED_PRECONDITION") if problem else None


async def dispatch(request: Request, state: EmulatorState, routes: list[Route]) -> Response:
    """Find the route, log the request, check auth and the model, call the handler."""
    path = request.url.path
    for candidate in routes:
        match = candidate.pattern.match(path)
        if match and candidate.method == request.method:
            break
    else:
        state.record(log_entry(request, None, None))
        return not_found(f"The requested URL {path} was not found on this server.")
    params = {k: v for k, v in match.groupdict().items() if v is not None}
    body, ok = await _body(request)
    model = candidate.model(params, body) if ok else None
    state.record(log_entry(request, body, model))
    denied = unauthenticated(request, state)
    if denied is not None:
        return denied
    if not ok:
        return google_error(400, "Invalid JSON payload received. Unexpected token.")
    if isinstance(model, str) and state.is_unknown(model):
        return not_found(candidate.missing(params))
    refused = _not_served(candidate, path, params, body, state)
    if refused is not None:
        return refused
    return await candidate.handler(Call(request, state, params, body, model))
