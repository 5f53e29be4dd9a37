"""The published examples that were only checked as files, fed to the engine or the emulator.

Sources: tests/fixtures/SOURCES.md (each fixture's ``source`` field).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import engine
from engine import errors
from engine.registry import default_registry
from engine.response import ChatStream, build_chat
from engine.transport import upstream_error
from tests.conformance import assert_chat_chunk, assert_chat_completion
from tests.fixtures.load import load

MODEL = "gemini-2.5-flash"


def _chat_op() -> Any:
    return default_registry().resolve(MODEL, "chat").family.operations["chat"]


def test_single_chunk_stream_normalizes_to_its_text_and_usage() -> None:
    events = load("gemini/generate_content_stream_single_chunk.json")["events"]
    spec = _chat_op().stream
    normalizer = ChatStream(spec.events, spec.chunk, spec.event_key, MODEL, True)
    chunks = [c for e in events for c in normalizer.feed(e)] + normalizer.finish()
    for chunk in chunks:
        assert_chat_chunk(chunk)
    text = "".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices)
    assert text == events[0]["candidates"][0]["content"]["parts"][0]["text"] == "Cheyenne"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    usage = [c.usage for c in chunks if c.get("usage")][-1]
    meta = events[0]["usageMetadata"]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        meta["promptTokenCount"],
        meta["candidatesTokenCount"],
        meta["totalTokenCount"],
    )


def test_prompt_blocked_with_only_a_message_is_a_content_filter_answer() -> None:
    """Empty ``candidates`` and a ``promptFeedback`` carrying only ``blockReasonMessage``."""
    body = load("gemini/generate_content_prompt_feedback_only.json")["body"]
    resp = build_chat(_chat_op().response, body, MODEL)
    assert_chat_completion(resp)
    assert [(c.finish_reason, c.message.content) for c in resp.choices] == [("content_filter", None)]
    assert resp._hidden_params["prompt_feedback"] == {"blockReasonMessage": "Message"}


def test_multiturn_messages_become_googles_published_contents(vx: dict[str, Any], emulator: Any) -> None:
    """OpenAI's user/assistant turns are sent exactly as Google's own multi-turn curl example."""
    published = load("gemini/request_multiturn.json")["body"]
    role = {"user": "user", "model": "assistant"}
    messages = [{"role": role[c["role"]], "content": c["parts"][0]["text"]} for c in published["contents"]]
    emulator.script(MODEL, [{"text": "First, introductions."}])
    engine.completion(model=f"vertex_ai/{MODEL}", messages=messages, **vx)
    sent = [r for r in emulator.requests() if r["path"].endswith(":generateContent")][-1]["body"]
    assert sent["contents"] == published["contents"]


def test_emulator_count_tokens_answers_in_the_published_shape(
    emulator: Any, service_account: dict[str, Any]
) -> None:
    """The emulator's ``:countTokens`` reply has the fields and types of Google's example response."""
    published = load("gemini/count_tokens.json")["body"]
    headers = {"authorization": f"Bearer {_token(service_account)}"}
    url = f"{emulator.url}/v1/projects/p/locations/us-central1/publishers/google/models/{MODEL}:countTokens"
    reply = httpx.post(
        url, headers=headers, json={"contents": [{"role": "user", "parts": [{"text": "Hello there"}]}]}
    )
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert set(data) == set(published)
    assert isinstance(data["totalTokens"], int) and data["totalTokens"] > 0
    assert isinstance(data["totalBillableCharacters"], int)
    assert [d["modality"] for d in data["promptTokensDetails"]] == ["TEXT"]
    assert data["promptTokensDetails"][0]["tokenCount"] == data["totalTokens"]


def _token(service_account: dict[str, Any]) -> str:
    """An access token from the emulator's OAuth endpoint, through google-auth's real flow."""
    import google.auth.transport.requests
    from google.oauth2 import service_account as sa

    creds = sa.Credentials.from_service_account_info(
        service_account, scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    creds.refresh(google.auth.transport.requests.Request())
    return creds.token


@pytest.mark.parametrize(
    ("fixture", "cls"),
    [
        ("errors/404_not_found.json", errors.NotFoundError),
        ("errors/403_service_disabled.json", errors.PermissionDeniedError),
        ("errors/403_permission_denied.json", errors.PermissionDeniedError),
    ],
)
def test_published_error_bodies_become_typed_errors(fixture: str, cls: type[errors.APIError]) -> None:
    body = load(fixture)["body"]
    family = default_registry().resolve(MODEL, "chat").family
    raw = json.dumps(body).encode()
    error = upstream_error(family.errors, body["error"]["code"], raw, {"x-request-id": "r-1"}, MODEL)
    assert type(error) is cls
    assert error.status_code == body["error"]["code"]
    assert error.code == body["error"]["status"]
    assert body["error"]["message"][:200] in error.message  # the provider's own words reach the caller
    assert error.model == MODEL and error.request_id == "r-1"
    assert error.to_openai_error()["error"]["message"] == error.message
