"""Gemini TTS models behind the proxy's ``/v1/audio/speech``, called with the official ``openai`` client.

A deployment ``vertex_ai/gemini-*-tts`` needs no ``model_info.mode``: the endpoint decides the operation.
Engine-level request and reply checks: tests/gemini/test_speech.py.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from engine.proxy import BackgroundProxy
from tests.proxy.conftest import MASTER_KEY

NEW = "gemini-3.8-flash-tts"
EARLIER = "gemini-2.5-flash-preview-tts"


def test_proxy_audio_speech(start_proxy: Any, deployment: Any, emulator: Any) -> None:
    proxy: BackgroundProxy = start_proxy(
        {
            "model_list": [  # no model_info.mode: the endpoint decides the operation
                deployment("tts", f"vertex_ai/{NEW}", location="global"),
                deployment("tts-earlier", f"vertex_ai/{EARLIER}"),
            ],
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
    api = openai.OpenAI(base_url=proxy.url + "/v1", api_key=MASTER_KEY, max_retries=0)
    audio = api.audio.speech.create(model="tts", voice="Kore", input="hello there").read()
    assert audio.startswith(b"RIFF")
    mp3 = api.audio.speech.create(
        model="tts", voice="Kore", input="hello there", response_format="mp3"
    ).read()
    assert mp3.startswith(b"ID3")
    pcm = api.audio.speech.create(model="tts-earlier", voice="Puck", input="hi", response_format="pcm")
    assert pcm.read() and not pcm.read().startswith(b"RIFF")
    sent = [r for r in emulator.requests() if r["path"].endswith(":generateContent")]
    assert [r["body"]["generationConfig"]["speechConfig"]["voiceConfig"] for r in sent] == [
        {"voice": "Kore"},
        {"voice": "Kore"},
        {"prebuiltVoiceConfig": {"voiceName": "Puck"}},
    ]
    with pytest.raises(openai.BadRequestError, match="mp3"):
        api.audio.speech.create(model="tts-earlier", voice="Puck", input="hi", response_format="mp3")
