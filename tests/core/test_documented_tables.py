"""The specs' value tables and bounds against the providers' documentation, written out here by hand.

A test that reads its expectation from the spec cannot notice the spec changing; these tables are
typed in from the sources, so a swapped map value or a moved bound (tools/mutation.py --specs)
fails here. Sources:

- Gemini ``finishReason`` values: the Vertex AI v1 discovery document (``GoogleCloudAiplatformV1Candidate``),
  shipped in google-api-python-client; OpenAI's finish reasons: the ``openai`` package's types.
- Anthropic ``stop_reason`` values: platform.claude.com/docs/en/build-with-claude/handling-stop-reasons.
- Batch ``JobState``: the discovery document (``GoogleCloudAiplatformV1BatchPredictionJob.state``); OpenAI's
  batch statuses: ``openai.types.Batch.status``.
- Ranges: Anthropic Messages API reference (``temperature`` and ``top_p`` 0.0–1.0); Vertex AI
  ``GenerationConfig`` reference (Gemini ``temperature`` 0.0–2.0, ``topP`` 0.0–1.0).
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import googleapiclient
import openai.types
import openai.types.chat.chat_completion as chat_types
import pytest

import engine
from engine.errors import BadRequestError
from engine.registry import default_registry
from engine.response import BUILDERS, build_chat, build_object

DISCOVERY = json.loads(
    (
        Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "aiplatform.v1.json"
    ).read_text()
)
OPENAI_FINISH = set(typing.get_args(chat_types.Choice.model_fields["finish_reason"].annotation))
OPENAI_BATCH_STATUS = set(typing.get_args(openai.types.Batch.model_fields["status"].annotation))

GEMINI = "gemini-2.5-flash"
CLAUDE = "claude-sonnet-4@20250514"

GEMINI_FINISH = {
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
}
ANTHROPIC_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
    "model_context_window_exceeded": "length",
}
BATCH_STATUS = {
    "JOB_STATE_QUEUED": "validating",
    "JOB_STATE_PENDING": "validating",
    "JOB_STATE_RUNNING": "in_progress",
    "JOB_STATE_SUCCEEDED": "completed",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "completed",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_CANCELLING": "cancelling",
    "JOB_STATE_CANCELLED": "cancelled",
    "JOB_STATE_EXPIRED": "expired",
}


def _response_spec(model: str, operation: str) -> Any:
    return default_registry().resolve(model, operation).family.operations[operation].response


def _gemini_reason(value: str) -> str:
    body = {
        "candidates": [
            {"index": 0, "content": {"role": "model", "parts": [{"text": "x"}]}, "finishReason": value}
        ]
    }
    return build_chat(_response_spec(GEMINI, "chat"), body, GEMINI).choices[0].finish_reason


def _claude_reason(value: str) -> str:
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [{"type": "text", "text": "x"}],
        "stop_reason": value,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    return build_chat(_response_spec(CLAUDE, "chat"), body, CLAUDE).choices[0].finish_reason


@pytest.mark.parametrize(("value", "expected"), GEMINI_FINISH.items())
def test_gemini_finish_reasons(value: str, expected: str) -> None:
    assert _gemini_reason(value) == expected


@pytest.mark.parametrize(
    "value", DISCOVERY["schemas"]["GoogleCloudAiplatformV1Candidate"]["properties"]["finishReason"]["enum"]
)
def test_every_documented_gemini_finish_reason_is_an_openai_one(value: str) -> None:
    assert _gemini_reason(value) in OPENAI_FINISH


@pytest.mark.parametrize(("value", "expected"), ANTHROPIC_STOP.items())
def test_anthropic_stop_reasons(value: str, expected: str) -> None:
    assert _claude_reason(value) == expected


@pytest.mark.parametrize(("state", "expected"), BATCH_STATUS.items())
def test_batch_states(state: str, expected: str) -> None:
    spec = _response_spec("vertex_ai/", "retrieve_batch")
    body = {
        "name": "projects/p/locations/l/batchPredictionJobs/123",
        "state": state,
        "createTime": "2026-01-01T00:00:00Z",
    }
    batch = BUILDERS.get("retrieve_batch", build_object)(spec, body, "vertex_ai/")
    assert batch["status"] == expected
    assert expected in OPENAI_BATCH_STATUS


def test_every_documented_job_state_is_an_openai_batch_status() -> None:
    spec = _response_spec("vertex_ai/", "retrieve_batch")
    for state in DISCOVERY["schemas"]["GoogleCloudAiplatformV1BatchPredictionJob"]["properties"]["state"][
        "enum"
    ]:
        body = {"name": "projects/p/locations/l/batchPredictionJobs/1", "state": state}
        assert (
            BUILDERS.get("retrieve_batch", build_object)(spec, body, "vertex_ai/")["status"]
            in OPENAI_BATCH_STATUS
        )


# (model, parameter, lowest accepted, highest accepted): one step past either end is refused.
RANGES = [
    (f"vertex_ai/{CLAUDE}", "temperature", 0.0, 1.0),
    (f"vertex_ai/{CLAUDE}", "top_p", 0.0, 1.0),
    (f"vertex_ai/{GEMINI}", "temperature", 0.0, 2.0),
    (f"vertex_ai/{GEMINI}", "top_p", 0.0, 1.0),
]


@pytest.mark.parametrize(("model", "param", "low", "high"), RANGES)
def test_documented_ranges_are_enforced_exactly(
    vx: dict[str, Any], emulator: Any, model: str, param: str, low: float, high: float
) -> None:
    hello = [{"role": "user", "content": "hi"}]
    for value in (low, high):
        engine.completion(model=model, messages=hello, **{param: value}, **vx)
    for value in (low - 0.01, high + 0.01):
        with pytest.raises(BadRequestError, match=param):
            engine.completion(model=model, messages=hello, **{param: value}, **vx)
