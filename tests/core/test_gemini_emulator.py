"""Gemini chat end to end: engine → real HTTP → emulator, with google-auth's real service-account flow.

Covers sync, async and streaming calls, scripted replies, every fault kind the emulator
can inject reaching the caller as a typed error, retries with Retry-After, and the
one-time token refresh after a 401.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

import engine
from tests.conformance import assert_chat_chunk, assert_chat_completion, assert_valid_request

MODEL = "vertex_ai/gemini-2.5-flash"
HELLO = [{"role": "user", "content": "Hello, how are you?"}]


def test_sync_call_reaches_the_emulator_with_a_valid_body(
    emulator: Any, vx: dict[str, Any], service_account: dict[str, Any]
) -> None:
    resp = engine.completion(model=MODEL, messages=HELLO, temperature=0.1, **vx)
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == "Echo: Hello, how are you?"
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    (logged,) = emulator.requests("gemini-2.5-flash")
    project = service_account["project_id"]
    assert (
        logged["path"]
        == f"/v1/projects/{project}/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    )
    assert logged["body"]["generationConfig"] == {"temperature": 0.1}
    assert_valid_request(logged["body"])


async def test_async_call(vx: dict[str, Any]) -> None:
    resp = await engine.acompletion(model=MODEL, messages=HELLO, **vx)
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == "Echo: Hello, how are you?"


def test_scripted_reply_and_hidden_params(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script("gemini-2.5-flash", [{"text": "Paris."}])
    resp = engine.completion(model=MODEL, messages=HELLO, **vx)
    assert resp.choices[0].message.content == "Paris."
    assert resp._hidden_params["response_id"] and resp._hidden_params["model_version"]
    assert resp._hidden_params["api_base"].startswith(vx["api_base"])


def test_stream_sync(vx: dict[str, Any]) -> None:
    chunks = list(
        engine.completion(
            model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True}, **vx
        )
    )
    for chunk in chunks:
        assert_chat_chunk(chunk)
    text = "".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices)
    assert text == "Echo: Hello, how are you?"
    assert chunks[-1].usage.total_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


async def test_stream_async(vx: dict[str, Any]) -> None:
    stream = await engine.acompletion(model=MODEL, messages=HELLO, stream=True, **vx)
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.get("content") or "" for c in chunks) == "Echo: Hello, how are you?"


def test_blocked_prompt_from_the_emulator(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script("gemini-2.5-flash", [{"block_reason": "SAFETY"}])
    resp = engine.completion(model=MODEL, messages=HELLO, **vx)
    assert resp.choices[0].finish_reason == "content_filter"
    assert resp.choices[0].message.content is None


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        ({"status": 429, "retry_after": 0}, engine.RateLimitError, 429),
        ({"status": 500}, engine.InternalServerError, 500),
        ({"status": 503}, engine.ServiceUnavailableError, 503),
        ({"status": 403}, engine.PermissionDeniedError, 403),
        ({"status": 400, "message": "Request contains an invalid argument."}, engine.BadRequestError, 400),
    ],
)
def test_faults_become_typed_errors(
    emulator: Any, vx: dict[str, Any], fault: dict[str, Any], error: type, status: int
) -> None:
    emulator.script("gemini-2.5-flash", [fault])
    with pytest.raises(error) as info:
        engine.completion(model=MODEL, messages=HELLO, **vx)
    err = info.value
    assert err.status_code == status and err.model == "gemini-2.5-flash" and err.llm_provider == "vertex_ai"
    assert f"Vertex AI returned {status}" in err.message
    assert err.to_openai_error()["error"]["message"] == err.message
    assert "private_key" not in str(err) and "Bearer" not in str(err)


def test_context_window_message_maps_to_its_own_error(emulator: Any, vx: dict[str, Any]) -> None:
    message = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
    emulator.script("gemini-2.5-flash", [{"status": 400, "message": message}])
    with pytest.raises(engine.ContextWindowExceededError, match="exceeds the maximum number of tokens"):
        engine.completion(model=MODEL, messages=HELLO, **vx)


def test_invalid_body_gets_the_emulators_400_naming_the_field(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError) as info:
        engine.completion(
            model=MODEL, messages=HELLO, extra_body={"generationConfig": {"temprature": 1}}, **vx
        )
    assert "temprature" in info.value.message and info.value.code == "INVALID_ARGUMENT"


def test_unknown_model_is_not_found(emulator: Any, vx: dict[str, Any]) -> None:
    import httpx

    httpx.post(f"{emulator.url}/emulator/unknown-models", json={"models": ["gemini-2.0-flash"]})
    with pytest.raises(engine.NotFoundError):
        engine.completion(model="vertex_ai/gemini-2.0-flash", messages=HELLO, **vx)


def test_retries_honor_retry_after_and_then_succeed(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(
        "gemini-2.5-flash",
        [{"status": 429, "retry_after": 0}, {"status": 503, "retry_after": 0}, {"text": "ok"}],
    )
    resp = engine.completion(model=MODEL, messages=HELLO, num_retries=2, **vx)
    assert resp.choices[0].message.content == "ok"
    assert len(emulator.requests("gemini-2.5-flash")) == 3


def test_no_retry_on_other_4xx(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script("gemini-2.5-flash", [{"status": 400}, {"text": "never"}])
    with pytest.raises(engine.BadRequestError):
        engine.completion(model=MODEL, messages=HELLO, num_retries=3, **vx)
    assert len(emulator.requests("gemini-2.5-flash")) == 1


def test_module_level_num_retries(emulator: Any, vx: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "num_retries", 1)
    emulator.script("gemini-2.5-flash", [{"status": 500, "retry_after": 0}, {"text": "second"}])
    assert engine.completion(model=MODEL, messages=HELLO, **vx).choices[0].message.content == "second"


def test_401_forces_one_token_refresh_and_one_retry(emulator: Any, vx: dict[str, Any]) -> None:
    engine.completion(model=MODEL, messages=HELLO, **vx)  # token cached
    before = len(emulator.state.tokens)
    emulator.state.tokens.clear()  # the emulator forgets every token it issued: the cached one is now invalid
    resp = engine.completion(model=MODEL, messages=HELLO, **vx)
    assert resp.choices[0].message.content.startswith("Echo")
    assert len(emulator.state.tokens) == 1 and before >= 1
    # the first call, the one refused with 401 (stale token), and its single retry with the new token
    assert len(emulator.requests("gemini-2.5-flash")) == 3


async def test_401_refresh_async(emulator: Any, vx: dict[str, Any]) -> None:
    await engine.acompletion(model=MODEL, messages=HELLO, **vx)
    emulator.state.tokens.clear()
    resp = await engine.acompletion(model=MODEL, messages=HELLO, **vx)
    assert resp.choices[0].message.content.startswith("Echo")


def test_stream_cut_midway_is_a_connection_error(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script("gemini-2.5-flash", [{"text": "one two three four five six", "cut_stream_after": 1}])
    with pytest.raises(engine.APIConnectionError):
        list(engine.completion(model=MODEL, messages=HELLO, stream=True, **vx))


def test_malformed_stream_chunk_is_named(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script("gemini-2.5-flash", [{"text": "one two three", "malformed_chunk": True}])
    with pytest.raises(engine.APIResponseValidationError, match="malformed stream event"):
        list(engine.completion(model=MODEL, messages=HELLO, stream=True, **vx))


def test_malformed_json_reply_is_named(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script("gemini-2.5-flash", [{"json": ["not", "a", "response"]}])
    with pytest.raises(engine.APIResponseValidationError):
        engine.completion(model=MODEL, messages=HELLO, **vx)


def test_timeout(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script("gemini-2.5-flash", [{"delay_ms": 1500, "text": "late"}])
    with pytest.raises(engine.Timeout):
        engine.completion(model=MODEL, messages=HELLO, timeout=0.2, **vx)


def test_connection_refused_is_a_connection_error(vx: dict[str, Any]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(engine.APIConnectionError):
        engine.completion(model=MODEL, messages=HELLO, **{**vx, "api_base": f"http://127.0.0.1:{port}"})


def test_verbose_logging_redacts_the_token(
    vx: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(engine, "set_verbose", True)
    with caplog.at_level("DEBUG", logger="vertexlate"):
        engine.completion(model=MODEL, messages=HELLO, **vx)
    text = caplog.text
    assert "generateContent" in text and "Bearer ***" in text
    assert "ya29." not in text and "PRIVATE KEY" not in text


async def test_concurrent_async_calls_share_one_client(vx: dict[str, Any]) -> None:
    results = await asyncio.gather(
        *[
            engine.acompletion(model=MODEL, messages=[{"role": "user", "content": f"n{i}"}], **vx)
            for i in range(8)
        ]
    )
    assert [r.choices[0].message.content for r in results] == [f"Echo: n{i}" for i in range(8)]


def test_request_log_shows_no_secret(emulator: Any, vx: dict[str, Any]) -> None:
    engine.completion(model=MODEL, messages=HELLO, **vx)
    assert "ya29." not in json.dumps(emulator.requests())
