"""Helpers for the partner-family tests: build a request without sending it, check Anthropic bodies.

Why ``prepared``: golden request tests compare the exact body and URL the engine would
send with a published example; going through :func:`engine.api.prepare` exercises the
same pipeline as a real call, minus the network.
"""

from __future__ import annotations

import typing
from typing import Any

from engine.api import Call, prepare


def prepared(operation: str, **kwargs: Any) -> Call:
    """The request the engine would send for ``operation`` with these arguments."""
    return prepare(operation, kwargs)


def _materialize(value: Any) -> Any:
    """Pydantic validates ``Iterable[...]`` fields lazily; walking them runs every check."""
    if isinstance(value, dict):
        return {k: _materialize(v) for k, v in value.items()}
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return value
    return [_materialize(v) for v in value]


# The installed anthropic SDK (2.x) no longer types the sampling parameters, which the Claude 3.x
# models on Vertex accept (the seed's Claude example passes temperature=0.7; Anthropic's Messages
# reference documents temperature, top_p and top_k as numbers).
SAMPLING = frozenset({"temperature", "top_p", "top_k"})


def assert_anthropic_request(body: dict[str, Any], model: str) -> None:
    """Validate a Vertex Claude body against the ``anthropic`` package's MessageCreateParams.

    Vertex moves ``model`` into the URL and adds ``anthropic_version``; the check puts the
    model back, drops the version, and also rejects top-level keys the type does not know
    (pydantic ignores extra TypedDict keys).
    """
    from anthropic.types.message_create_params import (
        MessageCreateParamsNonStreaming,
        MessageCreateParamsStreaming,
    )

    assert body.get("anthropic_version") == "vertex-2023-10-16"
    assert "model" not in body, "Vertex takes the model from the URL; the body must not name it"
    params = {k: v for k, v in body.items() if k != "anthropic_version"} | {"model": model}
    kind = MessageCreateParamsStreaming if params.get("stream") else MessageCreateParamsNonStreaming
    for name in SAMPLING & params.keys():  # typed by hand: see SAMPLING
        value = params.pop(name)
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{name} must be a number"
    assert_typed(params, kind)


def assert_typed(params: dict[str, Any], kind: Any) -> None:
    """``params`` is a valid ``kind`` (an SDK TypedDict), with no top-level keys it does not define.

    pydantic ignores extra TypedDict keys, hence the explicit check.
    """
    from pydantic import TypeAdapter

    unknown = set(params) - set(typing.get_type_hints(kind))
    assert not unknown, f"fields {kind.__name__} does not define: {sorted(unknown)}"
    adapter = TypeAdapter(kind)  # kept alive while the lazy validators run
    _materialize(adapter.validate_python(params))


def assert_openai_request(
    body: dict[str, Any], model: str | None = None, extra: frozenset[str] = frozenset()
) -> None:
    """Validate an OpenAI-format partner body against the ``openai`` package's CompletionCreateParams.

    ``model`` is filled in for endpoints whose body names none; ``extra`` lists a partner's own
    documented fields (e.g. Mistral's ``random_seed``), which are left out of the check.
    """
    from openai.types.chat.completion_create_params import (
        CompletionCreateParamsNonStreaming,
        CompletionCreateParamsStreaming,
    )

    params = {"model": model, **{k: v for k, v in body.items() if k not in extra}}
    assert isinstance(params["model"], str), "no model in the body and none given"
    assert_typed(
        params,
        CompletionCreateParamsStreaming if params.get("stream") else CompletionCreateParamsNonStreaming,
    )
