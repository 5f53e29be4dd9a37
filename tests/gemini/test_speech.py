"""Gemini TTS through generateContent: ``engine.speech(model="vertex_ai/gemini-*-tts")`` (specs/gemini_tts.yaml);
the proxy's ``/v1/audio/speech`` with the openai client: tests/proxy/test_speech_gemini.py.

Request shape per Google's Gemini TTS pages (overview and migration guide, cited in the spec): the text as
the one user turn, ``responseModalities: [AUDIO]``, the voice in ``speechConfig.voiceConfig.voice`` (3.8) or
``prebuiltVoiceConfig.voiceName`` (earlier models), the style in ``speechMetadata.style`` (3.8) or written
before the text, the encoding in ``responseFormat[].audio.mimeType`` (3.8 only); 3.8 is served in ``global``
only. Reply: ``candidates[0].content.parts[].inlineData`` audio; raw ``audio/L16`` PCM becomes a WAV file
unless ``pcm`` was asked (LiteLLM's behaviour). Bodies validate against the aiplatform v1 discovery document.
"""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import pytest

import engine
from tests.conformance import assert_valid_request

NEW = "gemini-3.8-flash-tts"
EARLIER = "gemini-2.5-flash-preview-tts"
PCM = b"\x01\x00\xff\x7f" * 60  # 120 16-bit samples
L16_REPLY = {
    "candidates": [
        {
            "content": {
                "role": "model",
                "parts": [
                    {
                        "inlineData": {
                            "mimeType": "audio/L16;codec=pcm;rate=24000",
                            "data": base64.b64encode(PCM).decode(),
                        }
                    }
                ],
            },
            "finishReason": "STOP",
        }
    ],
    "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 40, "totalTokenCount": 45},
    "modelVersion": EARLIER,
    "responseId": "tts-1",
}


def _sent(emulator: Any, model: str) -> dict[str, Any]:
    (logged,) = emulator.requests(model)
    assert_valid_request(logged["body"])
    return logged


def _global(vx: dict[str, Any]) -> dict[str, Any]:
    return {**vx, "vertex_location": "global"}


# --------------------------------------------------------------------------- golden URL and body


def test_newest_model_request(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.speech(
        model=f"vertex_ai/{NEW}",
        input="Have a wonderful day!",
        voice="Kore",
        instructions="cheerful",
        **_global(vx),
    )
    sent = _sent(emulator, NEW)
    assert (
        sent["path"]
        == f"/v1/projects/emulator-project/locations/global/publishers/google/models/{NEW}:generateContent"
    )
    assert sent["body"] == {
        "contents": [
            {
                "role": "user",
                "parts": [{"text": "Have a wonderful day!", "speechMetadata": {"style": "cheerful"}}],
            }
        ],
        "generationConfig": {
            "responseModalities": ["AUDIO"],
            "speechConfig": {"voiceConfig": {"voice": "Kore"}},
            "responseFormat": [{"audio": {"mimeType": "AUDIO_WAV"}}],
        },
    }
    assert resp.media_type == "audio/wav" and resp.content.startswith(b"RIFF")


def test_earlier_model_request(emulator: Any, vx: dict[str, Any]) -> None:
    engine.speech(
        model=f"vertex_ai/{EARLIER}",
        input="Hello",
        voice="Puck",
        instructions="Say the following slowly",
        **vx,
    )
    sent = _sent(emulator, EARLIER)
    assert sent["path"].startswith(
        "/v1/projects/emulator-project/locations/us-central1/publishers/google/models/"
    )
    assert sent["body"] == {
        "contents": [{"role": "user", "parts": [{"text": "Say the following slowly: Hello"}]}],
        "generationConfig": {
            "responseModalities": ["AUDIO"],
            "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}}},
        },
    }


@pytest.mark.parametrize(
    ("fmt", "mime", "media_type", "magic"),
    [
        ("mp3", "AUDIO_MP3", "audio/mpeg", b"ID3"),
        ("opus", "AUDIO_OGG_OPUS", "audio/ogg", b"OggS"),
        ("pcm", "AUDIO_L16", "audio/pcm", b""),
    ],
)
def test_newest_model_formats(
    emulator: Any, vx: dict[str, Any], fmt: str, mime: str, media_type: str, magic: bytes
) -> None:
    resp = engine.speech(model=f"vertex_ai/{NEW}", input="hi", response_format=fmt, **_global(vx))
    assert _sent(emulator, NEW)["body"]["generationConfig"]["responseFormat"][0]["audio"]["mimeType"] == mime
    assert resp.media_type == media_type and resp.content.startswith(magic) and resp.content


def test_newest_model_only_in_global(emulator: Any, vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="only in global"):
        engine.speech(model=f"vertex_ai/{NEW}", input="hi", **{**vx, "vertex_location": "us-central1"})
    assert emulator.requests(NEW) == []
    no_location = {k: v for k, v in vx.items() if k != "vertex_location"}
    engine.speech(model=f"vertex_ai/{NEW}", input="hi", **no_location)  # the documented default: global
    assert "/locations/global/" in _sent(emulator, NEW)["path"]


def test_pcm_only_model_refuses_other_formats(emulator: Any, vx: dict[str, Any]) -> None:
    with pytest.raises(engine.UnsupportedParamsError, match=r"response_format='mp3'.*accepted: wav, pcm"):
        engine.speech(model=f"vertex_ai/{EARLIER}", input="hi", response_format="mp3", **vx)
    with pytest.raises(engine.BadRequestError, match="no mapping for 'flac'"):
        engine.speech(model=f"vertex_ai/{NEW}", input="hi", response_format="flac", **_global(vx))
    assert emulator.requests() == []


def test_catch_all_takes_newest_defaults(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.accept_models("gemini-9.9-flash-tts")  # made up: outside the emulator's catalogue
    engine.speech(model="vertex_ai/gemini-9.9-flash-tts", input="hi", voice="Zephyr", **_global(vx))
    config = _sent(emulator, "gemini-9.9-flash-tts")["body"]["generationConfig"]
    assert config["speechConfig"] == {"voiceConfig": {"voice": "Zephyr"}} and "responseFormat" in config


def test_cloud_tts_models_stay_on_text_to_speech(emulator: Any, vx: dict[str, Any]) -> None:
    engine.speech(model="vertex_ai/gemini-2.5-flash-tts", input="hi", voice="Kore", **vx)
    (logged,) = emulator.requests("texttospeech")
    assert logged["body"]["voice"]["modelName"] == "gemini-2.5-flash-tts"


# --------------------------------------------------------------------------- reply


def test_l16_reply_becomes_wav_or_stays_pcm(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(EARLIER, [{"json": L16_REPLY}, {"json": L16_REPLY}])
    resp = engine.speech(model=f"vertex_ai/{EARLIER}", input="hi", **vx)
    assert resp.media_type == "audio/wav"
    with wave.open(io.BytesIO(resp.content)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.readframes(1000)) == (
            24000,
            1,
            2,
            PCM,
        )
    assert resp._hidden_params["model_version"] == EARLIER
    raw = engine.speech(model=f"vertex_ai/{EARLIER}", input="hi", response_format="pcm", **vx)
    assert (raw.media_type, raw.content) == ("audio/pcm", PCM)


def test_reply_without_audio_is_an_error(emulator: Any, vx: dict[str, Any]) -> None:
    text_only = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "no"}]}, "finishReason": "STOP"}]
    }
    emulator.script(EARLIER, [{"json": text_only}])
    with pytest.raises(engine.APIResponseValidationError, match="no audio"):
        engine.speech(model=f"vertex_ai/{EARLIER}", input="hi", **vx)


async def test_async(emulator: Any, vx: dict[str, Any]) -> None:
    resp = await engine.aspeech(model=f"vertex_ai/{NEW}", input="hi", **_global(vx))
    assert resp.media_type == "audio/wav"


def test_pcm_with_an_impossible_rate_is_wrapped_at_the_default() -> None:
    """An upstream MIME naming an absurd rate must not raise from struct.pack (a bare struct.error)."""
    import struct

    from engine.transforms.gemini_modalities import PCM_RATE, pcm_as_wav

    for mime in ("audio/L16;codec=pcm;rate=99999999999", "audio/L16;rate=0", "audio/L16"):
        header = pcm_as_wav(b"\x00\x01" * 4, mime)
        assert struct.unpack("<I", header[24:28])[0] == PCM_RATE
    assert struct.unpack("<I", pcm_as_wav(b"", "audio/L16;rate=16000")[24:28])[0] == 16000
