"""The public calls: ``completion``, ``acompletion`` and their siblings for every operation.

Each call runs the same generic pipeline, whatever the model family:

1. resolve ``vertex_ai/<name>`` to a compiled spec entry (registry);
2. build the body from the parameter table (request), render the URL;
3. attach a cached Google access token (auth) and send with retries (transport);
4. normalize the reply or the event stream into OpenAI objects (response).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import httpx

from engine import aio, auth, fastjson
from engine.compiler import Operation
from engine.cost import response_cost
from engine.errors import (
    APIError,
    APIResponseValidationError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
)
from engine.options import check_options, check_url_values
from engine.redact import redact_headers
from engine.registry import Resolved, default_registry, warn_if_retired
from engine.request import (
    ENGINE_OPTIONS,
    Place,
    RequestContext,
    body_needs,
    build_body,
    merge,
    render_url,
    stream_fields,
    url_context,
    url_needs,
)
from engine.response import BUILDERS, ChatStream, build_object, merge_parts
from engine.sse import SSEDecoder, SSEError
from engine.strict import StrictChatStream, strict
from engine.transport import (
    connection_error,
    decide,
    sleep_for,
    sync_client,
    timeout_of,
    upstream_error,
)
from engine.types import ModelResponseStream, OpenAIObject

log = logging.getLogger("vertexlate")


def _settings() -> Any:
    return sys.modules["engine"]


@dataclass
class Call:
    """Everything needed to send one request and read its reply."""

    resolved: Resolved
    op: Operation
    context: RequestContext
    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any] | bytes | None
    stream: bool
    include_usage: bool
    credential: auth.CachedCredential | None
    timeout: httpx.Timeout
    num_retries: int
    fetch_vars: dict[str, Any] | None = None  # URL template variables for the spec's ``fetch`` downloads
    strict: bool = False  # strict_openai_compliance: no provider-specific fields on messages
    location: str | None = None  # the Vertex AI location sent to (None: no template names it); prices it

    @property
    def model(self) -> str:
        return self.resolved.name


@lru_cache(maxsize=1024)
def _needs(resolved: Resolved, op_name: str) -> tuple[frozenset[str], frozenset[str]]:
    """Variables the URL-side templates and the static bodies use (the bodies' through their vars)."""
    op = resolved.family.operations[op_name]
    return url_needs(resolved, op), body_needs(resolved, op)


_PLACE = frozenset({"project", "location"})

# Options whose explicit None means something (not "not set"): timeout=None waits without limit,
# as in httpx and the openai package.
_NONE_MEANS = frozenset({"timeout", "request_timeout"})


@dataclass
class Located:
    """The credential of a call and where it goes."""

    credential: auth.CachedCredential | None
    place: Place


def _locate(
    op: Operation, resolved: Resolved, options: dict[str, Any], settings: Any, needs: frozenset[str]
) -> Located:
    """Credential, project and location; project and location only when a template uses them."""
    source = options.get("vertex_credentials")
    if source is None and op.credentials_env:
        source = os.environ.get(op.credentials_env) or None
    credential = auth.credential_for(source) if op.auth == "google" else None
    project = auth.resolve_project(options, settings, credential) if "project" in needs else None
    location = (
        auth.resolve_location(options, settings, resolved.capabilities, resolved.name)
        if "location" in needs
        else None
    )
    check_url_values(
        resolved.capabilities.get("url_grammar"),
        {"project": project, "location": location, "model": resolved.model_id},
        resolved.name,
    )
    api_base = options.get("api_base") or options.get("base_url")
    return Located(credential, Place(project, location, api_base))


def _timeout(options: dict[str, Any], settings: Any) -> httpx.Timeout:
    """``timeout`` (or ``request_timeout``), else ``engine.request_timeout``; an explicit None: no limit."""
    for name in ("timeout", "request_timeout"):
        if name in options:
            value = options[name]
            break
    else:
        value = getattr(settings, "request_timeout", None)
    return httpx.Timeout(None) if value is None else timeout_of(value)


def prepare(operation: str, kwargs: dict[str, Any]) -> Call:
    """Steps 1 and 2 of the pipeline, plus credential lookup: no network I/O except a first token.

    Parameters are checked (all problems at once) before the credential, project and
    location are looked up, unless a static body template needs the project or location.
    Engine options and argument shapes are checked first of all (engine/options.py).
    """
    check_options(kwargs)
    settings = _settings()
    model = kwargs.get("model")
    if not isinstance(model, str):
        raise BadRequestError(
            "parameter 'model' is required (e.g. 'vertex_ai/gemini-2.5-flash')", param="model"
        )
    options = {k: v for k, v in kwargs.items() if k in ENGINE_OPTIONS and (v is not None or k in _NONE_MEANS)}
    params = {k: v for k, v in kwargs.items() if k not in ENGINE_OPTIONS and v is not None}
    resolved = default_registry().resolve(model, operation)
    warn_if_retired(resolved)
    op = resolved.family.operations[operation]
    stream = bool(options.get("stream"))
    if stream and op.stream is None:
        raise BadRequestError(
            f"{resolved.name} does not support streaming for {operation}", model=resolved.name, param="stream"
        )
    drop = options.get("drop_params", settings.drop_params)
    url_names, body_names = _needs(resolved, operation)
    needs = url_names | body_names
    # A body template naming the project or location (a resource name) needs them before the body is built.
    early = _locate(op, resolved, options, settings, needs) if body_names & _PLACE else None
    ctx = build_body(resolved, op, params, settings, bool(drop), early.place if early else None)
    located = early or _locate(op, resolved, options, settings, needs)
    place, url_vars = located.place, tuple(ctx.url_vars.items())
    body: Any = ctx.body
    if isinstance(options.get("extra_body"), dict) and isinstance(body, dict):
        body = merge(body, options["extra_body"])
    url = render_url(resolved, op, stream, place, url_vars)
    context = url_context(resolved, place, url_vars) if op.headers or op.fetch or stream else None
    if stream and context is not None:
        body = merge(body, stream_fields(op, context))
    headers = {"content-type": "application/json"}
    if op.headers and context is not None:
        headers.update({k: t.render(context) for k, t in op.headers.items()})
    headers.update(ctx.headers)  # what the spec's transforms derived from the body (e.g. anthropic-beta)
    if op.auth == "api_key":
        headers["authorization"] = f"Bearer {_api_key(op, options, resolved)}"
    elif "api_key" in options and resolved.name not in _unused_key_warned:
        _unused_key_warned.add(resolved.name)
        log.warning("api_key is not used by %s: its spec authenticates with %s", resolved.name, op.auth)
    if options.get("extra_headers"):
        headers.update(options["extra_headers"])
    stream_options = options.get("stream_options") or {}
    return Call(
        resolved=resolved,
        op=op,
        context=ctx,
        method=op.method,
        url=url,
        headers=headers,
        body=body if op.method not in ("GET", "DELETE") else None,
        stream=stream,
        include_usage=bool(stream_options.get("include_usage")),
        credential=located.credential,
        timeout=_timeout(options, settings),
        num_retries=int(options.get("num_retries", options.get("max_retries", settings.num_retries)) or 0),
        fetch_vars=context if op.fetch else None,
        strict=bool(
            options.get("strict_openai_compliance", getattr(settings, "strict_openai_compliance", False))
        ),
        location=place.location,
    )


_unused_key_warned: set[str] = set()


def _api_key(op: Operation, options: dict[str, Any], resolved: Resolved) -> str:
    """The key of an ``auth: api_key`` upstream: the call's ``api_key``, else the spec's ``credentials_env``."""
    key = options.get("api_key") or (os.environ.get(op.credentials_env) if op.credentials_env else None)
    if not isinstance(key, str) or not key:
        where = f" or set {op.credentials_env}" if op.credentials_env else ""
        raise AuthenticationError(
            f"{resolved.name} needs an API key: pass api_key{where}", model=resolved.name, status_code=401
        )
    return key


def _request(call: Call, client: httpx.Client | httpx.AsyncClient, token: str | None) -> httpx.Request:
    headers = dict(call.headers)
    if token:
        headers["authorization"] = f"Bearer {token}"
    content = call.body if isinstance(call.body, bytes) or call.body is None else encode_body(call)
    log_request(call, headers)
    try:
        return client.build_request(
            call.method, call.url, headers=headers, content=content, timeout=call.timeout
        )
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:  # a value in the URL that no URL can carry
        raise BadRequestError(
            f"the request URL cannot be built from the values passed ({type(exc).__name__})", model=call.model
        ) from None


def encode_body(call: Call) -> bytes:
    """The JSON body as UTF-8; a value JSON cannot carry (NaN, a lone surrogate, an object) is a 400, not a crash."""
    try:
        return json.dumps(call.body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except UnicodeEncodeError:
        raise BadRequestError(
            "the request contains text that is not valid Unicode (a lone surrogate) and cannot be sent as JSON",
            model=call.model,
        ) from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise BadRequestError(
            f"the request cannot be sent as JSON: {type(exc).__name__}: {str(exc)[:200]}", model=call.model
        ) from None


def log_request(call: Call, headers: dict[str, str]) -> None:
    """With ``engine.set_verbose``: one debug line per upstream request, every secret header masked."""
    if _settings().set_verbose:
        _ensure_verbose_logging()
        shown = _shown_headers(headers)
        if isinstance(call.body, bytes):
            shown_body = f"<{len(call.body)} bytes>"
        else:
            shown_body = json.dumps(call.body, default=lambda o: f"<{type(o).__name__}>")[:4000]
        log.debug("%s %s\nheaders=%s\nbody=%s", call.method, call.url, shown, shown_body)


def _shown_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers for a log line: every secret-bearing one masked (engine.redact), the auth scheme kept."""
    shown = redact_headers(headers)
    for name, value in headers.items():
        if shown[name] != value and isinstance(value, str) and value[:7].lower() == "bearer ":
            shown[name] = f"Bearer {shown[name]}"
    return shown


def _ensure_verbose_logging() -> None:
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("vertexlate %(levelname)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.DEBUG)


def send(call: Call) -> httpx.Response:
    client = sync_client()
    attempt, refreshed, token = 0, False, None
    while True:
        # ``rejected``: concurrent 401s of one credential share one refresh (auth.CachedCredential).
        token = call.credential.token(refreshed, token if refreshed else None) if call.credential else None
        try:
            response = client.send(_request(call, client, token), stream=call.stream)
        except httpx.HTTPError as exc:
            status, error, headers = None, connection_error(exc, call.model), None
        else:
            if response.status_code < 400:
                return response
            response.read()
            response.close()
            status, headers = response.status_code, response.headers
            error = upstream_error(call.resolved.family.errors, status, response.content, headers, call.model)
        step = decide(
            status, error, headers, attempt, call.num_retries, refreshed, call.credential is not None
        )
        if step.error is not None:
            raise step.error
        refreshed = refreshed or step.refresh
        attempt += 0 if step.refresh else 1
        sleep_for(step)


async def asend(call: Call) -> aio.Reply:
    """:func:`send` over the engine's async transport (:mod:`engine.aio`): same retries, refresh, logging."""
    import asyncio

    client = aio.transport()
    attempt, refreshed, token = 0, False, None
    while True:
        if call.credential is not None:  # a fresh cached token needs no thread hop
            rejected = token if refreshed else None
            token = (None if refreshed else call.credential.cached()) or await asyncio.to_thread(
                call.credential.token, refreshed, rejected
            )
        try:
            response = await client.send(_request(call, client, token), stream=call.stream)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            status, error, headers = None, connection_error(exc, call.model), None
        else:
            if response.status_code < 400:
                return response
            await response.aread()
            await response.aclose()
            status, headers = response.status_code, response.headers
            error = upstream_error(call.resolved.family.errors, status, response.content, headers, call.model)
        step = decide(
            status, error, headers, attempt, call.num_retries, refreshed, call.credential is not None
        )
        if step.error is not None:
            raise step.error
        refreshed = refreshed or step.refresh
        attempt += 0 if step.refresh else 1
        if step.delay:
            await asyncio.sleep(step.delay)


def parse(call: Call, response: httpx.Response) -> OpenAIObject:
    """Step 4 for a non-streamed reply (``format: binary``: its bytes, as a one-part list)."""
    if call.op.response.format == "binary":
        return build(call, [response.content])
    return build(call, _json(call, response))


def _json(call: Call, response: httpx.Response) -> Any:
    try:
        data = response.json()
    except ValueError:
        raise APIResponseValidationError(
            f"Vertex AI answered {response.status_code} with a body that is not JSON: {response.text[:200]!r}",
            model=call.model,
        ) from None
    if _settings().set_verbose:
        log.debug("response %s: %s", response.status_code, json.dumps(data)[:4000])
    return data


def build(call: Call, data: Any) -> OpenAIObject:
    """The OpenAI object for the decoded reply ``data``: builder, echoed params, finalize transforms."""
    try:
        result = BUILDERS.get(call.op.name, build_object)(call.op.response, data, call.model)
    except APIError:
        raise
    except Exception as exc:
        raise APIResponseValidationError(
            f"could not read the Vertex AI reply for {call.op.name}: {type(exc).__name__}: {exc}",
            model=call.model,
        ) from None
    for name, param in call.op.response.echo.items():
        result[name] = echo(call.op, call.context, param)
    for fn in call.op.response.finalize:
        result = fn(result, data, call.context)
    if call.strict:
        strict(result)
    result._hidden_params.update(
        {
            "custom_llm_provider": "vertex_ai",
            "family": call.resolved.family.name,
            "api_base": call.url.split("?")[0],
            "model": call.model,
        }
    )
    result._hidden_params["response_cost"] = response_cost(call, result)
    return result


def fetches(call: Call, listing: Any) -> list[Call]:
    """The spec's ``fetch``: one GET per item the first reply lists (an empty rendered URL skips it)."""
    spec = call.op.fetch
    assert spec is not None and call.fetch_vars is not None
    items = spec.each.search(listing)
    urls = [
        url
        for item in (items if isinstance(items, list) else [])
        if (url := spec.url.render({**call.fetch_vars, "item": item}).strip())
    ]
    if not urls:
        raise NotFoundError(f"nothing found to download at {call.url.split('?')[0]}", model=call.model)
    return [replace(call, method="GET", url=url, body=None, stream=False) for url in urls]


def fetch_all(call: Call, response: httpx.Response) -> Any:
    """Read the listing, download every part it names, in order, and build the result from the parts."""
    try:
        listing = _json(call, response)
    finally:
        response.close()
    parts = []
    for part in fetches(call, listing):
        reply = send(part)
        try:
            parts.append(reply.content)
        finally:
            reply.close()
    return build(call, parts)


async def afetch_all(call: Call, response: httpx.Response) -> Any:
    """Async :func:`fetch_all`."""
    try:
        listing = _json(call, response)
    finally:
        await response.aclose()
    parts = []
    for part in fetches(call, listing):
        reply = await asend(part)
        try:
            parts.append(reply.content)
        finally:
            await reply.aclose()
    return build(call, parts)


def echo(op: Operation, ctx: RequestContext, name: str) -> Any:
    """The caller's value of parameter ``name`` (or its default), for a response ``echo``."""
    value = ctx.url_vars.get(name, ctx.params.get(name))
    param = op.params.get(name)
    return value if value is not None or param is None else param.default


def _chat_stream(call: Call) -> ChatStream:
    spec = call.op.stream
    assert spec is not None
    cls = StrictChatStream if call.strict else ChatStream
    return cls(
        spec.events,
        spec.chunk,
        spec.event_key,
        call.model,
        call.include_usage,
        call.context,
        spec.chunk_finalize,
    )


def _decoder(call: Call) -> Callable[[str], Any | None]:
    """``decode(data)``: a stream event's JSON (None for the spec's ``done`` marker), its error raised.

    One closure per stream, so each event pays no look-ups of the call's spec.
    """
    spec = call.op.stream
    assert spec is not None
    done, error_key, loads = spec.done, spec.error_key, fastjson.loads  # orjson when installed
    error_search = error_key.search if error_key is not None else None

    def decode(data: str) -> Any | None:
        if done is not None and data.strip() == done:
            return None
        try:
            event = loads(data)
        except ValueError:
            raise APIResponseValidationError(
                f"malformed stream event from Vertex AI: {data[:200]!r}", model=call.model
            ) from None
        if error_search is not None and error_search(event) is not None:
            raise stream_error(call, event)
        return event

    return decode


def stream_error(call: Call, event: Any) -> APIError:
    """The typed error for an error event inside a stream (the spec's error table, its ``error_status``).

    Vertex sends ``data: {"error": {"code": 429, ...}}`` mid-stream after a 200; Anthropic an
    ``error`` event with a type. Either way the answer so far is incomplete, so it must raise.
    """
    spec = call.op.stream
    status = spec.error_status(event) if spec is not None and spec.error_status is not None else None
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        status = 500
    return upstream_error(call.resolved.family.errors, status, json.dumps(event).encode(), {}, call.model)


def _finalize_stream(call: Call, normalizer: ChatStream) -> None:
    """The spec's ``stream.finalize`` checks, once the whole answer has streamed (may raise)."""
    spec = call.op.stream
    if spec is not None and spec.finalize:
        assembled = normalizer.assembled()
        for fn in spec.finalize:
            fn(assembled, None, call.context)


def _priced(call: Call, chunks: list[ModelResponseStream]) -> list[ModelResponseStream]:
    """The final usage chunk carries the stream's cost, as a plain response does."""
    for chunk in chunks:
        if chunk.get("usage"):
            chunk._hidden_params["response_cost"] = response_cost(call, chunk)
    return chunks


def iter_stream(call: Call, response: httpx.Response) -> Iterator[ModelResponseStream]:
    normalizer, decoder, decode = _chat_stream(call), SSEDecoder(), _decoder(call)
    try:
        for raw in response.iter_bytes():
            for event in decoder.feed(raw):
                if (data := decode(event.data)) is not None:
                    yield from normalizer.feed(data)
        for event in decoder.close():
            if (data := decode(event.data)) is not None:
                yield from normalizer.feed(data)
    except httpx.HTTPError as exc:
        raise connection_error(exc, call.model) from None
    except SSEError as exc:
        raise APIResponseValidationError(
            f"unreadable stream from Vertex AI: {exc}", model=call.model
        ) from None
    finally:
        response.close()
    _finalize_stream(call, normalizer)
    yield from _priced(call, normalizer.finish())


class AsyncChunkStream:
    """What ``acompletion(stream=True)`` returns: an async iterator of ``chat.completion.chunk`` objects.

    Why a class and not an async generator: :meth:`batches` hands out the chunks of one
    upstream read together, so the proxy writes them in one send (fewer writes, no
    per-chunk await); iterating chunk by chunk reads the same batches.
    """

    __slots__ = ("_batch", "_batches", "_i", "finished")

    def __init__(self, call: Call, response: aio.Reply) -> None:
        self._batches = _abatches(call, response, self)
        self._batch: list[ModelResponseStream] = []
        self._i = 0
        self.finished = False  # the batch just handed out is the last (the proxy ends its reply with it)

    def __aiter__(self) -> AsyncChunkStream:
        return self

    async def __anext__(self) -> ModelResponseStream:
        while self._i >= len(self._batch):
            self._batch = await self._batches.__anext__()
            self._i = 0
        self._i += 1
        return self._batch[self._i - 1]

    def batches(self) -> AsyncIterator[list[ModelResponseStream]]:
        """The chunks, one list per upstream read (use instead of iterating, not after)."""
        return self._batches

    async def aclose(self) -> None:
        """Stop early: closes the upstream response (the upstream sees the reader leave)."""
        await self._batches.aclose()


async def _abatches(
    call: Call, response: aio.Reply, owner: AsyncChunkStream
) -> AsyncIterator[list[ModelResponseStream]]:
    """Upstream bytes → SSE events → decoded events → chunks, a list per read; chunks before an error come first.

    The reply's last read and the stream's closing chunks (usage) come as one batch when nothing else is pending.
    """
    normalizer, decoder, decode = _chat_stream(call), SSEDecoder(), _decoder(call)
    feed = normalizer.feed
    out: list[ModelResponseStream] = []
    try:
        async for raw in response.aiter_bytes():
            try:
                for _, text in decoder.feed(raw):  # (event name, data)
                    if (data := decode(text)) is not None:
                        out += feed(data)
            except BaseException:
                if out:
                    yield out
                raise
            if out and not getattr(response, "complete", False):
                yield out
                out = []
        try:
            for event in decoder.close():
                if (data := decode(event.data)) is not None:
                    out += feed(data)
        except BaseException:
            if out:
                yield out
            raise
    except httpx.HTTPError as exc:
        raise connection_error(exc, call.model) from None
    except SSEError as exc:
        raise APIResponseValidationError(
            f"unreadable stream from Vertex AI: {exc}", model=call.model
        ) from None
    finally:
        await response.aclose()
    try:
        _finalize_stream(call, normalizer)
    except BaseException:
        if out:
            yield out
        raise
    out += _priced(call, normalizer.finish())
    owner.finished = True
    if out:
        yield out


def aiter_stream(call: Call, response: aio.Reply) -> AsyncChunkStream:
    """Async :func:`iter_stream` (see :class:`AsyncChunkStream`)."""
    return AsyncChunkStream(call, response)


def split(call: Call) -> list[Call]:
    """The spec's ``batch``: one call per slice of a body list longer than the model's per-request maximum."""
    batch = call.op.batch
    if not batch or call.stream or not isinstance(call.body, dict):
        return [call]
    limit = call.resolved.capabilities.get(batch["max_from"])
    items = call.body.get(batch["param"])
    if not isinstance(limit, int) or not isinstance(items, list) or len(items) <= limit:
        return [call]
    return [
        replace(call, body={**call.body, batch["param"]: items[i : i + limit]})
        for i in range(0, len(items), limit)
    ]


def _merged(call: Call, parts: list[OpenAIObject]) -> OpenAIObject:
    """One response from a split request; its cost is the parts' sum (None when any part has none)."""
    merged = merge_parts(parts)
    costs = [part._hidden_params.get("response_cost") for part in parts]
    merged._hidden_params["response_cost"] = None if None in costs else sum(costs)
    return merged


def _concurrency(call: Call, parts: int) -> int:
    return max(1, min(int((call.op.batch or {}).get("concurrency", 4)), parts))


def _send_and_parse(call: Call) -> OpenAIObject:
    response = send(call)
    try:
        return parse(call, response)
    finally:
        response.close()


# --------------------------------------------------------------------------- implicit context caching

_PREFIX_CACHES: dict[
    str, tuple[str, float]
] = {}  # content key -> (cachedContents name, expiry, epoch seconds)
_CACHE_MARGIN = 30.0  # a cache this close to expiry is not reused


def _cache_plan(call: Call, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(content key, create_cached_content arguments) when the call has a prefix to cache."""
    pending = call.context.prefix_cache
    if not pending:
        return None
    params = call.context.params
    keyed = [call.url.split(":")[0], pending["messages"], params.get("tools"), params.get("tool_choice")]
    key = hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()
    skipped = ("stream", "stream_options", "extra_body")  # extra_body belongs to the generateContent call
    options = {k: v for k, v in kwargs.items() if k in ENGINE_OPTIONS and k not in skipped}
    create = {
        **options,
        "messages": pending["messages"],
        "tools": params.get("tools"),
        "tool_choice": params.get("tool_choice"),
        "ttl": pending.get("ttl"),
        "display_name": f"vertexlate-{key[:32]}",
    }
    return key, {k: v for k, v in create.items() if v is not None}


def _cached(key: str) -> str | None:
    hit = _PREFIX_CACHES.get(key)
    return hit[0] if hit and hit[1] > time.time() + _CACHE_MARGIN else None


def _use_cache(call: Call, key: str, created: Any) -> Call:
    if isinstance(created, APIError):  # e.g. a prefix under the model's minimum: send it all, uncached
        log.warning("context cache not created for %s (%s); sending the whole prompt", call.model, created)
        return replace(call, body=call.context.prefix_cache["fallback"])  # type: ignore[index]
    name = created["id"]
    _PREFIX_CACHES[key] = (name, float(created.get("expires_at") or time.time() + 3600))
    return replace(call, body={**call.body, "cachedContent": name})  # type: ignore[dict-item]


def attach_prefix_cache(call: Call, kwargs: dict[str, Any]) -> Call:
    """``cache_control`` markers (LiteLLM's convention): create or reuse the prefix's cachedContents."""
    plan = _cache_plan(call, kwargs)
    if plan is None:
        return call
    key, create = plan
    if name := _cached(key):
        return replace(call, body={**call.body, "cachedContent": name})  # type: ignore[dict-item]
    try:
        created: Any = run("create_cached_content", create)
    except BadRequestError as exc:
        created = exc
    return _use_cache(call, key, created)


async def aattach_prefix_cache(call: Call, kwargs: dict[str, Any]) -> Call:
    """Async :func:`attach_prefix_cache`."""
    plan = _cache_plan(call, kwargs)
    if plan is None:
        return call
    key, create = plan
    if name := _cached(key):
        return replace(call, body={**call.body, "cachedContent": name})  # type: ignore[dict-item]
    try:
        created: Any = await arun("create_cached_content", create)
    except BadRequestError as exc:
        created = exc
    return _use_cache(call, key, created)


def run(operation: str, kwargs: dict[str, Any]) -> Any:
    call = attach_prefix_cache(prepare(operation, kwargs), kwargs)
    parts = split(call)
    if len(parts) > 1:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(
            max_workers=_concurrency(call, len(parts)), thread_name_prefix="vertexlate-batch"
        )
        try:
            return _merged(call, list(pool.map(_send_and_parse, parts)))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    response = send(call)
    if call.stream:
        return iter_stream(call, response)
    if call.op.fetch is not None:
        return fetch_all(call, response)
    try:
        result = parse(call, response)
    finally:
        response.close()
    return run(call.op.then, kwargs) if call.op.then else result


async def _asend_and_parse(call: Call, limit: Any) -> OpenAIObject:
    async with limit:
        response = await asend(call)
        try:
            return parse(call, response)
        finally:
            await response.aclose()


async def _arun_parts(call: Call, parts: list[Call]) -> Any:
    import asyncio

    limit = asyncio.Semaphore(_concurrency(call, len(parts)))
    tasks = [asyncio.ensure_future(_asend_and_parse(part, limit)) for part in parts]
    try:
        return _merged(call, list(await asyncio.gather(*tasks)))
    except BaseException:
        # Structured: the call returns only once no part of it is still in flight.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def arun(operation: str, kwargs: dict[str, Any]) -> Any:
    call = await aattach_prefix_cache(prepare(operation, kwargs), kwargs)
    parts = split(call)
    if len(parts) > 1:
        return await _arun_parts(call, parts)
    response = await asend(call)
    if call.stream:
        return aiter_stream(call, response)
    if call.op.fetch is not None:
        return await afetch_all(call, response)
    try:
        result = parse(call, response)
    finally:
        await response.aclose()
    return await arun(call.op.then, kwargs) if call.op.then else result


# --------------------------------------------------------------------------- public functions


def completion(model: str, messages: list[dict[str, Any]] | None = None, **kwargs: Any) -> Any:
    """OpenAI chat completion against any Vertex AI model; ``stream=True`` returns an iterator of chunks."""
    return run("chat", {"model": model, "messages": messages, **kwargs})


async def acompletion(model: str, messages: list[dict[str, Any]] | None = None, **kwargs: Any) -> Any:
    """Async :func:`completion`; with ``stream=True`` returns an async iterator of chunks."""
    return await arun("chat", {"model": model, "messages": messages, **kwargs})


def text_completion(model: str, prompt: Any = None, **kwargs: Any) -> Any:
    """OpenAI ``/completions`` (e.g. Codestral fill-in-the-middle, PaLM text models)."""
    return run("text_completion", {"model": model, "prompt": prompt, **kwargs})


async def atext_completion(model: str, prompt: Any = None, **kwargs: Any) -> Any:
    return await arun("text_completion", {"model": model, "prompt": prompt, **kwargs})


def embedding(model: str, input: Any = None, **kwargs: Any) -> Any:  # noqa: A002 - OpenAI's name
    """OpenAI ``/embeddings`` against Vertex AI embedding models."""
    return run("embedding", {"model": model, "input": input, **kwargs})


async def aembedding(model: str, input: Any = None, **kwargs: Any) -> Any:  # noqa: A002
    return await arun("embedding", {"model": model, "input": input, **kwargs})


def image_generation(prompt: str | None = None, model: str | None = None, **kwargs: Any) -> Any:
    """OpenAI ``/images/generations`` against Imagen."""
    return run("image_generation", {"model": model, "prompt": prompt, **kwargs})


async def aimage_generation(prompt: str | None = None, model: str | None = None, **kwargs: Any) -> Any:
    return await arun("image_generation", {"model": model, "prompt": prompt, **kwargs})


def speech(model: str, input: str | None = None, voice: Any = None, **kwargs: Any) -> Any:  # noqa: A002
    """OpenAI ``/audio/speech`` against Cloud Text-to-Speech, or generateContent for the Gemini TTS models
    (specs/gemini_tts.yaml); returns :class:`engine.types.SpeechResponse`.

    ``model="vertex_ai/"`` is enough for Cloud Text-to-Speech: the service has no model parameter.
    """
    return run("speech", {"model": model, "input": input, "voice": voice, **kwargs})


async def aspeech(model: str, input: str | None = None, voice: Any = None, **kwargs: Any) -> Any:  # noqa: A002
    return await arun("speech", {"model": model, "input": input, "voice": voice, **kwargs})


def _count_arguments(model: str, messages: Any, text: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    if messages is None and text is not None:
        joined = text if isinstance(text, str) else " ".join(t for t in text if isinstance(t, str))
        messages = [{"role": "user", "content": joined}]
    return {"model": model, "messages": messages, **kwargs}


def _total(result: Any) -> int:
    total = result.get("total_tokens")
    if not isinstance(total, int) or isinstance(total, bool):
        raise APIResponseValidationError(f"the token count reply has no total: {dict(result)!r:.200}")
    return total


def count_tokens(
    model: str, messages: list[dict[str, Any]] | None = None, text: Any = None, **kwargs: Any
) -> Any:
    """The whole count as an object (``total_tokens`` and what the model adds, e.g. billable characters);
    what the proxy's ``/utils/token_counter`` returns."""
    return run("count_tokens", _count_arguments(model, messages, text, kwargs))


async def acount_tokens(
    model: str, messages: list[dict[str, Any]] | None = None, text: Any = None, **kwargs: Any
) -> Any:
    """Async :func:`count_tokens`."""
    return await arun("count_tokens", _count_arguments(model, messages, text, kwargs))


def token_counter(
    model: str, messages: list[dict[str, Any]] | None = None, text: Any = None, **kwargs: Any
) -> int:
    """The prompt's token count as the model counts it (LiteLLM's name and arguments), through the
    family's ``count_tokens`` operation (Gemini ``:countTokens``, Claude's count-tokens endpoint)."""
    return _total(run("count_tokens", _count_arguments(model, messages, text, kwargs)))


async def atoken_counter(
    model: str, messages: list[dict[str, Any]] | None = None, text: Any = None, **kwargs: Any
) -> int:
    """Async :func:`token_counter`."""
    return _total(await arun("count_tokens", _count_arguments(model, messages, text, kwargs)))


# --------------------------------------------------------------------------- files, batches, fine-tuning, caches
# LiteLLM's names and keyword arguments; ``custom_llm_provider="vertex_ai"`` is accepted and needs no model.
# Each operation's arguments are its spec's parameter table (specs/files.yaml, batches.yaml, fine_tuning.yaml,
# cached_content.yaml); ids are path variables of the spec's URL.


def _resource_call(operation: str, doc: str, positional: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """The sync and async public function for one resource operation.

    ``positional`` names the arguments that may be passed by position, in LiteLLM's order
    (e.g. ``retrieve_batch(batch_id)``); everything else is a keyword.
    """

    def arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if len(args) > len(positional):
            raise TypeError(
                f"{operation}() takes at most {len(positional)} positional arguments ({len(args)} given)"
            )
        return {"model": "vertex_ai/", **dict(zip(positional, args, strict=False)), **kwargs}

    def call(*args: Any, **kwargs: Any) -> Any:
        return run(operation, arguments(args, kwargs))

    async def acall(*args: Any, **kwargs: Any) -> Any:
        return await arun(operation, arguments(args, kwargs))

    call.__name__ = call.__qualname__ = operation
    acall.__name__ = acall.__qualname__ = f"a{operation}"
    call.__doc__, acall.__doc__ = doc, f"Async :func:`{operation}`."
    return call, acall


create_file, acreate_file = _resource_call(
    "create_file",
    "Upload ``file`` (bytes, path or file object) to Cloud Storage; returns an OpenAI ``FileObject`` whose id is the "
    "gs:// URI. ``purpose='batch'`` converts OpenAI batch lines to Vertex batch-prediction lines. Bucket: "
    "``gcs_bucket_name`` or ``GCS_BUCKET_NAME``.",
    ("file", "purpose"),
)
retrieve_file, aretrieve_file = _resource_call(
    "retrieve_file", "The OpenAI ``FileObject`` for ``file_id`` (a gs:// URI from create_file).", ("file_id",)
)
file_content, afile_content = _resource_call(
    "file_content",
    "The content of ``file_id`` (a gs:// object, or a batch's ``output_file_id`` folder) as "
    ":class:`engine.types.FileContent` (``.content`` bytes, ``.text``); batch results come back as OpenAI "
    "batch output lines.",
    ("file_id",),
)
create_batch, acreate_batch = _resource_call(
    "create_batch",
    "Start a Vertex AI batch prediction job over ``input_file_id`` (a create_file id); returns an OpenAI ``Batch``.",
    ("completion_window", "endpoint", "input_file_id"),
)
retrieve_batch, aretrieve_batch = _resource_call(
    "retrieve_batch", "The OpenAI ``Batch`` for ``batch_id``.", ("batch_id",)
)
cancel_batch, acancel_batch = _resource_call(
    "cancel_batch", "Cancel ``batch_id``; returns the batch as it then is.", ("batch_id",)
)
list_batches, alist_batches = _resource_call(
    "list_batches", "A page of batches (``limit``, ``after`` = Vertex page token).", ("after", "limit")
)
create_fine_tuning_job, acreate_fine_tuning_job = _resource_call(
    "create_fine_tuning_job",
    "Start a Vertex AI supervised tuning job of ``model`` on ``training_file`` (gs:// URI); returns an OpenAI ``FineTuningJob``.",
    ("model", "training_file", "hyperparameters", "suffix", "validation_file"),
)
retrieve_fine_tuning_job, aretrieve_fine_tuning_job = _resource_call(
    "retrieve_fine_tuning_job",
    "The OpenAI ``FineTuningJob`` for ``fine_tuning_job_id``.",
    ("fine_tuning_job_id",),
)
cancel_fine_tuning_job, acancel_fine_tuning_job = _resource_call(
    "cancel_fine_tuning_job",
    "Cancel ``fine_tuning_job_id``; returns the job as it then is.",
    ("fine_tuning_job_id",),
)
list_fine_tuning_jobs, alist_fine_tuning_jobs = _resource_call(
    "list_fine_tuning_jobs", "A page of fine-tuning jobs.", ("after", "limit")
)
create_cached_content, acreate_cached_content = _resource_call(
    "create_cached_content",
    "Cache ``messages`` (and ``tools``) for ``model`` with ``ttl`` (e.g. '3600s'); pass the returned id as "
    "``completion(..., cached_content=id)``.",
    ("model", "messages"),
)
retrieve_cached_content, aretrieve_cached_content = _resource_call(
    "retrieve_cached_content", "The cache ``cached_content_id``.", ("cached_content_id",)
)
delete_cached_content, adelete_cached_content = _resource_call(
    "delete_cached_content", "Delete the cache ``cached_content_id``.", ("cached_content_id",)
)
list_cached_contents, alist_cached_contents = _resource_call(
    "list_cached_contents", "A page of context caches.", ("after", "limit")
)
