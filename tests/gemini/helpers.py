"""Shared helpers for the Gemini tests: build a request offline, normalize published replies."""

from __future__ import annotations

from typing import Any

from engine.api import prepare
from engine.registry import default_registry
from engine.request import RequestContext
from engine.response import ChatStream, build_chat
from tests.conformance import assert_chat_chunk, assert_chat_completion, assert_valid_request
from tests.credentials import StaticToken

USER = [{"role": "user", "content": "Hello, how are you?"}]


BASE = {"vertex_credentials": StaticToken(), "vertex_project": "my-project", "vertex_location": "us-central1"}


def body(model: str = "gemini-2.5-flash", messages: list[Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """The request body for an OpenAI-style call, validated against the discovery document."""
    call = prepare("chat", {"model": f"vertex_ai/{model}", "messages": messages or USER, **BASE, **kwargs})
    assert call.body is not None
    assert_valid_request(call.body)
    return call.body


def chat_op(model: str = "gemini-2.5-flash") -> Any:
    return default_registry().resolve(model, "chat").family.operations["chat"]


def context(model: str = "gemini-2.5-flash", **params: Any) -> RequestContext:
    resolved = default_registry().resolve(model, "chat")
    return RequestContext(resolved, "chat", params)


def normalize(data: dict[str, Any], model: str = "gemini-2.5-flash", **params: Any) -> Any:
    """A unary reply → the OpenAI chat completion (with the spec's finalize steps), validated."""
    op = chat_op(model)
    resp = build_chat(op.response, data, model)
    for fn in op.response.finalize:
        resp = fn(resp, data, context(model, **params))
    assert_chat_completion(resp)
    return resp


def stream(
    events: list[Any], model: str = "gemini-2.5-flash", include_usage: bool = False
) -> tuple[list[dict[str, Any]], Any]:
    """Stream events → the chunks (as dicts, each validated) and the normalizer (for hidden params)."""
    spec = chat_op(model).stream
    normalizer = ChatStream(spec.events, spec.chunk, spec.event_key, model, include_usage)
    chunks = [c for e in events for c in normalizer.feed(e)] + normalizer.finish()
    for chunk in chunks:
        assert_chat_chunk(chunk)
    return [c.model_dump() for c in chunks], normalizer


# The seed's function-calling example (get_current_weather) and response_schema (cookie recipes).
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
RECIPES = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"recipe_name": {"type": "string"}},
        "required": ["recipe_name"],
    },
}
