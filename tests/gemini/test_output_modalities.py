"""Gemini image and audio output: ``modalities``/``image_config``/``audio`` → ``responseModalities``/
``imageConfig``/``speechConfig``; generated images as ``message.images`` (LiteLLM's shape) in chat and
streams, generated speech as ``message.audio`` (WAV); ``image_generation()`` on Gemini image models.
Field names: aiplatform v1 GenerationConfig (responseModalities, imageConfig, speechConfig)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

import engine
from tests.conformance import (
    assert_chat_chunk,
    assert_chat_completion,
    assert_images_response,
    assert_valid_request,
)
from tests.gemini.helpers import body, normalize

DRAW = [{"role": "user", "content": "Draw a red square."}]
PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 8).decode()


def test_request_fields() -> None:
    got = body(
        "gemini-2.5-flash-image",
        messages=DRAW,
        modalities=["image", "text"],
        image_config={"aspect_ratio": "16:9", "image_size": "2K"},
    )
    assert got["generationConfig"] == {
        "responseModalities": ["IMAGE", "TEXT"],
        "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"},
    }
    speech = body(
        "gemini-2.5-flash", messages=DRAW, modalities=["audio"], audio={"voice": "Kore", "format": "wav"}
    )
    assert speech["generationConfig"] == {
        "responseModalities": ["AUDIO"],
        "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}},
    }


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"modalities": ["smell"]}, "not one of"),
        ({"modalities": ["audio"], "audio": {"voice": "Kore", "format": "mp3"}}, "wav or pcm16"),
    ],
)
def test_bad_values(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(engine.BadRequestError, match=needle):
        body(messages=DRAW, **kwargs)


def test_images_in_litellm_shape() -> None:
    reply = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Here it is."},
                        {"inlineData": {"mimeType": "image/png", "data": PNG_B64}},
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    message = normalize(reply, model="gemini-2.5-flash-image").choices[0].message
    assert message.content == "Here it is."
    assert message.images == [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}]


def test_chat_image_end_to_end(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.completion(
        model="vertex_ai/gemini-2.5-flash-image", messages=DRAW, modalities=["image", "text"], **vx
    )
    assert_chat_completion(resp)
    (image,) = resp.choices[0].message.images
    assert image["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")
    (logged,) = emulator.requests("gemini-2.5-flash-image")
    assert_valid_request(logged["body"])


async def test_streamed_images(emulator: Any, vx: dict[str, Any]) -> None:
    stream = await engine.acompletion(
        model="vertex_ai/gemini-2.5-flash-image",
        messages=DRAW,
        modalities=["image", "text"],
        stream=True,
        **vx,
    )
    chunks = [c async for c in stream]
    for chunk in chunks:
        assert_chat_chunk(chunk)
    images = [i for c in chunks if c.choices for i in c.choices[0].delta.get("images") or []]
    assert len(images) == 1 and images[0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_audio_output_end_to_end(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.completion(
        model="vertex_ai/gemini-2.5-flash-preview-tts",
        messages=[{"role": "user", "content": "Say hi"}],
        modalities=["audio"],
        audio={"voice": "Kore"},
        **vx,
    )
    assert_chat_completion(resp)
    audio = resp.choices[0].message.audio
    raw = base64.b64decode(audio["data"])
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE" and int.from_bytes(raw[24:28], "little") == 24000
    assert audio["id"].startswith("audio_")
    (logged,) = emulator.requests("gemini-2.5-flash-preview-tts")
    assert_valid_request(logged["body"])


def test_image_generation_on_a_gemini_image_model(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.image_generation(
        prompt="A red square", model="vertex_ai/gemini-2.5-flash-image", size="1792x1024", **vx
    )
    assert_images_response(resp)
    assert base64.b64decode(resp.data[0].b64_json)[:8] == b"\x89PNG\r\n\x1a\n"
    (logged,) = emulator.requests("gemini-2.5-flash-image")
    assert logged["path"].endswith(":generateContent")
    assert_valid_request(logged["body"])
    assert logged["body"]["generationConfig"] == {
        "responseModalities": ["TEXT", "IMAGE"],
        "imageConfig": {"aspectRatio": "16:9"},
    }


async def test_image_generation_refused_on_a_text_model(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.UnsupportedParamsError, match="prompt"):
        await engine.aimage_generation(prompt="x", model="vertex_ai/gemini-2.5-flash", **vx)
