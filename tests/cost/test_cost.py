"""Cost from the specs' prices: every response carries ``response_cost``; no price means None, never a guess."""

from __future__ import annotations

from typing import Any

import pytest

import engine
from engine.cost import MILLION, completion_cost, cost_per_token
from engine.registry import default_registry


def _expected(model: str, usage: dict[str, Any]) -> float:
    price = default_registry().resolve(model, "chat").family.prices.lookup(model)
    cached = usage["prompt_tokens_details"]["cached_tokens"] or 0
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"] or 0
    return (
        (usage["prompt_tokens"] - cached) * price.rates.input
        + cached * (price.rates.cached_input or 0)
        + (usage["completion_tokens"] - reasoning) * price.rates.output
        + reasoning * price.rates.output
    )


def test_chat_response_carries_its_cost(vx: dict[str, Any]) -> None:
    resp = engine.completion(
        model="vertex_ai/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], **vx
    )
    cost = resp._hidden_params["response_cost"]
    assert cost is not None and cost > 0
    assert cost == pytest.approx(_expected("gemini-2.5-flash", resp.usage))
    assert engine.completion_cost(completion_response=resp) == cost
    assert engine.completion_cost(completion_response=resp, batch=True) == pytest.approx(cost / 2)


def test_published_figures_per_token() -> None:
    # Gemini 2.5 Pro: $1.25 / $10 per 1M tokens up to 200k prompt tokens, $2.50 / $15 above.
    assert cost_per_token("vertex_ai/gemini-2.5-pro", MILLION, MILLION) == pytest.approx((1.25, 10.0))
    short = completion_cost(model="vertex_ai/gemini-2.5-pro", prompt_tokens=200_000, completion_tokens=0)
    long = completion_cost(model="vertex_ai/gemini-2.5-pro", prompt_tokens=200_001, completion_tokens=0)
    assert short == pytest.approx(0.25)
    assert long == pytest.approx(200_001 * 2.5 / MILLION)
    sonnet = completion_cost(model="claude-sonnet-4@20250514", prompt_tokens=1000, completion_tokens=1000)
    assert sonnet == pytest.approx(0.003 + 0.015)


def test_no_price_is_none_not_a_guess(vx: dict[str, Any]) -> None:
    resp = engine.completion(
        model="vertex_ai/gemini-1.5-flash-001", messages=[{"role": "user", "content": "hi"}], **vx
    )
    assert resp._hidden_params["response_cost"] is None
    assert engine.completion_cost(completion_response=resp) is None
    assert completion_cost(model="vertex_ai/gemini-99-unknown", prompt_tokens=10) is None
    assert completion_cost(model="not-a-model-anywhere", prompt_tokens=10) is None
    # a quantity the price does not cover: cached tokens for a model without a cached-input price
    usage = {"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 5}}
    assert (
        completion_cost({"model": "gemini-2.0-flash-lite", "usage": usage}, model="gemini-2.0-flash-lite")
        is None
    )


async def test_stream_reports_cost_with_final_usage(vx: dict[str, Any]) -> None:
    stream = await engine.acompletion(
        model="vertex_ai/gemini-2.5-flash",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
        **vx,
    )
    chunks = [chunk async for chunk in stream]
    final = chunks[-1]
    assert final.usage.total_tokens > 0
    assert final._hidden_params["response_cost"] == pytest.approx(_expected("gemini-2.5-flash", final.usage))


def test_images_are_priced_per_image(vx: dict[str, Any]) -> None:
    resp = engine.image_generation(prompt="a cat", model="vertex_ai/imagen-3.0-generate-002", n=2, **vx)
    assert resp._hidden_params["response_cost"] == pytest.approx(0.04 * len(resp.data))


def test_embeddings_priced_by_billable_characters(vx: dict[str, Any]) -> None:
    resp = engine.embedding(model="vertex_ai/text-embedding-005", input=["hello world", "abc"], **vx)
    billable = resp._hidden_params["billable_character_count"]
    assert isinstance(billable, int) and billable > 0
    assert resp._hidden_params["response_cost"] == pytest.approx(billable * 0.025 / MILLION)
    tokens = engine.embedding(model="vertex_ai/gemini-embedding-001", input="hello world", **vx)
    assert tokens._hidden_params["response_cost"] == pytest.approx(
        tokens.usage.prompt_tokens * 0.15 / MILLION
    )


def test_speech_priced_per_character_by_voice(vx: dict[str, Any]) -> None:
    text = "Hello there, world."
    resp = engine.speech(model="vertex_ai/", input=text, voice="alloy", **vx)  # en-US-Studio-O
    assert resp._hidden_params["response_cost"] == pytest.approx(len(text) * 160 / MILLION)
    plain = engine.speech(model="vertex_ai/", input=text, voice={"languageCode": "en-US"}, **vx)
    assert plain._hidden_params["response_cost"] is None  # no voice name: no way to know the price


def test_anthropic_cache_reads_and_writes_are_priced_apart() -> None:
    # claude-3-5-haiku: $0.80 input, $0.08 cache read, $1.00 cache write, $4 output per 1M tokens
    usage = {
        "prompt_tokens": 1_000 + 2_000 + 3_000,  # Anthropic's prompt counts all three (specs/anthropic.yaml)
        "completion_tokens": 500,
        "prompt_tokens_details": {"cached_tokens": 2_000},
        "cache_creation_input_tokens": 3_000,
    }
    cost = completion_cost({"usage": usage}, model="claude-3-5-haiku@20241022")
    assert cost == pytest.approx((1_000 * 0.80 + 2_000 * 0.08 + 3_000 * 1.00 + 500 * 4.0) / MILLION)
    assert completion_cost({"usage": usage}, model="claude-3-5-haiku@20241022", batch=True) == pytest.approx(
        cost / 2
    )


def test_every_price_cites_its_source() -> None:
    priced = [f for f in default_registry().families if f.prices is not None]
    assert {f.name for f in priced} >= {
        "gemini",
        "anthropic",
        "imagen",
        "embeddings",
        "speech",
        "maas",
        "mistral",
    }
    for family in priced:
        assert family.prices.source.startswith("https://")
        assert family.prices.exact or family.prices.patterns


def test_dialect_replies_carry_their_cost(vx: dict[str, Any]) -> None:
    # Claude Sonnet 4 (Anthropic's pricing page): $3 input, $0.30 cache hit, $3.75 5-minute cache write,
    # $15 output per 1M tokens; Anthropic's usage reports fresh input, reads and writes apart.
    message = engine.anthropic_messages(
        model="vertex_ai/claude-sonnet-4@20250514",
        max_tokens=64,
        messages=[{"role": "user", "content": "hi"}],
        **vx,
    )
    usage = message["usage"]
    expected = (
        usage["input_tokens"] * 3.0
        + (usage.get("cache_read_input_tokens") or 0) * 0.30
        + (usage.get("cache_creation_input_tokens") or 0) * 3.75
        + usage["output_tokens"] * 15.0
    ) / MILLION
    assert message._hidden_params["response_cost"] == pytest.approx(expected) and expected > 0
    assert message._hidden_params["openai_usage"]["completion_tokens"] == usage["output_tokens"]
    # translated (Gemini through the chat pipeline): the chat reply's cost comes along
    translated = engine.anthropic_messages(
        model="vertex_ai/gemini-2.5-flash", max_tokens=64, messages=[{"role": "user", "content": "hi"}], **vx
    )
    assert translated._hidden_params["response_cost"] > 0
    reply = engine.responses(input="hi", model="vertex_ai/gemini-2.5-flash", store=False, **vx)
    assert reply._hidden_params["response_cost"] > 0


def test_dialect_streams_carry_their_cost_once_ended(vx: dict[str, Any]) -> None:
    """Sync streams of /v1/messages and /v1/responses: the figures are on the stream once it has ended."""
    hello = [{"role": "user", "content": "hi"}]
    native = engine.anthropic_messages(
        model="vertex_ai/claude-sonnet-4@20250514", max_tokens=64, messages=hello, stream=True, **vx
    )
    events = list(native)
    final = next(e for e in reversed(events) if e.get("type") == "message_delta")
    start = next(e for e in events if e.get("type") == "message_start")
    fresh = start["message"]["usage"]["input_tokens"]
    expected = (fresh * 3.0 + final["usage"]["output_tokens"] * 15.0) / MILLION
    assert native._hidden_params["response_cost"] == pytest.approx(expected) and expected > 0
    assert native._hidden_params["openai_usage"]["completion_tokens"] == final["usage"]["output_tokens"]
    translated = engine.anthropic_messages(
        model="vertex_ai/gemini-2.5-flash", max_tokens=64, messages=hello, stream=True, **vx
    )
    assert translated._hidden_params == {}  # not known before the end
    list(translated)
    reply = engine.responses(input="hi", model="vertex_ai/gemini-2.5-flash", store=False, stream=True, **vx)
    list(reply)
    for stream in (translated, reply):  # Gemini 2.5 Flash: $0.30 input, $2.50 output per 1M tokens
        usage = stream._hidden_params["openai_usage"]
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
        expected = (usage["prompt_tokens"] * 0.30 + usage["completion_tokens"] * 2.50) / MILLION
        assert stream._hidden_params["response_cost"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"prompt_tokens": "1000"}, "prompt_tokens"),
        ({"prompt_tokens": -1}, "prompt_tokens"),
        ({"completion_tokens": True}, "completion_tokens"),
        ({"completion_tokens": 1.5}, "completion_tokens"),
        ({"vertex_location": 5}, "vertex_location"),
        ({"batch": "no"}, "batch"),
        ({"custom_cost_per_token": {"input_cost_per_token": 1}}, "custom_cost_per_token"),
        ({"base_model": "gemini-2.5-pro"}, "base_model"),
        ({"no_such_argument": 1}, "no_such_argument"),
    ],
)
def test_cost_arguments_are_checked_by_name(kwargs: dict[str, Any], error: str) -> None:
    """A wrong type or an argument that would change the figure is an error naming it, never a wrong cost."""
    with pytest.raises(engine.BadRequestError) as caught:
        completion_cost(
            model="vertex_ai/gemini-3.5-flash", **{"prompt_tokens": 10, "completion_tokens": 1, **kwargs}
        )
    assert caught.value.param == error
    for model in (None, ["a"], "x" * 600):
        with pytest.raises(engine.BadRequestError):
            cost_per_token(model, 1, 1)  # type: ignore[arg-type]


def test_cost_of_odd_usage_is_none_and_litellm_location_names_apply() -> None:
    model = "vertex_ai/gemini-3.5-flash"  # $1.50 / $9 per 1M tokens global, 10% more elsewhere
    for bad in ("1000", float("nan"), -5, [1]):
        assert completion_cost({"usage": {"prompt_tokens": bad, "completion_tokens": 1}}, model=model) is None
    details = {"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": "x"}
    assert completion_cost({"usage": details}, model=model) == pytest.approx((10 * 1.5 + 9) / MILLION)
    regional = completion_cost(
        model=model, prompt_tokens=MILLION, completion_tokens=0, region_name="europe-west4"
    )
    assert regional == pytest.approx(1.65)
    assert (
        completion_cost(model=model, prompt_tokens=MILLION, completion_tokens=0, call_type="completion")
        == 1.5
    )


def test_cross_checked_partner_figures() -> None:
    # Figures the specs' prices blocks record as agreed by LiteLLM 1.110.2 and Portkey (specs/llama.yaml):
    # Llama 4 Maverick $0.35 / $1.15, Llama 3.3 70B $0.72 / $0.72 per 1M tokens, batch at half price.
    maverick = "vertex_ai/meta/llama-4-maverick-17b-128e-instruct-maas"
    assert cost_per_token(maverick, MILLION, MILLION) == pytest.approx((0.35, 1.15))
    llama = "vertex_ai/meta/llama-3.3-70b-instruct-maas"
    assert completion_cost(model=llama, prompt_tokens=MILLION, completion_tokens=MILLION) == pytest.approx(
        1.44
    )
    batch = completion_cost(model=llama, prompt_tokens=MILLION, completion_tokens=MILLION, batch=True)
    assert batch == pytest.approx(0.72)
    # Mistral (specs/mistral.yaml): Codestral 2 $0.30 / $0.90 in both maps. Codestral 25.01 and Nemo 2407,
    # where our figure and LiteLLM's differ and Portkey has none, are unpriced rather than guessed.
    assert cost_per_token("vertex_ai/codestral-2", MILLION, MILLION) == pytest.approx((0.30, 0.90))
    assert completion_cost(model="vertex_ai/codestral@2501", prompt_tokens=10, completion_tokens=1) is None
    assert completion_cost(model="vertex_ai/mistral-nemo@2407", prompt_tokens=10, completion_tokens=1) is None


def test_gemini_3_1_pro_long_context_cached_and_batch() -> None:
    # gemini-3.1-pro-preview (specs/gemini.yaml, both maps): $2 / $12, cached $0.20 up to 200k prompt
    # tokens; $4 / $18, cached $0.40 above; batch half.
    model = "vertex_ai/gemini-3.1-pro-preview"
    assert cost_per_token(model, MILLION, MILLION) == pytest.approx((2.0, 12.0))
    usage = {
        "prompt_tokens": 200_000,
        "completion_tokens": 1_000,
        "prompt_tokens_details": {"cached_tokens": 50_000},
    }
    short = completion_cost({"usage": usage}, model=model)
    assert short == pytest.approx((150_000 * 2.0 + 50_000 * 0.20 + 1_000 * 12.0) / MILLION)
    usage = {
        "prompt_tokens": 300_000,
        "completion_tokens": 1_000,
        "prompt_tokens_details": {"cached_tokens": 100_000},
    }
    long = completion_cost({"usage": usage}, model=model)
    assert long == pytest.approx((200_000 * 4.0 + 100_000 * 0.40 + 1_000 * 18.0) / MILLION)
    assert completion_cost({"usage": usage}, model=model, batch=True) == pytest.approx(long / 2)


def test_gemini_tts_tokens_in_chat() -> None:
    # gemini-2.5-flash-tts in chat with audio output: $0.50 per 1M text input, $10 per 1M audio output tokens.
    assert cost_per_token("vertex_ai/gemini-2.5-flash-tts", MILLION, MILLION) == pytest.approx((0.50, 10.0))
    assert cost_per_token("vertex_ai/gemini-3.1-flash-tts-preview", MILLION, MILLION) == pytest.approx(
        (1.0, 20.0)
    )


def test_unpriced_where_the_sources_or_the_price_keys_fall_short() -> None:
    # specs/gemini.yaml's note: disagreeing maps (3.6 Flash), image output tokens priced apart (3 Pro Image),
    # one map only (3.8 Flash TTS): cost None, never a guess.
    for model in ("gemini-3.6-flash", "gemini-3-pro-image", "gemini-3.8-flash-tts"):
        assert completion_cost(model=f"vertex_ai/{model}", prompt_tokens=10, completion_tokens=1) is None, (
            model
        )


def test_maas_partner_figures() -> None:
    # specs/maas.yaml, both maps: DeepSeek V3.2 $0.56 / $1.68, cached $0.056, batch half.
    model = "vertex_ai/deepseek-ai/deepseek-v3.2-maas"
    assert cost_per_token(model, MILLION, MILLION) == pytest.approx((0.56, 1.68))
    usage = {
        "prompt_tokens": 1_000,
        "completion_tokens": 100,
        "prompt_tokens_details": {"cached_tokens": 400},
    }
    cost = completion_cost({"usage": usage}, model=model)
    assert cost == pytest.approx((600 * 0.56 + 400 * 0.056 + 100 * 1.68) / MILLION)
    assert completion_cost({"usage": usage}, model=model, batch=True) == pytest.approx(cost / 2)
    # glm-4.7: no agreed cached-input price, so cached tokens make the cost None
    glm = {"prompt_tokens": 1_000, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 400}}
    assert completion_cost({"usage": glm}, model="vertex_ai/zai-org/glm-4.7-maas") is None
    assert (
        completion_cost(model="vertex_ai/openai/gpt-oss-20b-maas", prompt_tokens=10) is None
    )  # one map only


def test_gemini_embedding_batch_is_a_fifth_off(vx: dict[str, Any]) -> None:
    # gemini-embedding-001: $0.15 per 1M tokens, batch $0.12 (LiteLLM and Portkey, specs/embeddings.yaml).
    resp = engine.embedding(model="vertex_ai/gemini-embedding-001", input="hello world", **vx)
    cost = resp._hidden_params["response_cost"]
    assert cost == pytest.approx(resp.usage.prompt_tokens * 0.15 / MILLION)
    price = (
        default_registry()
        .resolve("gemini-embedding-001", "embedding")
        .family.prices.lookup("gemini-embedding-001")
    )
    assert price is not None and price.cost({"prompt_tokens": MILLION}, batch=True) == pytest.approx(0.12)


def test_cost_by_model_name_takes_the_entry_that_names_it() -> None:
    """``gemini-embedding-001`` is an exact embeddings entry; the chat catch-all ``gemini-*`` also
    matches the name but must not hide its price (specs/embeddings.yaml: $0.15 per 1M tokens)."""
    assert engine.completion_cost(
        model="vertex_ai/gemini-embedding-001", prompt_tokens=MILLION, completion_tokens=0
    ) == pytest.approx(0.15)
    assert engine.cost_per_token("vertex_ai/gemini-embedding-001", prompt_tokens=MILLION) == (
        pytest.approx(0.15),
        0.0,
    )


# --------------------------------------------------------------------------- regional premium (spec key `regional`)

REGIONAL = 1.10  # Anthropic's Vertex AI page and both price maps: 10% over the global endpoint


def _chat_cost(model: str, location: str, vx: dict[str, Any]) -> tuple[Any, float]:
    resp = engine.completion(
        model=f"vertex_ai/{model}",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=64,
        **{**vx, "vertex_location": location},
    )
    return resp, resp._hidden_params["response_cost"]


def _global_cost(model: str, usage: Any) -> float:
    """What ``usage`` costs at the global endpoint, from the spec's rates (no cache tokens in these replies)."""
    price = default_registry().resolve(model, "chat").family.prices.lookup(model)
    assert not (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    return usage["prompt_tokens"] * price.rates.input + usage["completion_tokens"] * price.rates.output


@pytest.mark.parametrize(
    "model",
    [
        "claude-sonnet-4-5@20250929",  # specs/anthropic.yaml: $3 / $15, regional 0.10
        "gemini-3.5-flash",  # specs/gemini.yaml: $1.50 / $9, regional 0.10
    ],
)
def test_regional_and_multi_region_endpoints_cost_ten_percent_more(model: str, vx: dict[str, Any]) -> None:
    for location, factor in (("global", 1.0), ("us-central1", REGIONAL), ("us", REGIONAL), ("eu", REGIONAL)):
        resp, cost = _chat_cost(model, location, vx)
        expected = _global_cost(model, resp.usage) * factor
        assert expected > 0 and cost == pytest.approx(expected), (model, location)
        # the response's own cost, batch discount on top of the location's premium
        assert engine.completion_cost(completion_response=resp) == cost
        assert engine.completion_cost(completion_response=resp, batch=True) == pytest.approx(cost / 2)


def test_models_before_sonnet_4_5_have_no_regional_premium(vx: dict[str, Any]) -> None:
    # Anthropic: "This applies to Claude Sonnet 4.5 and future models only" (Sonnet 4: $3 / $15 everywhere).
    resp, cost = _chat_cost("claude-sonnet-4@20250514", "us-east5", vx)
    assert cost == pytest.approx(_global_cost("claude-sonnet-4@20250514", resp.usage))
    for model in ("claude-sonnet-4@20250514", "claude-opus-4-1@20250805", "gemini-2.5-flash"):
        at_global = completion_cost(model=model, prompt_tokens=1000, completion_tokens=100)
        assert completion_cost(
            model=model, prompt_tokens=1000, completion_tokens=100, vertex_location="us-central1"
        ) == pytest.approx(at_global), model


def test_completion_cost_by_model_name_takes_an_optional_location() -> None:
    # Without a location, the global figure (documented in engine/cost.py and specs/README.md).
    sonnet = "vertex_ai/claude-sonnet-4-5"
    base = completion_cost(model=sonnet, prompt_tokens=100_000, completion_tokens=10_000)
    assert base == pytest.approx((100_000 * 3.0 + 10_000 * 15.0) / MILLION)
    assert completion_cost(
        model=sonnet, prompt_tokens=100_000, completion_tokens=10_000, vertex_location="global"
    ) == pytest.approx(base)
    for location in ("us-east5", "europe-west1", "us", "eu"):
        assert completion_cost(
            model=sonnet, prompt_tokens=100_000, completion_tokens=10_000, vertex_location=location
        ) == pytest.approx(base * REGIONAL), location
    assert completion_cost(
        model=sonnet, prompt_tokens=100_000, completion_tokens=10_000, vertex_ai_location="us"
    ) == pytest.approx(base * REGIONAL)
    # batch: the premium and the 50% discount multiply
    assert completion_cost(
        model=sonnet, prompt_tokens=100_000, completion_tokens=10_000, vertex_location="us", batch=True
    ) == pytest.approx(base * REGIONAL / 2)
    # the long-context tier is priced regionally too ($6 / $22.50 above 200k prompt tokens)
    long = completion_cost(model=sonnet, prompt_tokens=300_000, completion_tokens=0, vertex_location="eu")
    assert long == pytest.approx(300_000 * 6.0 / MILLION * REGIONAL)


def test_claude_current_models_figures() -> None:
    # specs/anthropic.yaml (Anthropic's pricing and model pages, 2026-12-01): (input, cache hit, 5m cache write,
    # output) per 1M tokens at the global endpoint, 10% more at any other location; None where not recorded.
    figures = {
        "claude-fable-5-1": (10.0, 0.25, 12.5, 50.0),
        "claude-mythos-5-1": (10.0, 0.25, 12.5, 50.0),
        "claude-fable-5": (10.0, 1.0, 12.5, 50.0),
        "claude-mythos-5": (10.0, 1.0, 12.5, 50.0),
        "claude-opus-5-5": (4.0, 0.20, 5.0, 20.0),
        "claude-opus-5": (5.0, 0.50, 6.25, 25.0),
        "claude-opus-4-8": (5.0, 0.50, 6.25, 25.0),
        "claude-opus-4-7": (5.0, 0.50, 6.25, 25.0),
        "claude-opus-4-6": (5.0, 0.50, 6.25, 25.0),
        "claude-sonnet-5": (2.0, 0.20, 2.5, 10.0),
        "claude-sonnet-4-6": (3.0, 0.30, 3.75, 15.0),
        "claude-sonnet-5-5": (2.0, None, 2.5, 10.0),
        "claude-haiku-5-5": (0.10, None, 0.125, 0.50),
    }
    for model, (inp, hit, write, out) in figures.items():
        name = f"vertex_ai/{model}"
        base = completion_cost(model=name, prompt_tokens=10_000, completion_tokens=1_000)
        assert base == pytest.approx((10_000 * inp + 1_000 * out) / MILLION), model
        assert completion_cost(
            model=name, prompt_tokens=10_000, completion_tokens=1_000, vertex_location="us-east5"
        ) == pytest.approx(base * REGIONAL), model
        usage = {
            "prompt_tokens": 1_000 + 2_000 + 3_000,
            "completion_tokens": 500,
            "prompt_tokens_details": {"cached_tokens": 2_000 if hit is not None else 0},
            "cache_creation_input_tokens": 3_000,
        }
        fresh = 1_000 if hit is not None else 3_000
        expected = (fresh * inp + 2_000 * (hit or 0) + 3_000 * write + 500 * out) / MILLION
        assert completion_cost({"usage": usage}, model=model) == pytest.approx(expected), model
        if hit is None:  # cache hits on a model whose cache-hit price is not recorded: None, never a guess
            usage["prompt_tokens_details"] = {"cached_tokens": 2_000}
            assert completion_cost({"usage": usage}, model=model) is None, model
    # Haiku 5.5: prompts over 100,000 tokens are billed at $0.50 / $2.50 for the whole request
    haiku = "vertex_ai/claude-haiku-5-5"
    assert completion_cost(model=haiku, prompt_tokens=100_000, completion_tokens=1_000) == pytest.approx(
        (100_000 * 0.10 + 1_000 * 0.50) / MILLION
    )
    assert completion_cost(model=haiku, prompt_tokens=100_001, completion_tokens=1_000) == pytest.approx(
        (100_001 * 0.50 + 1_000 * 2.50) / MILLION
    )
    # Opus 4.6 and later: no long-context tier (1M context at the standard rates)
    assert completion_cost(
        model="vertex_ai/claude-opus-4-6", prompt_tokens=500_000, completion_tokens=0
    ) == pytest.approx(500_000 * 5.0 / MILLION)
    # no price found for Claude Mythos Preview
    assert (
        completion_cost(model="vertex_ai/claude-mythos-preview", prompt_tokens=10, completion_tokens=1)
        is None
    )


def test_gemini_regional_models_figures() -> None:
    # specs/gemini.yaml, LiteLLM 1.110.2 and Portkey @f654307: global figures, +10% elsewhere, cached input apart.
    figures = {
        "gemini-3.5-flash": (1.50, 9.00, 0.15),
        "gemini-3.5-flash-lite": (0.30, 2.50, 0.03),
        "gemini-3.1-flash-lite": (0.25, 1.50, 0.025),
    }
    usage = {
        "prompt_tokens": 3_000,
        "completion_tokens": 500,
        "prompt_tokens_details": {"cached_tokens": 1_000},
    }
    for model, (rate_in, rate_out, rate_cached) in figures.items():
        name = f"vertex_ai/{model}"
        assert cost_per_token(name, MILLION, MILLION) == pytest.approx((rate_in, rate_out))
        at_global = (2_000 * rate_in + 1_000 * rate_cached + 500 * rate_out) / MILLION
        assert completion_cost({"usage": usage}, model=name) == pytest.approx(at_global)
        assert completion_cost({"usage": usage}, model=name, vertex_location="global") == pytest.approx(
            at_global
        )
        assert completion_cost({"usage": usage}, model=name, vertex_location="us-central1") == pytest.approx(
            at_global * REGIONAL
        )


def test_regional_is_compiled_per_model_over_the_block_default() -> None:
    from pathlib import Path

    from engine.compiler import Problems
    from engine.cost import compile_prices, is_regional

    problems = Problems(Path("prices.yaml"))
    table = compile_prices(
        {
            "source": "https://example.com/prices",
            "regional": 0.2,
            "models": {"a": {"input": 1.0}, "b": {"input": 1.0, "regional": 0}},
        },
        problems,
    )
    assert not problems.items and table is not None
    a, b = table.lookup("a"), table.lookup("b")
    assert a is not None and b is not None
    assert a.cost({"prompt_tokens": MILLION}, regional=True) == pytest.approx(1.2)
    assert a.cost({"prompt_tokens": MILLION}, regional=False) == pytest.approx(1.0)
    assert b.cost({"prompt_tokens": MILLION}, regional=True) == pytest.approx(1.0)
    # a call's location: only `global` is free of the premium; an unknown one (None) is not
    assert not is_regional("global")
    assert is_regional("us-central1") and is_regional("us") and is_regional(None)


def test_model_info_names_the_regional_uplift() -> None:
    from engine.proxy.store.routes import _prices

    info = _prices("vertex_ai/gemini-3.5-flash")
    assert info["input_cost_per_token"] == pytest.approx(1.50 / MILLION)
    assert info["regional_endpoint_uplift_multiplier"] == pytest.approx(REGIONAL)
    assert "regional_endpoint_uplift_multiplier" not in _prices("vertex_ai/gemini-2.5-flash")
