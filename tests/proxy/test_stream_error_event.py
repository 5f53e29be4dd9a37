"""A Vertex error event inside a stream reaches the proxy's client as OpenAI's error event, then the stream ends."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from engine.proxy import BackgroundProxy
from tests.proxy.conftest import MASTER_KEY

HELLO = [{"role": "user", "content": "hi"}]


def test_mid_stream_error_event_becomes_an_openai_error_event(
    standard: BackgroundProxy, emulator: Any
) -> None:
    emulator.script(
        "gemini-2.5-flash",
        [
            {
                "text": "part of an answer",
                "stream_error": {"after": 1, "status": 429, "message": "Quota exceeded"},
            }
        ],
    )
    with httpx.stream(
        "POST",
        standard.url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        json={"model": "gemini-flash", "messages": HELLO, "stream": True},
    ) as resp:
        lines = [line for line in resp.iter_lines() if line.startswith("data: ")]
    payloads = [json.loads(line[6:]) for line in lines if line != "data: [DONE]"]
    assert "data: [DONE]" not in lines  # a failed stream does not end as if it were complete
    assert payloads[0]["choices"][0]["delta"]["content"]
    error = payloads[-1]["error"]
    assert set(error) >= {"message", "type", "code"} and "Quota exceeded" in error["message"]

    emulator.script("gemini-2.5-flash", [{"stream_error": {"after": 1, "status": 429}}])
    api = openai.OpenAI(base_url=standard.url + "/v1", api_key=MASTER_KEY, max_retries=0)
    with pytest.raises(openai.APIError):
        list(api.chat.completions.create(model="gemini-flash", messages=HELLO, stream=True))
