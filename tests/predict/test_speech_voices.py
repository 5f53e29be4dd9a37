"""``speech()`` takes a plain Google voice name (Chirp 3 HD, Gemini-TTS) as well as OpenAI names and
Google's VoiceSelectionParams; Gemini-TTS models put the model in ``voice.modelName``
(cloud.google.com/text-to-speech/docs/gemini-tts). Bodies validate against texttospeech.v1."""

from __future__ import annotations

from typing import Any

import pytest

import engine
from tests.conformance import assert_valid_request


def _voice(emulator: Any) -> dict[str, Any]:
    (logged,) = emulator.requests()[-1:]
    assert_valid_request(logged["body"], schema="SynthesizeSpeechRequest", api="texttospeech.v1")
    return logged["body"]["voice"]


@pytest.mark.parametrize(
    ("model", "voice", "expected"),
    [
        ("vertex_ai/", "en-US-Chirp3-HD-Charon", {"languageCode": "en-US", "name": "en-US-Chirp3-HD-Charon"}),
        ("vertex_ai/", "de-DE-Chirp3-HD-Aoede", {"languageCode": "de-DE", "name": "de-DE-Chirp3-HD-Aoede"}),
        ("vertex_ai/", "alloy", {"languageCode": "en-US", "name": "en-US-Studio-O"}),
        (
            "vertex_ai/gemini-2.5-flash-tts",
            "Kore",
            {"languageCode": "en-US", "name": "Kore", "modelName": "gemini-2.5-flash-tts"},
        ),
        (
            "vertex_ai/gemini-2.5-pro-tts",
            {"languageCode": "fr-FR", "name": "Puck"},
            {"languageCode": "fr-FR", "name": "Puck", "modelName": "gemini-2.5-pro-tts"},
        ),
    ],
)
def test_voice_forms(
    emulator: Any, vx: dict[str, Any], model: str, voice: Any, expected: dict[str, Any]
) -> None:
    resp = engine.speech(model=model, input="Hello there", voice=voice, **vx)
    assert resp.content
    assert _voice(emulator) == expected


async def test_async_gemini_tts(emulator: Any, vx: dict[str, Any]) -> None:
    resp = await engine.aspeech(
        model="vertex_ai/gemini-2.5-flash-tts", input="Hi", voice="Kore", response_format="wav", **vx
    )
    assert resp.content[:4] == b"RIFF"
    assert _voice(emulator)["modelName"] == "gemini-2.5-flash-tts"
