"""Today's catalogue (specs, 2026-12-01): every model entry's capabilities build a request body that
validates against its wire format's published schema, for every thinking style and level it takes;
refusals come from capability data; catch-alls take the newest generation; locations, endpoint ids,
the ``openai/`` rule, plain OpenAI-compatible upstreams and retired models behave as documented.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

import engine
from engine import registry as registry_module
from engine.api import prepare
from engine.compiler import _PLACEHOLDER, ModelEntry
from engine.errors import BadRequestError, UnsupportedParamsError
from engine.registry import default_registry
from engine.request import has_capability
from engine.response import build_chat
from tests.conformance import (
    assert_chat_chunk,
    assert_chat_completion,
    assert_embedding_response,
    assert_valid_anthropic_request,
    assert_valid_openai_request,
    assert_valid_request,
)
from tests.credentials import StaticToken
from tests.fixtures.load import load
from tests.partners.openai_upstream import OpenAIUpstream

BASE = {"vertex_credentials": StaticToken(), "vertex_project": "p"}
HI = [{"role": "user", "content": "hi"}]


def example_name(entry: ModelEntry) -> str:
    """A concrete name the entry's pattern matches: captures filled to fit their regex, ``*`` as ``x``."""

    def fill(match: re.Match[str]) -> str:
        regex = match.group(2)
        if regex is None:
            return "x1"
        return next(c for c in ("123", "20260101", "x1") if re.fullmatch(regex, c))

    return _PLACEHOLDER.sub(fill, entry.pattern).replace("*", "x")


def chat_cases() -> list[Any]:
    """(name, reasoning_effort or None) for every chat entry that the name resolves to, and each effort it takes."""
    reg = default_registry()
    cases = []
    for entry in reg.models():
        if not entry.supports("chat"):
            continue
        name = example_name(entry)
        if reg.resolve(name, "chat").entry is not entry:
            continue  # shadowed by a more specific entry: covered there
        cases.append(pytest.param(name, None, id=f"{name}"))
        for effort in efforts(entry):
            cases.append(pytest.param(name, effort, id=f"{name}-{effort}"))
    return cases


def efforts(entry: ModelEntry) -> list[str]:
    """The reasoning_effort values the entry's thinking style has a table for."""
    param = entry.family.operations["chat"].params.get("reasoning_effort")
    caps = entry.capabilities
    if param is None or not has_capability(caps, param.requires):
        return []
    if param.maps is not None:
        return list(param.maps.get(caps.get(param.map_by)) or {})
    return list(param.table or {})


def validate(body: dict[str, Any], caps: dict[str, Any]) -> None:
    """Check ``body`` against the schema of its wire format (chosen by its shape, not by a name)."""
    if "contents" in body:
        assert_valid_request(body)
    elif "instances" in body:  # PaLM's :predict
        assert_valid_request(body, "GoogleCloudAiplatformV1PredictRequest")
    elif "anthropic_version" in body:
        assert_valid_anthropic_request(body, sampling=bool(caps.get("sampling_params")))
    else:
        assert_valid_openai_request(body)


@pytest.mark.parametrize(("name", "effort"), chat_cases())
def test_every_entry_builds_a_valid_body_for_each_thinking_level(name: str, effort: str | None) -> None:
    kwargs: dict[str, Any] = {"model": f"vertex_ai/{name}", "messages": HI, **BASE}
    if effort is not None:
        kwargs["reasoning_effort"] = effort
    if name.startswith("openai/") and not name.startswith("openai/gpt-oss") and not name[7:].isdigit():
        kwargs.update(model=name, api_key="k")
    caps = default_registry().resolve(kwargs["model"], "chat").capabilities
    try:
        call = prepare("chat", kwargs)
    except BadRequestError as exc:
        # Gemini's level table lists every level; a model supports only its own thinking_levels.
        assert "supports thinking levels" in exc.message, exc.message
        assert effort is not None and effort.upper() not in caps["thinking_levels"]
        return
    assert isinstance(call.body, dict)
    validate(call.body, caps)


def test_the_issue_examples_resolve_to_current_capabilities() -> None:
    call = prepare(
        "chat", {"model": "vertex_ai/gemini-3.5-flash", "messages": HI, "reasoning_effort": "low", **BASE}
    )
    assert call.body["generationConfig"]["thinkingConfig"] == {
        "thinkingLevel": "LOW",
        "includeThoughts": True,
    }
    assert_valid_request(call.body)
    # A Gemini released after this catalogue gets the newest generation's defaults (level thinking, JSON Schema).
    newer = default_registry().resolve("vertex_ai/gemini-9.9-flash", "chat").capabilities
    assert newer["thinking"] == "level" and newer["json_schema"] is True
    newest_claude = default_registry().resolve("vertex_ai/claude-opus-9", "chat").capabilities
    assert newest_claude["thinking"] == "adaptive_always" and newest_claude["sampling_params"] is False


@pytest.mark.parametrize(
    ("model", "kwargs", "param"),
    [
        ("claude-opus-5-5", {"temperature": 0.2}, "temperature"),
        ("claude-sonnet-5", {"top_p": 0.9}, "top_p"),
        ("claude-opus-5-5", {"tool_choice": "required"}, "tool_choice"),
        (
            "claude-sonnet-5-5",
            {"tool_choice": {"type": "function", "function": {"name": "f"}}},
            "tool_choice",
        ),
        ("claude-fable-5-1", {"reasoning_effort": "none"}, "reasoning_effort"),
        ("claude-opus-4-6", {"reasoning_effort": "xhigh"}, "reasoning_effort"),
        ("gemini-3.5-flash", {"presence_penalty": 0.5}, "presence_penalty"),
        ("deepseek-ai/deepseek-v3.1-maas", {"reasoning_effort": "low"}, "reasoning_effort"),
    ],
)
def test_refused_parameters_name_themselves_and_the_model_and_drop(
    model: str, kwargs: dict[str, Any], param: str
) -> None:
    if "tool_choice" in kwargs:
        kwargs = {
            **kwargs,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        }
    call_kwargs = {"model": f"vertex_ai/{model}", "messages": HI, **BASE, **kwargs}
    with pytest.raises(UnsupportedParamsError) as info:
        prepare("chat", call_kwargs)
    assert info.value.param == param and model in info.value.message
    body = prepare("chat", {**call_kwargs, "drop_params": True}).body
    assert param not in json.dumps(body) or param == "tool_choice" and "tool_choice" not in body


def test_older_models_keep_what_they_accept() -> None:
    body = prepare(
        "chat", {"model": "vertex_ai/claude-opus-4-6", "messages": HI, "temperature": 0.3, **BASE}
    ).body
    assert body["temperature"] == 0.3
    assert_valid_anthropic_request(body, sampling=True)
    body = prepare(
        "chat", {"model": "vertex_ai/claude-sonnet-4-5", "messages": HI, "reasoning_effort": "low", **BASE}
    ).body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    body = prepare(
        "chat", {"model": "vertex_ai/claude-sonnet-5-5", "messages": HI, "reasoning_effort": "none", **BASE}
    ).body
    assert body["thinking"] == {"type": "between_tools"}


def test_golden_adaptive_thinking_request_is_anthropics_published_one() -> None:
    published = load("partners/anthropic_adaptive_effort_request.json")["body"]
    call = prepare(
        "chat",
        {
            "model": "vertex_ai/claude-sonnet-4-6",
            "messages": HI,
            "reasoning_effort": "high",
            "max_tokens": 16000,
            **BASE,
        },
    )
    expected = {k: v for k, v in published.items() if k != "model"}
    assert call.body == {"anthropic_version": "vertex-2023-10-16", "messages": HI, **expected}
    # Sonnet 4.5 and later default to Google's global endpoint for Claude.
    assert call.url == (
        "https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/anthropic/models/claude-sonnet-4-6:rawPredict"
    )


def test_golden_maas_call_and_normalized_reply() -> None:
    call = prepare("chat", {"model": "vertex_ai/deepseek-ai/deepseek-v3.1-maas", "messages": HI, **BASE})
    assert call.url == (
        # DeepSeek-V3.1 is served in us-west2 (Google's DeepSeek page, "region availability"; cited in maas.yaml)
        "https://us-west2-aiplatform.googleapis.com/v1/projects/p/locations/us-west2/endpoints/openapi/chat/completions"
    )
    assert call.body == {"model": "deepseek-ai/deepseek-v3.1-maas", "messages": HI}
    reply = load("openai_compat/chat_completion.json")["body"]
    resp = build_chat(call.op.response, reply, call.model)
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == "Hello! How can I assist you today?"
    assert resp.usage.total_tokens == 29


def test_openai_prefix_rule() -> None:
    reg = default_registry()
    assert reg.resolve("vertex_ai/openai/5464397967697903616", "chat").family.name == "model_garden"
    assert reg.resolve("vertex_ai/openai/gpt-oss-120b-maas", "chat").family.name == "maas"
    assert reg.resolve("openai/fake", "chat").family.name == "openai"
    gpt_oss = prepare("chat", {"model": "vertex_ai/openai/gpt-oss-120b-maas", "messages": HI, **BASE})
    assert gpt_oss.url.endswith("/endpoints/openapi/chat/completions")
    assert gpt_oss.body["model"] == "openai/gpt-oss-120b-maas"
    garden = prepare("chat", {"model": "vertex_ai/openai/5464397967697903616", "messages": HI, **BASE})
    assert (
        garden.url.endswith("/endpoints/5464397967697903616/chat/completions") and "model" not in garden.body
    )


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("us", "https://aiplatform.us.rep.googleapis.com"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com"),
        ("global", "https://aiplatform.googleapis.com"),
        ("europe-west4", "https://europe-west4-aiplatform.googleapis.com"),
    ],
)
def test_regional_global_and_multi_region_hosts(location: str, host: str) -> None:
    call = prepare(
        "chat", {"model": "vertex_ai/gemini-3.5-flash", "messages": HI, "vertex_location": location, **BASE}
    )
    assert (
        call.url
        == f"{host}/v1/projects/p/locations/{location}/publishers/google/models/gemini-3.5-flash:generateContent"
    )


def test_location_defaults_and_models_served_only_somewhere() -> None:
    assert (
        "/locations/us-central1/"
        in prepare("chat", {"model": "vertex_ai/gemini-3.5-flash", "messages": HI, **BASE}).url
    )
    assert (
        "/locations/global/"
        in prepare(
            "chat", {"model": "vertex_ai/moonshotai/kimi-k2-thinking-maas", "messages": HI, **BASE}
        ).url
    )
    with pytest.raises(BadRequestError) as info:
        prepare(
            "chat",
            {
                "model": "vertex_ai/gemini-3.1-pro-preview",
                "messages": HI,
                "vertex_location": "us-central1",
                **BASE,
            },
        )
    assert info.value.param == "vertex_location" and "global" in info.value.message
    assert "gemini-3.1-pro-preview" in info.value.message


@pytest.mark.parametrize(
    ("operation", "params", "path"),
    [
        ("chat", {"messages": HI}, "/endpoints/4965075652664360960:generateContent"),
        ("embedding", {"input": "hi"}, "/endpoints/4965075652664360960:predict"),
        ("image_generation", {"prompt": "a cat"}, "/endpoints/4965075652664360960:predict"),
    ],
)
def test_numeric_endpoint_ids_serve_chat_embeddings_and_images(
    operation: str, params: dict[str, Any], path: str
) -> None:
    call = prepare(operation, {"model": "vertex_ai/4965075652664360960", **params, **BASE})
    assert call.url.endswith(path)


def test_retired_models_stay_callable_and_warn_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_module, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="vertexlate"):
        for _ in range(3):
            prepare("chat", {"model": "vertex_ai/gemini-2.0-flash", "messages": HI, **BASE})
        prepare("chat", {"model": "vertex_ai/gemini-3.5-flash", "messages": HI, **BASE})
    warnings = [r.getMessage() for r in caplog.records if "retired" in r.getMessage()]
    assert len(warnings) == 1 and "gemini-2.0-flash" in warnings[0] and "February 5, 2026" in warnings[0]


def test_plain_openai_compatible_upstream_uses_its_api_key() -> None:
    with OpenAIUpstream("fake-key") as up:
        resp = engine.completion(model="openai/fake", messages=HI, api_key="fake-key", api_base=up.url + "/")
        assert_chat_completion(resp)
        assert resp.choices[0].message.content == "Echo: hi"
        chunks = list(
            engine.completion(
                model="openai/fake",
                messages=HI,
                api_key="fake-key",
                api_base=up.url,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        for chunk in chunks:
            assert_chat_chunk(chunk)
        assert "".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices) == "Echo: hi"
        with pytest.raises(engine.AuthenticationError):
            engine.completion(model="openai/fake", messages=HI, api_key="wrong", api_base=up.url)
        embedded = engine.embedding(
            model="openai/embed-small", input=["a", "b"], api_key="fake-key", api_base=up.url
        )
        assert_embedding_response(embedded)
        assert [d.embedding[2] for d in embedded.data] == [0.0, 1.0]
    assert up.requests[-1]["body"] == {"model": "embed-small", "input": ["a", "b"]}
    first = up.requests[0]
    assert first["headers"]["authorization"] == "Bearer fake-key"
    assert first["body"] == {"model": "fake", "messages": HI}
    assert_valid_openai_request(first["body"])


def test_newest_claude_end_to_end_and_the_emulator_refuses_what_anthropic_refuses(
    emulator: Any, vx: dict[str, Any]
) -> None:
    resp = engine.completion(model="vertex_ai/claude-opus-5-5", messages=HI, reasoning_effort="high", **vx)
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == "Echo: hi" and resp.choices[0].message.reasoning_content
    (logged,) = emulator.requests("claude-opus-5-5")
    assert logged["path"].endswith("/publishers/anthropic/models/claude-opus-5-5:rawPredict")
    assert logged["body"]["output_config"] == {"effort": "high"}
    budget = {"type": "enabled", "budget_tokens": 2048}
    # The spec refuses a thinking type the model does not take, before the call ...
    with pytest.raises(engine.UnsupportedParamsError) as info:
        engine.completion(model="vertex_ai/claude-opus-5-5", messages=HI, thinking=budget, **vx)
    assert info.value.param == "thinking" and "adaptive" in info.value.message
    # ... and the emulator answers a body that carries one anyway as Anthropic does.
    with pytest.raises(engine.BadRequestError, match="thinking.type.enabled"):
        engine.completion(
            model="vertex_ai/claude-opus-5-5", messages=HI, extra_body={"thinking": budget}, **vx
        )
    with pytest.raises(engine.BadRequestError, match="temperature"):
        engine.completion(
            model="vertex_ai/claude-opus-5-5", messages=HI, extra_body={"temperature": 0.5}, **vx
        )
    # Models that take budget thinking still get it through.
    older = engine.completion(model="vertex_ai/claude-sonnet-4-5", messages=HI, thinking=budget, **vx)
    assert older.choices[0].message.reasoning_content


@pytest.mark.parametrize(
    "model",
    [
        "qwen/qwen3-coder-480b-a35b-instruct-maas",
        "openai/gpt-oss-120b-maas",
        "zai-org/glm-5-maas",
        "xai/grok-4.20-reasoning",
        "deepseek-ai/deepseek-v4.1-flash-maas",
    ],
)
def test_maas_partners_answer_in_openai_format(emulator: Any, vx: dict[str, Any], model: str) -> None:
    vx = {k: v for k, v in vx.items() if k != "vertex_location"}  # each model's documented default location
    emulator.script(model, [{"function_calls": [{"name": "lookup", "args": {"q": "x"}}]}])
    resp = engine.completion(model=f"vertex_ai/{model}", messages=HI, **vx)
    assert_chat_completion(resp)
    assert json.loads(resp.choices[0].message.tool_calls[0].function.arguments) == {"q": "x"}
    chunks = list(engine.completion(model=f"vertex_ai/{model}", messages=HI, stream=True, **vx))
    assert "".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices) == "Echo: hi"
    unary, streamed = emulator.requests(model)
    assert unary["path"].endswith("/endpoints/openapi/chat/completions") and unary["body"]["model"] == model
    assert streamed["body"]["stream"] is True


def test_emulator_answers_current_gemini_models_as_vertex_does(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.completion(model="vertex_ai/gemini-3.8-flash", messages=HI, reasoning_effort="medium", **vx)
    assert_chat_completion(resp)
    logged = emulator.requests("gemini-3.8-flash")[-1]
    assert logged["body"]["generationConfig"]["thinkingConfig"]["thinkingLevel"] == "MEDIUM"
    # Penalties reach Vertex only through extra_body here (the spec refuses them first); Vertex says no.
    with pytest.raises(engine.BadRequestError, match="Penalty is not enabled"):
        engine.completion(
            model="vertex_ai/gemini-3.8-flash",
            messages=HI,
            extra_body={"generationConfig": {"presencePenalty": 1}},
            **vx,
        )


def test_golden_gemini_3_thinking_reply_normalizes() -> None:
    call = prepare(
        "chat", {"model": "vertex_ai/gemini-3.8-flash", "messages": HI, "reasoning_effort": "high", **BASE}
    )
    assert call.url == (
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/"
        "gemini-3.8-flash:generateContent"
    )
    assert call.body == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingLevel": "HIGH", "includeThoughts": True}},
    }
    published = load("gemini/generate_content_thinking.json")[
        "body"
    ]  # a recorded Vertex thought-summary reply
    resp = build_chat(call.op.response, published, call.model)
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == "Mountain View"
    assert resp.choices[0].message.reasoning_content.startswith("Right, someone needs the city")


def test_golden_current_mistral_model_body_is_mistrals_published_one() -> None:
    published = load("partners/mistral_vertex_chat_request.json")["body"]
    messages = published["messages"]
    call = prepare(
        "chat", {"model": "vertex_ai/mistral-medium-3", "messages": messages, "temperature": 0, **BASE}
    )
    assert call.url.endswith("/publishers/mistralai/models/mistral-medium-3:rawPredict")
    assert call.body == {**{k: v for k, v in published.items() if k != "stream"}, "model": "mistral-medium-3"}


def test_gemini_tts_through_cloud_text_to_speech(emulator: Any, vx: dict[str, Any]) -> None:
    call = prepare(
        "speech",
        {"model": "vertex_ai/gemini-2.5-flash-tts", "input": "Congratulations!", "voice": "Kore", **BASE},
    )
    assert call.url == "https://texttospeech.googleapis.com/v1/text:synthesize"
    assert call.body["voice"] == {
        "modelName": "gemini-2.5-flash-tts",
        "languageCode": "en-US",
        "name": "Kore",
    }
    assert_valid_request(call.body, "SynthesizeSpeechRequest", "texttospeech.v1")
    resp = engine.speech(model="vertex_ai/gemini-2.5-pro-tts", input="hi", voice="Aoede", **vx)
    assert resp.content
    (logged,) = [r for r in emulator.requests() if r["path"].endswith("text:synthesize")]
    assert logged["body"]["voice"]["modelName"] == "gemini-2.5-pro-tts"


def test_two_numeric_endpoint_patterns_for_one_operation_are_refused(tmp_path: Any) -> None:
    (tmp_path / "dup.yaml").write_text(
        "name: dup\nextends: model_garden\nmodels:\n  - name: '{eid:[0-9]+}'\n    vars: {endpoint: 'x'}\n",
        encoding="utf-8",
    )
    with pytest.raises(engine.SpecError, match="can claim the same names for chat"):
        registry_module.Registry([tmp_path])


# Locations and ids as Google's publisher pages give them (each cited in specs/maas.yaml).
@pytest.mark.parametrize(
    ("model", "location"),
    [
        ("deepseek-ai/deepseek-v4.1-flash-maas", "global"),
        ("deepseek-ai/deepseek-r1-0528-maas", "us-central1"),
        ("qwen/qwen3-next-80b-a3b-instruct-maas", "global"),
        ("openai/gpt-oss-120b-maas", "global"),
        ("openai/gpt-oss-20b-maas", "us-central1"),
        ("zai-org/glm-5.2-maas", "global"),
        ("minimaxai/minimax-m2-maas", "global"),
        ("google/gemma-4-26b-a4b-it-maas", "global"),
        ("xai/grok-4.20-reasoning", "global"),
        ("xai/grok-4.20-non-reasoning", "global"),
    ],
)
def test_maas_default_locations_from_googles_pages(model: str, location: str) -> None:
    call = prepare("chat", {"model": f"vertex_ai/{model}", "messages": HI, **BASE})
    assert f"/locations/{location}/endpoints/openapi/chat/completions" in call.url
    assert call.body["model"] == model


def test_grok_is_served_on_the_global_endpoint_only() -> None:
    with pytest.raises(BadRequestError, match="only in global"):
        prepare(
            "chat",
            {
                "model": "vertex_ai/xai/grok-4.20-reasoning",
                "messages": HI,
                "vertex_location": "us-central1",
                **BASE,
            },
        )
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "gs://b/cat.png"}}]}]
    call = prepare(
        "chat", {"model": "vertex_ai/xai/grok-4.7", "messages": image, **BASE}
    )  # the xai/* pattern
    assert call.url.startswith("https://aiplatform.googleapis.com/") and call.body["model"] == "xai/grok-4.7"
