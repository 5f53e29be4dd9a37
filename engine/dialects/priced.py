"""What a dialect reply cost: ``_hidden_params["response_cost"]`` and ``["openai_usage"]`` on its result.

Why here and not in the proxy: a reply in Anthropic's or the Responses API's format is
priced by the same engine step (:func:`engine.cost.response_cost`) as a chat reply, so
library callers and the gateway see one figure. ``openai_usage`` is the reply's usage in
OpenAI's names (what spend logs count), since the dialect's own usage block differs.

A stream's figures are known only once it has ended: :class:`PricedStream` (async) and
:class:`PricedIterator` (sync) wrap the event iterator and carry ``_hidden_params``, filled
by the generator that produces the events when it sees the final usage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from engine.cost import response_cost

if TYPE_CHECKING:
    from engine.api import Call

COST = "response_cost"
USAGE = "openai_usage"


def count_of(value: Any) -> int:
    """A token count from a provider's usage block: a non-negative int, else 0 (never an exception)."""
    return value if type(value) is int and value >= 0 else 0


def anthropic_to_openai_usage(usage: Any) -> dict[str, Any]:
    """Anthropic usage → OpenAI's: prompt tokens include cache reads and writes, which are reported apart."""
    usage = usage if isinstance(usage, dict) else {}
    fresh = count_of(usage.get("input_tokens"))
    read = count_of(usage.get("cache_read_input_tokens"))
    written = count_of(usage.get("cache_creation_input_tokens"))
    output = count_of(usage.get("output_tokens"))
    prompt = fresh + read + written
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": read},
        "cache_creation_input_tokens": written,
    }


def price_native(call: Call, anthropic_usage: Any, hidden: dict[str, Any]) -> None:
    """Fill ``hidden`` for a native Claude reply (or stream) from its Anthropic usage."""
    usage = anthropic_to_openai_usage(anthropic_usage)
    hidden[USAGE] = usage
    hidden[COST] = response_cost(call, {"usage": usage})


def copy_chat(chat: Any, hidden: dict[str, Any]) -> None:
    """Fill ``hidden`` from a translated call's chat reply (or its final usage chunk)."""
    usage = chat.get("usage") if isinstance(chat, dict) else None
    if isinstance(usage, dict) and usage:
        hidden[USAGE] = dict(usage)
        hidden[COST] = (getattr(chat, "_hidden_params", None) or {}).get(COST)


class PricedStream:
    """An async event stream whose ``_hidden_params`` (cost, usage) are complete once it has ended."""

    def __init__(self, events: AsyncIterator[Any], hidden: dict[str, Any]) -> None:
        self._events = events
        self._hidden_params = hidden

    def __aiter__(self) -> PricedStream:
        return self

    async def __anext__(self) -> Any:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        close = getattr(self._events, "aclose", None)
        if close is not None:
            await close()


class PricedIterator:
    """A sync event stream whose ``_hidden_params`` (cost, usage) are complete once it has ended."""

    def __init__(self, events: Iterator[Any], hidden: dict[str, Any]) -> None:
        self._events = events
        self._hidden_params = hidden

    def __iter__(self) -> PricedIterator:
        return self

    def __next__(self) -> Any:
        return next(self._events)

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()
