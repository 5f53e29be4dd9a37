"""Response objects behave like LiteLLM's ModelResponse: attribute and dict access, dumps, hidden params."""

from __future__ import annotations

import json

from engine.types import ModelResponse, SpeechResponse
from tests.conformance import assert_chat_completion


def sample() -> ModelResponse:
    resp = ModelResponse(
        id="chatcmpl-1",
        object="chat.completion",
        created=1,
        model="gemini-2.5-flash",
        choices=[
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "hi", "reasoning_content": "r"},
            }
        ],
        usage={
            "prompt_tokens": 1,
            "completion_tokens": 2,
            "total_tokens": 3,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    )
    resp._hidden_params = {"response_id": "abc"}
    return resp


def test_attribute_and_item_access_agree() -> None:
    resp = sample()
    assert resp.choices[0].message.content == resp["choices"][0]["message"]["content"] == "hi"
    assert resp.usage.prompt_tokens_details.cached_tokens == 0
    assert resp.choices[0].message.reasoning_content == "r"
    assert resp._hidden_params["response_id"] == "abc"


def test_dump_is_plain_json_without_hidden_params() -> None:
    resp = sample()
    dumped = resp.model_dump()
    assert type(dumped["choices"][0]) is dict
    assert "_hidden_params" not in json.loads(resp.model_dump_json())
    assert_chat_completion(resp)


def test_missing_attribute_is_an_attribute_error() -> None:
    try:
        sample().nonexistent  # noqa: B018
    except AttributeError as exc:
        assert "nonexistent" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_speech_response_writes_file(tmp_path) -> None:
    speech = SpeechResponse(b"RIFF....", "audio/wav")
    speech.stream_to_file(tmp_path / "a.wav")
    assert (tmp_path / "a.wav").read_bytes() == b"RIFF...."
    assert b"".join(speech.iter_bytes(3)) == b"RIFF...."
