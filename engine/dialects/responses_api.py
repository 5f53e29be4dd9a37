"""``engine.responses`` and friends: OpenAI's Responses API on every Vertex AI model (LiteLLM's names).

Each call is translated (engine/dialects/responses.py) to a chat completion and run
through ``completion``'s pipeline; the reply comes back as a Response object or, with
``stream=True``, as Responses stream events. With ``store`` (the default, as OpenAI's)
the response and its conversation are kept in a :class:`~engine.dialects.store.ResponseStore`
(``response_store=``; a process-wide in-memory one by default), so
``previous_response_id`` continues it and ``get_responses`` / ``delete_responses`` find it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from engine import api
from engine.dialects import priced
from engine.dialects import responses as dialect
from engine.dialects.store import ResponseStore, StoredResponse, default_store
from engine.errors import BadRequestError, NotFoundError
from engine.request import ENGINE_OPTIONS
from engine.types import OpenAIObject

# Options of these calls besides the engine's: the store, who owns what it stores, the model name the
# reply shows, and OpenAI-format default parameters (the proxy passes a deployment's defaults).
OWN_OPTIONS = frozenset({"response_store", "owner", "response_model", "chat_defaults"})


@dataclass
class Plan:
    chat: dict[str, Any]
    conversation: list[dict[str, Any]]
    body: dict[str, Any]
    store: ResponseStore | None
    owner: str | None
    model: str
    stream: bool


def _store(own: dict[str, Any]) -> ResponseStore:
    store = own.get("response_store")
    return default_store() if store is None else store


def _lookup(store: ResponseStore, response_id: Any, owner: str | None, param: str) -> StoredResponse:
    if not isinstance(response_id, str) or not response_id:
        raise BadRequestError(f"'{param}' must be a response id string", param=param)
    record = store.get(response_id)
    if record is None or (record.owner is not None and record.owner != owner):
        raise NotFoundError(f"Response with id '{response_id}' not found.", param=param, status_code=404)
    return record


def _plan(model: Any, kwargs: dict[str, Any]) -> Plan:
    if not isinstance(model, str) or not model:
        raise BadRequestError(
            "parameter 'model' is required (e.g. 'vertex_ai/gemini-2.5-flash')", param="model"
        )
    options = {k: v for k, v in kwargs.items() if k in ENGINE_OPTIONS and k != "model" and v is not None}
    own = {k: kwargs[k] for k in OWN_OPTIONS if kwargs.get(k) is not None}
    body = {k: v for k, v in kwargs.items() if k not in ENGINE_OPTIONS and k not in OWN_OPTIONS}
    store = _store(own)
    owner = own.get("owner")
    history: list[dict[str, Any]] = []
    if body.get("previous_response_id") is not None:
        history = list(_lookup(store, body["previous_response_id"], owner, "previous_response_id").messages)
    chat, conversation = dialect.to_chat_request(body, history)
    stream = bool(options.pop("stream", False))
    options.pop("stream_options", None)
    chat = {**(own.get("chat_defaults") or {}), **chat, **options, "model": model}
    if stream:
        chat.update(stream=True, stream_options={"include_usage": True})
    keep = store if body.get("store", True) is not False else None
    return Plan(chat, conversation, body, keep, owner, own.get("response_model") or model, stream)


def _save(plan: Plan, response: dict[str, Any], message: dict[str, Any]) -> None:
    if plan.store is not None and response.get("status") in ("completed", "incomplete"):
        record = StoredResponse(dict(response), [*plan.conversation, message], plan.owner)
        plan.store.put(response["id"], record)


def _reply(plan: Plan, chat: Any) -> OpenAIObject:
    response, message = dialect.from_chat_response(chat, plan.body, plan.model)
    _save(plan, response, message)
    reply = OpenAIObject(response)
    priced.copy_chat(chat, reply._hidden_params)
    return reply


def _translator(plan: Plan) -> dialect.StreamTranslator:
    return dialect.StreamTranslator(
        dialect.envelope(plan.body, plan.model, dialect.new_id("resp"), int(time.time()))
    )


def _events(plan: Plan, chunks: Iterator[Any], hidden: dict[str, Any]) -> Iterator[dict[str, Any]]:
    translator = _translator(plan)
    try:
        yield from translator.start()
        for chunk in chunks:
            priced.copy_chat(chunk, hidden)
            yield from translator.feed(chunk)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    yield from translator.finish()
    _save(plan, translator.response, translator.assistant_message())


async def _aevents(
    plan: Plan, chunks: AsyncIterator[Any], hidden: dict[str, Any]
) -> AsyncIterator[dict[str, Any]]:
    translator = _translator(plan)
    try:
        for event in translator.start():
            yield event
        async for chunk in chunks:
            priced.copy_chat(chunk, hidden)
            for event in translator.feed(chunk):
                yield event
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
    for event in translator.finish():
        yield event
    _save(plan, translator.response, translator.assistant_message())


def responses(input: Any = None, model: str | None = None, **kwargs: Any) -> Any:  # noqa: A002 - OpenAI's name
    """OpenAI ``POST /v1/responses`` on any model; ``stream=True`` returns an iterator of stream events."""
    plan = _plan(model, {**kwargs, "input": input})
    result = api.run("chat", plan.chat)
    if not plan.stream:
        return _reply(plan, result)
    hidden: dict[str, Any] = {}
    return priced.PricedIterator(_events(plan, result, hidden), hidden)


async def aresponses(input: Any = None, model: str | None = None, **kwargs: Any) -> Any:  # noqa: A002
    """Async :func:`responses`; with ``stream=True`` an async iterator of events."""
    plan = _plan(model, {**kwargs, "input": input})
    result = await api.arun("chat", plan.chat)
    if not plan.stream:
        return _reply(plan, result)
    hidden: dict[str, Any] = {}
    return priced.PricedStream(_aevents(plan, result, hidden), hidden)


def get_responses(
    response_id: str, response_store: ResponseStore | None = None, owner: str | None = None, **_: Any
) -> OpenAIObject:
    """``GET /v1/responses/{id}``: a stored response."""
    store = default_store() if response_store is None else response_store
    return OpenAIObject(dict(_lookup(store, response_id, owner, "response_id").response))


def delete_responses(
    response_id: str, response_store: ResponseStore | None = None, owner: str | None = None, **_: Any
) -> OpenAIObject:
    """``DELETE /v1/responses/{id}``."""
    store = default_store() if response_store is None else response_store
    _lookup(store, response_id, owner, "response_id")
    store.delete(response_id)
    return OpenAIObject({"id": response_id, "object": "response", "deleted": True})


def cancel_responses(
    response_id: str, response_store: ResponseStore | None = None, owner: str | None = None, **_: Any
) -> OpenAIObject:
    """``POST /v1/responses/{id}/cancel``: only background responses can be cancelled, and none are run here."""
    store = default_store() if response_store is None else response_store
    _lookup(store, response_id, owner, "response_id")
    raise BadRequestError(
        f"Response '{response_id}' cannot be cancelled: only responses created with background=true can be, "
        "and it has already finished",
        param="response_id",
    )


async def aget_responses(response_id: str, **kwargs: Any) -> OpenAIObject:
    return get_responses(response_id, **kwargs)


async def adelete_responses(response_id: str, **kwargs: Any) -> OpenAIObject:
    return delete_responses(response_id, **kwargs)


async def acancel_responses(response_id: str, **kwargs: Any) -> OpenAIObject:
    return cancel_responses(response_id, **kwargs)
