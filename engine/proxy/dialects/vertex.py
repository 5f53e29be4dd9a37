"""``/vertex_ai/{v1|v1beta1}/projects/{project}/locations/{location}/...``: Vertex AI as it is, behind the proxy key.

Google's own SDKs (``google-genai`` with ``http_options.base_url=<proxy>/vertex_ai``)
work unchanged: the proxy checks its key (``Authorization: Bearer``, or
``x-litellm-api-key`` / ``x-goog-api-key``), swaps in its own Google credentials and
forwards the body and query as they are, streaming the reply back as it arrives.
Credentials, as in LiteLLM's pass-through: a ``model_list`` deployment with the same
``vertex_project`` and ``vertex_location``, else ``default_vertex_config`` (whose
project and location then replace the client's).

Where the credentials may go is decided here alone: Google's host for the location
(``<location>-aiplatform.googleapis.com``, ``aiplatform.googleapis.com`` for
``global``) or the configured ``api_base``. The location and project must be plain
names, the rest of the path plain segments (no ``..``, no encoded slashes); only a
short list of client headers is forwarded (never ``Host``, ``Authorization``,
``X-Goog-User-Project`` or forwarding headers), so nothing a client sends can point
the request, and the token, anywhere else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from engine import auth
from engine.dialects.priced import USAGE, anthropic_to_openai_usage, count_of
from engine.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    Timeout,
    UnprocessableEntityError,
)
from engine.proxy.dialects.common import authorization
from engine.proxy.handlers import Proxy, client_closed
from engine.proxy.intake import read_body
from engine.transforms.gemini_usage import gemini_completion_tokens
from engine.transport import async_client, connection_error
from engine.types import OpenAIObject

log = logging.getLogger("vertexlate.proxy")

VERSIONS = ("v1", "v1beta1")
LOCATION = re.compile(r"^[a-z]+(?:-[a-z0-9]+)*$")
# a project id or number, optionally domain-scoped (example.com:my-project)
PROJECT = re.compile(r"^(?:[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+:)?(?:[a-z][a-z0-9-]{0,62}|[0-9]{1,20})$")
SEGMENT = re.compile(r"^[A-Za-z0-9_@:.+-]+$")
FORWARDED_HEADERS = ("content-type", "accept", "x-goog-api-client", "user-agent")
KEY_HEADERS = ("x-litellm-api-key", "x-goog-api-key")
USAGE_LIMIT = 16 * 1024 * 1024  # bytes of a unary reply kept to read its usage
CALL_TYPE = "pass_through_endpoint"  # LiteLLM's call type for pass-through spend rows
MODEL = re.compile(r"(?:^|/)models/([^/:]+)")
# Error classes by HTTP status, for the spend row of a failed pass-through reply (its error type).
ERRORS: dict[int, type[APIError]] = {
    cls.status_code: cls
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        Timeout,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
        ServiceUnavailableError,
    )
}


def status_error(status: int) -> APIError | None:
    """The typed error a non-2xx relayed reply stands for in the spend log (None for success)."""
    if status < 400:
        return None
    cls = ERRORS.get(status) or (InternalServerError if status >= 500 else BadRequestError)
    return cls(f"Vertex AI returned {status}", status_code=status)


@dataclass(frozen=True)
class Target:
    base: str  # scheme://host[:port] the request may go to
    project: str
    location: str
    credentials: Any


def google_error(error: APIError) -> Response:
    """Google's error body, which google-genai reads."""
    status = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        503: "UNAVAILABLE",
    }
    body = {
        "error": {
            "code": error.status_code,
            "message": error.message,
            "status": status.get(error.status_code, "INTERNAL"),
        }
    }
    retry_after = (error.headers or {}).get("retry-after")
    headers = {"retry-after": str(retry_after)} if retry_after is not None else None
    return Response(
        json.dumps(body), status_code=error.status_code, media_type="application/json", headers=headers
    )


def host_for(location: str) -> str:
    return (
        "https://aiplatform.googleapis.com"
        if location == "global"
        else f"https://{location}-aiplatform.googleapis.com"
    )


def parse_path(path: str) -> tuple[str, str, str, str]:
    """(version, project, location, rest) of a pass-through path, each checked."""
    parts = path.split("/")
    if len(parts) < 6 or parts[0] not in VERSIONS or parts[1] != "projects" or parts[3] != "locations":
        raise NotFoundError(
            "pass-through paths are /vertex_ai/{v1|v1beta1}/projects/{project}/locations/{location}/...",
            llm_provider="proxy",
        )
    version, project, location, rest = parts[0], parts[2], parts[4], parts[5:]
    if not PROJECT.match(project):
        raise BadRequestError(f"invalid project {project[:64]!r}", llm_provider="proxy")
    if not LOCATION.match(location):
        raise BadRequestError(f"invalid location {location[:64]!r}", llm_provider="proxy")
    for segment in rest:
        if not SEGMENT.match(segment) or set(segment) <= {"."}:
            raise BadRequestError(f"invalid path segment {segment[:64]!r}", llm_provider="proxy")
    return version, project, location, "/".join(rest)


class PassThrough:
    """The Vertex AI pass-through of one running proxy."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.default = dict(proxy.config.default_vertex_config or {})

    def target(self, project: str, location: str) -> Target:
        for deployment in self.proxy.config.deployments:
            options = deployment.options
            if (
                options.get("vertex_project", options.get("vertex_ai_project")) == project
                and options.get("vertex_location", options.get("vertex_ai_location")) == location
            ):
                base = options.get("api_base") or host_for(location)
                return Target(base.rstrip("/"), project, location, options.get("vertex_credentials"))
        if self.default:
            project = self.default.get("vertex_project") or project
            location = self.default.get("vertex_location") or location
            base = self.default.get("api_base") or host_for(location)
            return Target(base.rstrip("/"), project, location, self.default.get("vertex_credentials"))
        raise PermissionDeniedError(
            f"no Google credentials are configured for project {project!r} in {location!r}: add a model_list "
            "deployment for them or a default_vertex_config",
            llm_provider="proxy",
        )

    @staticmethod
    def url(target: Target, version: str, rest: str, query: str) -> str:
        url = f"{target.base}/{version}/projects/{target.project}/locations/{target.location}/{rest}"
        expected = urlsplit(target.base)
        actual = urlsplit(url)
        if (actual.scheme, actual.netloc) != (expected.scheme, expected.netloc):  # never: checked segments
            raise BadRequestError(
                "the pass-through path does not stay on the Vertex AI host", llm_provider="proxy"
            )
        return url + (f"?{query}" if query else "")

    async def handle(self, request: Request) -> Response:
        started = time.time()
        with self.proxy.tracked():
            try:
                caller = await self.proxy.keys.aauthenticate(authorization(request, *KEY_HEADERS))
                if caller.models is not None:
                    raise PermissionDeniedError(
                        f"API key '{caller.alias}' is limited to some models; the Vertex AI pass-through needs a key "
                        "that may use every model",
                        llm_provider="proxy",
                    )
                version, project, location, rest = parse_path(request.path_params["path"])
                target = self.target(project, location)
                url = self.url(target, version, rest, request.url.query)
                caller = await self.proxy.keys.admit(caller)
            except APIError as exc:
                return google_error(exc)
            model = _model(rest)
            self.proxy.telemetry.adopt(caller, model)  # counted and traced when the reply has ended
            try:
                return await self._forward(request, caller, target, url, started, model)
            except APIError as exc:
                caller.done(0)
                self.proxy.account(caller, CALL_TYPE, model, started, error=exc)
                return google_error(exc)
            except Exception:
                caller.done(0)
                self.proxy.account(caller, CALL_TYPE, model, started, error=InternalServerError("internal"))
                log.exception("unexpected error in the Vertex AI pass-through")
                return google_error(InternalServerError("internal error in the proxy", llm_provider="proxy"))

    async def _forward(
        self, request: Request, caller: Any, target: Target, url: str, started: float, model: str | None
    ) -> Response:
        credential = auth.credential_for(target.credentials)
        token = credential.cached() or await asyncio.to_thread(credential.token)
        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        headers["authorization"] = f"Bearer {token}"
        body = await read_body(request, self.proxy.max_body)
        client = async_client()
        upstream = client.build_request(
            request.method, url, headers=headers, content=body or None, timeout=600.0
        )
        try:
            reply = await client.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            raise connection_error(exc, None) from None
        usage = Usage()
        path = urlsplit(url).path

        async def relay() -> AsyncIterator[bytes]:
            failure: APIError | None = None  # how the relay broke off after its status line was sent
            try:
                async for chunk in reply.aiter_raw():
                    usage.feed(chunk)
                    yield chunk
            except httpx.HTTPError as exc:  # the upstream cut the reply: the client's copy is cut too
                failure = connection_error(exc, model)
                raise
            except (asyncio.CancelledError, GeneratorExit):  # the client went away mid-reply
                failure = client_closed()
                raise
            finally:
                await reply.aclose()
                tokens = usage.tokens()
                caller.done(tokens)
                priced = OpenAIObject()  # no price: the pass-through relays, it does not translate
                priced._hidden_params[USAGE] = usage.openai()
                error = failure or status_error(reply.status_code)
                self.proxy.account(caller, CALL_TYPE, model, started, priced, error=error)
                log.info(
                    "vertex pass-through %s %s %s -> %s, %d tokens",
                    caller.alias,
                    request.method,
                    path,
                    reply.status_code,
                    tokens,
                )

        kept = {
            k: v
            for k, v in reply.headers.items()
            if k.lower() in ("content-type", "x-goog-request-id", "retry-after")
        }
        return StreamingResponse(relay(), status_code=reply.status_code, headers=kept)


class Usage:
    """Token counts from a relayed reply: the last ``usageMetadata`` (Gemini) or ``usage`` (Claude) seen.

    A JSON reply is kept (up to ``USAGE_LIMIT`` bytes) and read at the end; a stream is read line by line.
    """

    def __init__(self) -> None:
        self.buffer = b""
        self.json: bool | None = None
        self.last: dict[str, Any] = {}

    def feed(self, chunk: bytes) -> None:
        if self.json is None and chunk.strip():
            self.json = chunk.lstrip()[:1] in (b"{", b"[")
        if self.json:
            if len(self.buffer) + len(chunk) <= USAGE_LIMIT:
                self.buffer += chunk
            return
        *lines, self.buffer = (self.buffer + chunk).split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                self._read(line[5:])

    def _read(self, raw: bytes) -> None:
        try:
            data = json.loads(raw)
        except ValueError:
            return
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item, dict):
                continue
            message = item.get("message")
            usage = (
                item.get("usageMetadata")
                or item.get("usage")
                or (message.get("usage") if isinstance(message, dict) else None)
            )
            if isinstance(usage, dict):
                self.last = {**self.last, **usage}

    def _settle(self) -> None:
        """A JSON reply is read once it is whole (a stream's events as they come)."""
        if self.json and self.buffer:
            self._read(self.buffer)
            self.buffer = b""

    def tokens(self) -> int:
        self._settle()
        usage = self.last
        if "totalTokenCount" in usage:
            return count_of(usage.get("totalTokenCount"))
        return count_of(usage.get("input_tokens")) + count_of(usage.get("output_tokens"))

    def openai(self) -> dict[str, Any]:
        """The usage seen, in OpenAI's names (Gemini's ``usageMetadata`` or Claude's ``usage``)."""
        self._settle()
        usage = self.last
        if "input_tokens" in usage or "output_tokens" in usage:
            return anthropic_to_openai_usage(usage)
        prompt = count_of(usage.get("promptTokenCount"))
        thoughts = count_of(usage.get("thoughtsTokenCount"))
        completion = (
            gemini_completion_tokens(usage) or 0
        )  # the chat path's rule: thoughts never counted twice
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": count_of(usage.get("totalTokenCount")) or prompt + completion,
            "prompt_tokens_details": {"cached_tokens": count_of(usage.get("cachedContentTokenCount"))},
            "completion_tokens_details": {"reasoning_tokens": thoughts},
        }


def _model(rest: str) -> str | None:
    """The model a pass-through path names (``.../models/{model}:method``), for its spend row."""
    found = MODEL.search(rest)
    return found.group(1) if found else None
