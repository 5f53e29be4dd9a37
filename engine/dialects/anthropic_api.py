"""``engine.anthropic_messages`` and friends: Anthropic's Messages API on any Vertex AI model.

A model whose spec declares the ``anthropic_messages`` operation (Claude on Vertex)
gets the request natively: the body goes to ``:rawPredict`` / ``:streamRawPredict``
through the engine's pipeline (same parameter checks, credentials, retries and
transport as ``completion``) and the reply, or each stream event, comes back as
Anthropic sent it. Any other model gets it translated (engine/dialects/anthropic_messages.py)
through ``completion``, and the OpenAI reply translated back. LiteLLM's name for
this call is ``litellm.anthropic.messages.create``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache
from typing import Any

import httpx

from engine import api
from engine.dialects import anthropic_messages as dialect
from engine.dialects import priced
from engine.errors import APIResponseValidationError, BadRequestError, NotFoundError
from engine.registry import Registry, default_registry
from engine.request import ENGINE_OPTIONS
from engine.sse import SSEDecoder, SSEError
from engine.transport import connection_error
from engine.types import OpenAIObject

log = logging.getLogger("vertexlate")

NATIVE = "anthropic_messages"
NATIVE_COUNT = "anthropic_count_tokens"
COUNT = "count_tokens"
# Options of these calls besides the engine's: Anthropic's beta header values, and OpenAI-format
# default parameters merged under a translated request (the proxy passes a deployment's defaults).
OWN_OPTIONS = frozenset({"anthropic_beta", "chat_defaults"})


@lru_cache(maxsize=1024)
def _serves(registry: Registry, model: str, operation: str) -> bool:
    try:
        registry.resolve(model, operation)
    except NotFoundError:
        return False
    return True


def is_native(model: str, operation: str = NATIVE) -> bool:
    """Whether ``model``'s spec takes the Messages API as it is (the family declares ``operation``)."""
    return _serves(default_registry(), model, operation)


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(engine options, this call's own options, Anthropic body fields)."""
    options = {k: v for k, v in kwargs.items() if k in ENGINE_OPTIONS and k != "model" and v is not None}
    own = {k: kwargs[k] for k in OWN_OPTIONS if kwargs.get(k) is not None}
    body = {k: v for k, v in kwargs.items() if k not in ENGINE_OPTIONS and k not in OWN_OPTIONS}
    return options, own, body


def _betas(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    raise BadRequestError("anthropic_beta must be a string or a list of strings", param="anthropic_beta")


def _check(model: Any, body: dict[str, Any]) -> None:
    if not isinstance(model, str) or not model:
        raise BadRequestError(
            "parameter 'model' is required (e.g. 'vertex_ai/claude-sonnet-4@20250514')", param="model"
        )
    if body.get("max_tokens") is None:
        raise BadRequestError(
            "parameter 'max_tokens' is required (Anthropic's Messages API)", param="max_tokens"
        )


def _native_call(model: str, options: dict[str, Any], own: dict[str, Any], body: dict[str, Any]) -> api.Call:
    call = api.prepare(NATIVE, {**options, **body, "model": model})
    betas = _betas(own.get("anthropic_beta"))
    if betas:
        call.headers["anthropic-beta"] = betas
    return call


def _chat_kwargs(
    model: str, options: dict[str, Any], own: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    if own.get("anthropic_beta"):
        log.debug("anthropic-beta %s ignored: %s is not an Anthropic model", own["anthropic_beta"], model)
    kwargs = {
        **(own.get("chat_defaults") or {}),
        **dialect.to_openai_request(body),
        **options,
        "model": model,
    }
    if options.get("stream"):
        kwargs["stream_options"] = {"include_usage": True}
    return kwargs


def _message(call: api.Call, response: httpx.Response) -> OpenAIObject:
    try:
        data = response.json()
    except ValueError:
        raise APIResponseValidationError(
            f"Claude answered with a body that is not JSON: {response.text[:200]!r}", model=call.model
        ) from None
    if not isinstance(data, dict):
        raise APIResponseValidationError("Claude's reply is not a JSON object", model=call.model)
    message = OpenAIObject(data)
    priced.price_native(call, data.get("usage"), message._hidden_params)
    return message


def _event(call: api.Call, data: str) -> dict[str, Any] | None:
    try:
        event = json.loads(data)
    except ValueError:
        raise APIResponseValidationError(
            f"malformed stream event from Claude: {data[:200]!r}", model=call.model
        ) from None
    return event if isinstance(event, dict) else None


def _native_events(
    call: api.Call, response: httpx.Response, hidden: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    decoder = SSEDecoder()
    usage: dict[str, Any] = {}
    try:
        for raw in response.iter_bytes():
            for item in decoder.feed(raw):
                if (event := _event(call, item.data)) is not None:
                    _usage(event, usage)
                    yield event
        for item in decoder.close():
            if (event := _event(call, item.data)) is not None:
                _usage(event, usage)
                yield event
    except httpx.HTTPError as exc:
        raise connection_error(exc, call.model) from None
    except SSEError as exc:
        raise APIResponseValidationError(f"unreadable stream from Claude: {exc}", model=call.model) from None
    finally:
        response.close()
    priced.price_native(call, usage, hidden)


async def _anative_events(
    call: api.Call, response: httpx.Response, hidden: dict[str, Any]
) -> AsyncIterator[dict[str, Any]]:
    decoder = SSEDecoder()
    usage: dict[str, Any] = {}
    try:
        async for raw in response.aiter_bytes():
            for item in decoder.feed(raw):
                if (event := _event(call, item.data)) is not None:
                    _usage(event, usage)
                    yield event
        for item in decoder.close():
            if (event := _event(call, item.data)) is not None:
                _usage(event, usage)
                yield event
    except httpx.HTTPError as exc:
        raise connection_error(exc, call.model) from None
    except SSEError as exc:
        raise APIResponseValidationError(f"unreadable stream from Claude: {exc}", model=call.model) from None
    finally:
        await response.aclose()
    priced.price_native(call, usage, hidden)


def _usage(event: dict[str, Any], usage: dict[str, Any]) -> None:
    """Merge a stream event's usage: ``message_start`` has the input, each ``message_delta`` the output so far."""
    kind = event.get("type")
    found = (event.get("message") or {}).get("usage") if kind == "message_start" else event.get("usage")
    if kind in ("message_start", "message_delta") and isinstance(found, dict):
        usage.update({k: v for k, v in found.items() if v is not None})


def _translate(chunks: Iterator[Any], model: str, hidden: dict[str, Any]) -> Iterator[dict[str, Any]]:
    translator = dialect.StreamTranslator(model)
    try:
        for chunk in chunks:
            priced.copy_chat(chunk, hidden)
            yield from translator.feed(chunk)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    yield from translator.finish_events()


async def _atranslate(
    chunks: AsyncIterator[Any], model: str, hidden: dict[str, Any]
) -> AsyncIterator[dict[str, Any]]:
    translator = dialect.StreamTranslator(model)
    try:
        async for chunk in chunks:
            priced.copy_chat(chunk, hidden)
            for event in translator.feed(chunk):
                yield event
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
    for event in translator.finish_events():
        yield event


def _translated(result: Any, model: str) -> OpenAIObject:
    message = OpenAIObject(dialect.from_openai_response(result, model))
    priced.copy_chat(result, message._hidden_params)
    return message


def anthropic_messages(
    model: str | None = None, messages: Any = None, max_tokens: Any = None, **kwargs: Any
) -> Any:
    """Anthropic ``POST /v1/messages`` on any model: a ``message`` dict, or with ``stream=True`` an iterator of events.

    Anthropic's fields as keyword arguments (``system``, ``tools``, ``tool_choice``,
    ``thinking``, ``stop_sequences``...), the engine's options (``vertex_credentials``,
    ``vertex_location``, ``api_base``...), and ``anthropic_beta`` (header values, sent
    to Claude, ignored elsewhere).
    """
    options, own, body = _split({**kwargs, "messages": messages, "max_tokens": max_tokens})
    _check(model, body)
    assert model is not None
    stream = bool(options.get("stream"))
    if is_native(model):
        call = _native_call(model, options, own, body)
        response = api.send(call)
        if stream:
            hidden: dict[str, Any] = {}
            return priced.PricedIterator(_native_events(call, response, hidden), hidden)
        try:
            return _message(call, response)
        finally:
            response.close()
    result = api.run("chat", _chat_kwargs(model, options, own, body))
    if stream:
        hidden = {}
        return priced.PricedIterator(_translate(result, model, hidden), hidden)
    return _translated(result, model)


async def aanthropic_messages(
    model: str | None = None, messages: Any = None, max_tokens: Any = None, **kwargs: Any
) -> Any:
    """Async :func:`anthropic_messages`; with ``stream=True`` an async iterator of events."""
    options, own, body = _split({**kwargs, "messages": messages, "max_tokens": max_tokens})
    _check(model, body)
    assert model is not None
    stream = bool(options.get("stream"))
    if is_native(model):
        call = _native_call(model, options, own, body)
        response = await api.asend(call)
        if stream:
            hidden: dict[str, Any] = {}
            return priced.PricedStream(_anative_events(call, response, hidden), hidden)
        try:
            return _message(call, response)
        finally:
            await response.aclose()
    result = await api.arun("chat", _chat_kwargs(model, options, own, body))
    if stream:
        hidden = {}
        return priced.PricedStream(_atranslate(result, model, hidden), hidden)
    return _translated(result, model)


def _count_plan(model: Any, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if not isinstance(model, str) or not model:
        raise BadRequestError("parameter 'model' is required", param="model")
    options, own, body = _split(kwargs)
    options.pop("stream", None)
    if is_native(model, NATIVE_COUNT):
        return NATIVE_COUNT, {**options, **body, "model": model}
    if not is_native(model, COUNT):
        raise BadRequestError(f"{model} has no token counting on Vertex AI", model=model, param="model")
    return COUNT, {**options, **dialect.to_openai_count_request(body), "model": model}


def _count(result: Any) -> OpenAIObject:
    """Anthropic's reply: the native count's ``input_tokens``, or the engine's ``count_tokens`` total."""
    tokens = result.get("input_tokens", result.get("total_tokens"))
    return OpenAIObject({"input_tokens": int(tokens or 0)})


def anthropic_count_tokens(model: str | None = None, messages: Any = None, **kwargs: Any) -> OpenAIObject:
    """Anthropic ``POST /v1/messages/count_tokens``: ``{"input_tokens": n}`` (Claude's count-tokens, Gemini's countTokens)."""
    operation, args = _count_plan(model, {**kwargs, "messages": messages})
    return _count(api.run(operation, args))


async def aanthropic_count_tokens(
    model: str | None = None, messages: Any = None, **kwargs: Any
) -> OpenAIObject:
    """Async :func:`anthropic_count_tokens`."""
    operation, args = _count_plan(model, {**kwargs, "messages": messages})
    return _count(await api.arun(operation, args))
