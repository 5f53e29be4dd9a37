"""What a response cost, from the prices in the specs: ``response_cost`` and :func:`completion_cost`.

Prices are data: each family spec may end with a ``prices:`` block (see specs/README.md)
citing the page they come from. They are compiled once with the family; the per-request
work is a dict lookup (cached per model name) and a few multiplications.

Location: a price's ``regional`` fraction is added to the whole cost when the call's location
(``vertex_location``) is not ``global`` (a region such as us-central1 or a multi-region such as
``us``), and when the call's location is not known. :func:`completion_cost` without a call takes
an optional ``vertex_location``; without one it is the ``global`` figure.

Why ``None`` rather than a guess: a gateway that caps budgets must never charge a wrong
amount. A model without a price, or a response with a quantity the price does not
cover (cached tokens without a cached-input price, say), costs ``None``.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from engine.compiler import Expression, compile_jmespath, pattern_regex

log = logging.getLogger("vertexlate")

if TYPE_CHECKING:
    from engine.api import Call
    from engine.compiler import Problems
    from engine.registry import Resolved

MILLION = 1_000_000
HIDDEN = "hidden."  # characters_of: a value of the response's _hidden_params (the provider's own count)
TOKEN_KEYS = ("input", "output", "cached_input", "cache_write", "reasoning")
GLOBAL = "global"  # the Vertex AI location a ``regional`` premium is not charged in


@dataclass(frozen=True)
class Rates:
    """USD per token (already divided from the spec's per-million figures)."""

    input: float | None = None
    output: float | None = None
    cached_input: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None  # None: reasoning tokens cost what output tokens cost


@dataclass(frozen=True)
class Price:
    """One model's prices: token rates (with an optional long-context tier) and per-unit prices."""

    rates: Rates
    above_tokens: int | None = None  # prompts with more tokens than this are billed at ``above``
    above: Rates | None = None
    image: float | None = None  # USD per generated image
    characters: float | None = None  # USD per character
    second: float | None = None  # USD per second of audio/video
    batch_discount: float = 0.0  # fraction off for batch prediction
    regional: float = 0.0  # fraction added off the ``global`` location (regional and multi-region endpoints)

    def cost(self, quantities: dict[str, Any], batch: bool = False, regional: bool = False) -> float | None:
        """The cost of ``quantities`` (usage counts plus ``characters``/``images``/``seconds``), or None.

        ``regional``: the request went to a location other than ``global`` (see :func:`is_regional`).
        """
        total = 0.0
        priced = False
        for unit, rate in (("images", self.image), ("characters", self.characters), ("seconds", self.second)):
            amount = quantities.get(unit)
            if rate is not None:
                if amount is None:
                    return None
                total += amount * rate
                priced = True
        if self.rates.input is not None or self.rates.output is not None:
            tokens = _token_cost(self, quantities)
            if tokens is None:
                return None
            total += tokens
            priced = True
        if not priced:
            return None
        if regional:
            total *= 1.0 + self.regional
        return total * (1.0 - self.batch_discount) if batch else total


def is_regional(location: Any) -> bool:
    """Whether a location carries a ``regional`` premium: any but ``global``, an unknown (None) one too."""
    return location != GLOBAL


COUNTS = (
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_creation_input_tokens",
    "reasoning_tokens",
)


def _token_cost(price: Price, q: dict[str, Any]) -> float | None:
    if any(q.get(name) is not None and _int(q.get(name)) is None for name in COUNTS):
        return None  # a count that is there but is no count (a string, NaN, negative): no guess
    prompt = _int(q.get("prompt_tokens"))
    completion = _int(q.get("completion_tokens"))
    if prompt is None and completion is None:
        return None
    prompt, completion = prompt or 0, completion or 0
    cached = _int(q.get("cached_tokens")) or 0
    written = _int(q.get("cache_creation_input_tokens")) or 0
    reasoning = _int(q.get("reasoning_tokens")) or 0
    rates = price.rates
    if price.above is not None and price.above_tokens is not None and prompt > price.above_tokens:
        rates = price.above
    parts = [
        (max(prompt - cached - written, 0), rates.input),
        (cached, rates.cached_input),
        (written, rates.cache_write),
        (max(completion - reasoning, 0), rates.output),
        (reasoning, rates.reasoning if rates.reasoning is not None else rates.output),
    ]
    total = 0.0
    for amount, rate in parts:
        if amount:
            if rate is None:
                return None  # a quantity this model's price does not cover: no guess
            total += amount * rate
    return total


def _int(value: Any) -> int | None:
    """A token count from a usage block, or None (not a finite, non-negative number: not priced)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value) if value >= 0 else None


@dataclass
class PriceTable:
    """A family's compiled ``prices:`` block: exact names, then patterns (most literal characters first)."""

    source: str
    exact: dict[str, Price] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern[str], int, Price]] = field(default_factory=list)
    key: Expression | None = None  # picks the entry from the upstream body instead of the model name
    # What a ``characters`` price counts: a request parameter's characters, or ``hidden.<name>``, a count
    # the provider reports (billable characters, e.g. without white space). A parameter is counted whole, so
    # use ``hidden.`` for operations the engine splits (spec ``batch``).
    characters_of: str = "input"

    def lookup(self, *names: str) -> Price | None:
        for name in names:
            if name in self.exact:
                return self.exact[name]
        for regex, _, price in self.patterns:
            for name in names:
                if regex.match(name):
                    return price
        return None


def _rates(raw: dict[str, Any]) -> Rates:
    return Rates(**{k: raw[k] / MILLION for k in TOKEN_KEYS if k in raw})


def compile_prices(raw: Any, problems: Problems) -> PriceTable | None:
    """The ``prices:`` block of a family (schema-checked already); None when the family has none."""
    if not isinstance(raw, dict):
        return None
    table = PriceTable(source=raw.get("source", ""), characters_of=raw.get("characters_of", "input"))
    if "key" in raw:
        table.key = compile_jmespath(raw["key"], ["prices", "key"], problems)
    default_discount = float(raw.get("batch_discount", 0.0))
    default_regional = float(raw.get("regional", 0.0))
    for name, entry in (raw.get("models") or {}).items():
        above = entry.get("above")
        price = Price(
            rates=_rates(entry),
            above_tokens=above.get("tokens") if above else None,
            above=_rates(above) if above else None,
            image=entry.get("image"),
            characters=entry["characters"] / MILLION if "characters" in entry else None,
            second=entry.get("second"),
            batch_discount=float(entry.get("batch_discount", default_discount)),
            regional=float(entry.get("regional", default_regional)),
        )
        regex = pattern_regex(name)
        if regex is None:
            table.exact[name] = price
        else:
            literal = len(re.sub(r"\{[^}]+\}", "", name).replace("*", ""))
            table.patterns.append((regex, literal, price))
    table.patterns.sort(key=lambda item: -item[1])
    return table


# --------------------------------------------------------------------------- per response


@lru_cache(maxsize=4096)
def _price_for(resolved: Resolved) -> Price | None:
    table = resolved.family.prices
    if table is None or table.key is not None:
        return None
    return table.lookup(resolved.name, resolved.model_id)


def price_of(call: Call) -> Price | None:
    """The price that applies to ``call`` (by model name, or by the spec's ``key`` into the body)."""
    table = call.resolved.family.prices
    if table is None:
        return None
    if table.key is None:
        return _price_for(call.resolved)
    value = table.key.search(call.body) if isinstance(call.body, dict) else None
    return table.lookup(value) if isinstance(value, str) else None


def quantities(call: Call, result: Any) -> dict[str, Any]:
    """What the response used: its usage counts, images made, characters sent."""
    usage = result.get("usage") if isinstance(result, dict) else None
    q: dict[str, Any] = dict(usage) if isinstance(usage, dict) else {}
    details = q.get("prompt_tokens_details")
    if isinstance(details, dict):
        q.setdefault("cached_tokens", details.get("cached_tokens"))
    details = q.get("completion_tokens_details")
    if isinstance(details, dict):
        q.setdefault("reasoning_tokens", details.get("reasoning_tokens"))
    if call.op.name == "image_generation" and isinstance(result, dict):
        data = result.get("data")
        q["images"] = len(data) if isinstance(data, list) else None
    table = call.resolved.family.prices
    if table is not None:
        source = table.characters_of
        if source.startswith(HIDDEN):
            count = getattr(result, "_hidden_params", {}).get(source[len(HIDDEN) :])
            q["characters"] = _int(count)
        else:
            q["characters"] = characters(call.context.params.get(source))
    return q


def characters(value: Any) -> int | None:
    """Characters of a text input (a string or a list of strings); None for anything else."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sum(len(v) for v in value)
    return None


def response_cost(call: Call, result: Any) -> float | None:
    """``result``'s cost in USD, or None when the model has no price or the price does not cover it."""
    price = price_of(call)
    if price is None:
        return None
    return price.cost(quantities(call, result), regional=is_regional(call.location))


# --------------------------------------------------------------------------- public API


def completion_cost(
    completion_response: Any = None,
    model: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    batch: bool = False,
    vertex_location: str | None = None,
    **kwargs: Any,
) -> float | None:
    """LiteLLM's ``completion_cost``: the USD cost of a response (or of token counts for ``model``).

    A response from this engine already carries ``_hidden_params["response_cost"]``, priced for
    the location it was sent to; that is returned (halved etc. for ``batch=True`` by the model's
    published batch discount, still at that location). With ``model`` and token counts, the
    model's chat price is applied at ``vertex_location`` (or ``vertex_ai_location``): a price's
    ``regional`` premium is added for any location but ``global``; without one it is the ``global``
    figure. Unknown price: None.
    """
    location = _location(vertex_location, kwargs)
    batch = _flag(batch, "batch")
    hidden = getattr(completion_response, "_hidden_params", None) or {}
    if completion_response is not None and model is None:
        cost = hidden.get("response_cost")
        if cost is None or not batch:
            return cost
        # the response's own cost (its location's premium included), less the model's batch discount
        model = hidden.get("model")
        if model is None and isinstance(completion_response, dict):
            model = completion_response.get("model")
        price = _model_price(model) if isinstance(model, str) else None
        return None if price is None else cost * (1.0 - price.batch_discount)
    _check_model(model)
    price = _model_price(model)
    if price is None:
        return None
    q: dict[str, Any] = {}
    if isinstance(completion_response, dict) and isinstance(completion_response.get("usage"), dict):
        usage = completion_response["usage"]
        q.update(usage)
        prompt_details, completion_details = (
            usage.get("prompt_tokens_details"),
            usage.get("completion_tokens_details"),
        )
        if isinstance(prompt_details, dict):
            q.setdefault("cached_tokens", prompt_details.get("cached_tokens"))
        if isinstance(completion_details, dict):
            q.setdefault("reasoning_tokens", completion_details.get("reasoning_tokens"))
    if prompt_tokens is not None:
        q["prompt_tokens"] = _count(prompt_tokens, "prompt_tokens")
    if completion_tokens is not None:
        q["completion_tokens"] = _count(completion_tokens, "completion_tokens")
    return price.cost(q, batch=batch, regional=location is not None and is_regional(location))


# completion_cost arguments of LiteLLM's that would change the figure and are not supported here:
# refused by name rather than ignored (a wrong cost is worse than an error).
UNSUPPORTED_COST_ARGS = frozenset(
    {"custom_cost_per_token", "custom_cost_per_second", "base_model", "messages", "prompt", "completion",
     "size", "quality", "n", "custom_pricing", "standard_built_in_tools_params"}
)  # fmt: skip
LOCATION_ALIASES = ("vertex_ai_location", "region_name")  # LiteLLM's other names for the location
IGNORED_COST_ARGS = frozenset({"custom_llm_provider", "call_type", "optional_params", "litellm_logging_obj"})


def _location(vertex_location: Any, kwargs: dict[str, Any]) -> str | None:
    from engine.errors import UnsupportedParamsError

    refused = sorted(set(kwargs) & UNSUPPORTED_COST_ARGS)
    unknown = sorted(set(kwargs) - UNSUPPORTED_COST_ARGS - IGNORED_COST_ARGS - set(LOCATION_ALIASES))
    if refused or unknown:
        raise UnsupportedParamsError(
            f"completion_cost does not take {', '.join(refused + unknown)}: prices come from the specs",
            param=(refused + unknown)[0],
        )
    location = vertex_location
    for alias in LOCATION_ALIASES:
        if location is None:
            location = kwargs.get(alias)
    if location is not None and not isinstance(location, str):
        from engine.errors import BadRequestError

        raise BadRequestError(
            "vertex_location: must be a string such as 'global' or 'us-central1'", param="vertex_location"
        )
    return location


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        from engine.errors import BadRequestError

        raise BadRequestError(f"{name}: must be true or false", param=name)
    return value


def _count(value: Any, name: str) -> int:
    """An explicit token count: a non-negative int (a wrong type is an error, not a zero)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        from engine.errors import BadRequestError

        raise BadRequestError(f"{name}: must be a non-negative integer", param=name)
    return value


def _check_model(model: Any) -> None:
    from engine.errors import BadRequestError
    from engine.options import check_model

    if not isinstance(model, str) or not model:
        raise BadRequestError("model: a model name is required (or a completion_response)", param="model")
    check_model(model)


def _model_price(model: str) -> Price | None:
    from engine.errors import APIError
    from engine.registry import default_registry, rank

    # The entry that names the model most closely, whatever its operation: an exact entry
    # (gemini-embedding-001 among the embeddings) beats a chat catch-all (gemini-*) that also
    # matches the name; on a tie, the earlier operation. Its price or None, never a looser one.
    best: tuple[tuple[bool, tuple[int, int]], Any] | None = None
    for operation in ("chat", "text_completion", "embedding", "image_generation"):
        try:
            resolved = default_registry().resolve(model, operation)
        except APIError:
            continue
        key = (resolved.entry.pattern == resolved.name, rank(resolved.entry))
        if best is None or key > best[0]:
            best = (key, resolved)
    return _price_for(best[1]) if best is not None else None


def cost_per_token(
    model: str, prompt_tokens: int = 0, completion_tokens: int = 0
) -> tuple[float, float] | None:
    """LiteLLM's ``cost_per_token``: (prompt cost, completion cost) in USD, or None without a price."""
    _check_model(model)
    prompt_tokens = _count(prompt_tokens, "prompt_tokens")
    completion_tokens = _count(completion_tokens, "completion_tokens")
    price = _model_price(model)
    if price is None or price.rates.input is None:
        return None
    if price.rates.output is None:  # an embedding model: it bills input only (LiteLLM answers 0.0 too)
        return prompt_tokens * price.rates.input, 0.0
    return prompt_tokens * price.rates.input, completion_tokens * price.rates.output
