"""Every bound and every scalar value table of the specs, written out here: a moved bound or a swapped
map value fails (tools/mutation.py --specs, "maps and bounds").

A test that reads its expectation from the spec cannot notice the spec changing. The figures below
were copied from the specs on 2026-12-01 and checked against the sources each spec cites (OpenAI's
and Anthropic's API references, the Vertex AI ``GenerationConfig`` and discovery document, Mistral's
API reference); ``tests/core/test_documented_tables.py`` ties the main ones to the documents
themselves. A deliberate change to a spec table changes this file in the same commit.

The bounds are exercised through ``engine.request.check_value`` (what ``build_body`` applies): the
bound itself is accepted, one step past it refused. The tables are exercised through the compiled
extractor (response values) or ``check_value`` (request values).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from engine.compiler import Extractor, Param
from engine.errors import BadRequestError
from engine.registry import default_registry
from engine.request import check_value

# ----------------------------------------------------------------------------------- bounds

# OpenAI's chat ranges (platform.openai.com/docs/api-reference/chat/create), which the OpenAI-compatible
# families inherit from specs/openai_compat.yaml.
_OPENAI_CHAT = {
    "chat.frequency_penalty": (-2, 2),
    "chat.presence_penalty": (-2, 2),
    "chat.max_completion_tokens": (1, None),
    "chat.max_tokens": (1, None),
    "chat.n": (1, None),
    "chat.temperature": (0, 2),
    "chat.top_logprobs": (0, 20),
    "chat.top_p": (0, 1),
}
_ANTHROPIC = {  # docs.anthropic.com/en/api/messages: temperature and top_p 0.0-1.0, top_k >= 0
    "max_tokens": (1, None),
    "temperature": (0, 1),
    "top_k": (0, None),
    "top_p": (0, 1),
}
_PALM = {  # PaLM 2 on Vertex AI: temperature 0-1, topK 1-40, candidateCount 1-8
    "frequency_penalty": (-2, 2),
    "max_tokens": (1, None),
    "n": (1, 8),
    "presence_penalty": (-2, 2),
    "temperature": (0, 1),
    "top_k": (1, 40),
    "top_p": (0, 1),
}
_LIST_LIMIT = (1, 100)  # OpenAI's list endpoints: limit 1-100

BOUNDS: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "ai21": {
        "chat.max_completion_tokens": (1, None),
        "chat.max_tokens": (1, None),
        "chat.n": (1, 16),
        "chat.temperature": (0, 2),
        "chat.top_p": (0, 1),
    },
    "anthropic": {
        **{f"anthropic_messages.{k}": v for k, v in _ANTHROPIC.items()},
        **{f"chat.{k}": v for k, v in _ANTHROPIC.items()},
        "chat.max_completion_tokens": (1, None),
    },
    "batches": {"list_batches.limit": _LIST_LIMIT},
    "cached_content": {"list_cached_contents.limit": _LIST_LIMIT},
    "embeddings": {"embedding.dimensions": (1, None), "embedding.output_dimensionality": (1, None)},
    "fine_tuning": {
        "create_fine_tuning_job.hyperparameters.learning_rate_multiplier": (0, None),
        "create_fine_tuning_job.hyperparameters.n_epochs": (1, None),
        "list_fine_tuning_jobs.limit": _LIST_LIMIT,
    },
    "gemini": {  # Vertex AI GenerationConfig: candidateCount 1-8, topK >= 1, logprobs 0-20
        **_OPENAI_CHAT,
        "chat.n": (1, 8),
        "chat.top_k": (1, None),
        "image_generation.n": (1, None),
    },
    "imagen": {"image_generation.n": (1, None)},
    "llama": dict(_OPENAI_CHAT),
    "maas": dict(_OPENAI_CHAT),
    "mistral": {
        **{k: v for k, v in _OPENAI_CHAT.items() if k != "chat.top_logprobs"},
        # Mistral's FIM endpoint (docs.mistral.ai/api): temperature 0-1.5, min_tokens >= 0
        "text_completion.max_tokens": (1, None),
        "text_completion.min_tokens": (0, None),
        "text_completion.temperature": (0, 1.5),
        "text_completion.top_p": (0, 1),
    },
    "model_garden": {**_OPENAI_CHAT, "embedding.dimensions": (1, None)},
    "openai": {**_OPENAI_CHAT, "embedding.dimensions": (1, None)},
    "palm": {
        **{f"chat.{k}": v for k, v in _PALM.items()},
        "chat.max_completion_tokens": (1, None),
        **{f"text_completion.{k}": v for k, v in _PALM.items()},
    },
    "speech": {"speech.speed": (0.25, 2.0)},  # Cloud TTS speakingRate 0.25-2.0
}


def _walk(obj: Any, path: str, seen: set[int]) -> Any:
    """Every (path, Param or Extractor) inside a compiled operation."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, (Param, Extractor)):
        yield path, obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for field in dataclasses.fields(obj):
            yield from _walk(getattr(obj, field.name), f"{path}.{field.name}", seen)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _walk(value, f"{path}.{key}", seen)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _walk(value, f"{path}[{i}]", seen)


def _compiled() -> dict[str, dict[str, Param | Extractor]]:
    found: dict[str, dict[str, Param | Extractor]] = {}
    for family in default_registry().families:
        for name, op in family.operations.items():
            for path, item in _walk(op, name, set()):
                found.setdefault(family.name, {})[path.replace(".params.", ".", 1)] = item
    return found


COMPILED = _compiled()


def _bounded() -> dict[str, dict[str, Param]]:
    return {
        family: {
            path: item
            for path, item in items.items()
            if isinstance(item, Param) and (item.min is not None or item.max is not None)
        }
        for family, items in COMPILED.items()
    }


def test_every_bound_in_the_specs_is_written_out_here() -> None:
    actual = {
        family: {path: (p.min, p.max) for path, p in params.items()}
        for family, params in _bounded().items()
        if params
    }
    assert actual == BOUNDS


CASES = [(family, path, low, high) for family, rows in BOUNDS.items() for path, (low, high) in rows.items()]


@pytest.mark.parametrize(("family", "path", "low", "high"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_bounds_are_applied_exactly(family: str, path: str, low: float | None, high: float | None) -> None:
    param = COMPILED[family][path]
    assert isinstance(param, Param)
    step = 1 if param.type == "integer" else 0.01
    for inside in (low, high):
        if inside is not None:
            assert check_value(param, inside, {}, "m") == inside
    for outside in (
        None if low is None else low - step,
        None if high is None else high + step,
    ):
        if outside is not None:
            with pytest.raises(BadRequestError, match=param.name):
                check_value(param, outside, {}, "m")


# ----------------------------------------------------------------------------------- value tables

_OPENAI_FINISH = {  # OpenAI-compatible upstreams' finish reasons onto OpenAI's five
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "function_call": "tool_calls",
    "model_length": "length",
    "eos": "stop",
}
_ANTHROPIC_STOP = {  # docs.anthropic.com/en/docs/build-with-claude/handling-stop-reasons
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
    "model_context_window_exceeded": "length",
}
_GEMINI_FINISH = {  # Vertex AI v1 Candidate.finishReason
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "FINISH_REASON_UNSPECIFIED": "stop",
    "OTHER": "stop",
    "MALFORMED_FUNCTION_CALL": "stop",
    "UNEXPECTED_TOOL_CALL": "stop",
    "TOO_MANY_TOOL_CALLS": "stop",
    "MALFORMED_RESPONSE": "stop",
    "CONTINUATION": "length",
    "IMAGE_OTHER": "stop",
    "NO_IMAGE": "stop",
}
_BATCH_STATUS = {  # Vertex AI JobState onto OpenAI's Batch.status
    "JOB_STATE_UNSPECIFIED": "validating",
    "JOB_STATE_QUEUED": "validating",
    "JOB_STATE_PENDING": "validating",
    "JOB_STATE_RUNNING": "in_progress",
    "JOB_STATE_UPDATING": "in_progress",
    "JOB_STATE_PAUSED": "in_progress",
    "JOB_STATE_SUCCEEDED": "completed",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "completed",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_CANCELLING": "cancelling",
    "JOB_STATE_CANCELLED": "cancelled",
    "JOB_STATE_EXPIRED": "expired",
}
_TUNING_STATUS = {  # Vertex AI JobState onto OpenAI's FineTuningJob.status
    "JOB_STATE_UNSPECIFIED": "queued",
    "JOB_STATE_QUEUED": "queued",
    "JOB_STATE_PENDING": "queued",
    "JOB_STATE_RUNNING": "running",
    "JOB_STATE_UPDATING": "running",
    "JOB_STATE_PAUSED": "running",
    "JOB_STATE_SUCCEEDED": "succeeded",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "succeeded",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_EXPIRED": "failed",
    "JOB_STATE_CANCELLING": "cancelled",
    "JOB_STATE_CANCELLED": "cancelled",
}
_ADAPTER_SIZES = {"ONE": 1, "TWO": 2, "FOUR": 4, "EIGHT": 8, "SIXTEEN": 16, "THIRTY_TWO": 32}
_SIZES = {  # OpenAI image sizes onto Vertex AI aspect ratios
    "256x256": "1:1",
    "512x512": "1:1",
    "1024x1024": "1:1",
    "1792x1024": "16:9",
    "1024x1792": "9:16",
    "auto": None,
}
_OPENAI_COMPAT_TABLES = {
    "chat.response.choices.fields.finish_reason": _OPENAI_FINISH,
    "chat.stream.chunk.choices.fields.finish_reason": _OPENAI_FINISH,
}
_MISTRAL_FIM_FINISH = {"stop": "stop", "length": "length", "model_length": "length"}

TABLES: dict[str, dict[str, dict[Any, Any]]] = {
    "ai21": _OPENAI_COMPAT_TABLES,
    "anthropic": {
        "chat.parallel_tool_calls": {True: False, False: True},  # -> tool_choice.disable_parallel_tool_use
        "chat.response.choices.fields.finish_reason": _ANTHROPIC_STOP,
        "chat.stream.events.message_delta.choices.fields.finish_reason": _ANTHROPIC_STOP,
        # docs.anthropic.com/en/api/errors: an in-stream error's type -> the HTTP status it stands for
        "chat.stream.error_status": {
            "invalid_request_error": 400,
            "authentication_error": 401,
            "permission_error": 403,
            "not_found_error": 404,
            "request_too_large": 413,
            "rate_limit_error": 429,
            "api_error": 500,
            "overloaded_error": 529,
        },
    },
    "batches": {
        "create_batch.response.fields.status": _BATCH_STATUS,
        "list_batches.response.data.fields.status": _BATCH_STATUS,
        "retrieve_batch.response.fields.status": _BATCH_STATUS,
    },
    "fine_tuning": {
        "create_fine_tuning_job.hyperparameters.adapter_size": {
            **{f"ADAPTER_SIZE_{k}": f"ADAPTER_SIZE_{k}" for k in _ADAPTER_SIZES},
            **{n: f"ADAPTER_SIZE_{k}" for k, n in _ADAPTER_SIZES.items()},
        },
        "create_fine_tuning_job.response.fields.status": _TUNING_STATUS,
        "list_fine_tuning_jobs.response.data.fields.status": _TUNING_STATUS,
        "retrieve_fine_tuning_job.response.fields.status": _TUNING_STATUS,
    },
    "gemini": {
        "chat.media_resolution": {
            **{k: f"MEDIA_RESOLUTION_{k.upper()}" for k in ("low", "medium", "high")},
            **{f"MEDIA_RESOLUTION_{k}": f"MEDIA_RESOLUTION_{k}" for k in ("LOW", "MEDIUM", "HIGH")},
        },
        "chat.reasoning_effort@none": {"none": None, "disable": None},
        "chat.response.choices.fields.finish_reason": _GEMINI_FINISH,
        "image_generation.size": {**_SIZES, "1536x1024": "3:2", "1024x1536": "2:3"},
    },
    # specs/gemini_tts.yaml: for models whose speech_output is pcm, wav and pcm both map to null
    # (no generationConfig.responseFormat sent).
    "gemini_tts": {"speech.response_format@pcm": {"pcm": None, "wav": None}},
    "imagen": {
        "image_generation.size": {
            **_SIZES,
            "1536x1024": "4:3",
            "1024x1536": "3:4",
            **{r: r for r in ("1:1", "3:4", "4:3", "9:16", "16:9")},
        },
    },
    "llama": _OPENAI_COMPAT_TABLES,
    "maas": {
        "chat.reasoning_effort@always": {"low": "low", "medium": "medium", "high": "high"},
        **_OPENAI_COMPAT_TABLES,
    },
    "mistral": {
        **_OPENAI_COMPAT_TABLES,
        "text_completion.response.choices.fields.finish_reason": _MISTRAL_FIM_FINISH,
        "text_completion.stream.chunk.choices.fields.finish_reason": _MISTRAL_FIM_FINISH,
    },
    "model_garden": _OPENAI_COMPAT_TABLES,
    "openai": _OPENAI_COMPAT_TABLES,
}


def _scalar_tables() -> dict[str, dict[str, dict[Any, Any]]]:
    """The compiled tables whose values are scalars (what the mutator swaps), by family and path."""
    found: dict[str, dict[str, dict[Any, Any]]] = {}
    for family, items in COMPILED.items():
        for path, item in items.items():
            tables = {path: item.table} if item.table is not None else {}
            if isinstance(item, Param) and item.maps:
                tables.update({f"{path}@{style}": table for style, table in item.maps.items()})
            for where, table in tables.items():
                if all(not isinstance(v, (dict, list)) for v in table.values()):
                    found.setdefault(family, {})[where] = table
    return found


def test_every_scalar_table_in_the_specs_is_written_out_here() -> None:
    assert _scalar_tables() == TABLES


TABLE_CASES = [(family, path) for family, rows in TABLES.items() for path in rows]


def _nest(path: str, value: Any) -> Any:
    for key in reversed(path.split(".")):
        value = {key: value}
    return value


@pytest.mark.parametrize(("family", "where"), TABLE_CASES, ids=[f"{f}:{p}" for f, p in TABLE_CASES])
def test_tables_translate_each_value(family: str, where: str) -> None:
    """Each upstream value comes out as the table above says, through the compiled code path."""
    path, _, style = where.partition("@")
    item = COMPILED[family][path]
    expected = TABLES[family][where]
    for key, value in expected.items():
        if isinstance(item, Extractor):
            simple = all(part.isidentifier() for part in item.path.expression.split("."))
            got = item(_nest(item.path.expression, key)) if simple else item.table.get(key, item.default)
        else:
            caps = {item.map_by: style} if style else {}
            got = check_value(item, key, caps, "m")
        assert got == value, (family, where, key)
