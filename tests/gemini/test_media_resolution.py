"""``detail`` → per-part ``mediaResolution`` (Gemini 3) or the request-wide setting (older models),
``media_resolution`` → ``generationConfig.mediaResolution``, ``video_metadata`` → ``videoMetadata``.
Field names and levels: aiplatform v1 Part.mediaResolution (PartMediaResolution.level), VideoMetadata."""

from __future__ import annotations

from typing import Any

import pytest

import engine
from engine.errors import BadRequestError
from tests.conformance import assert_chat_completion, assert_valid_request
from tests.gemini.helpers import body

IMAGE = {
    "type": "image_url",
    "image_url": {"url": "gs://cloud-samples-data/generative-ai/image/scones.jpg", "detail": "high"},
}
VIDEO = {
    "type": "file",
    "file": {
        "file_id": "gs://cloud-samples-data/video/animals.mp4",
        "format": "video/mp4",
        "video_metadata": {"fps": 2, "start_offset": "10s", "end_offset": "40s"},
    },
    "detail": "low",
}
MESSAGES = [{"role": "user", "content": [{"type": "text", "text": "Describe both."}, IMAGE, VIDEO]}]


def test_per_part_on_gemini_3() -> None:
    _, image, video = body("gemini-3-pro-preview", messages=MESSAGES)["contents"][0]["parts"]
    assert image["mediaResolution"] == {"level": "MEDIA_RESOLUTION_HIGH"}
    assert video["mediaResolution"] == {"level": "MEDIA_RESOLUTION_LOW"}
    assert video["videoMetadata"] == {"fps": 2, "startOffset": "10s", "endOffset": "40s"}


def test_request_wide_on_older_models() -> None:
    got = body("gemini-2.5-flash", messages=MESSAGES)
    assert all("mediaResolution" not in p for p in got["contents"][0]["parts"])
    assert got["generationConfig"] == {"mediaResolution": "MEDIA_RESOLUTION_HIGH"}
    assert body("gemini-2.5-flash", messages=MESSAGES, media_resolution="low")["generationConfig"] == {
        "mediaResolution": "MEDIA_RESOLUTION_LOW"
    }


def test_auto_and_bad_values() -> None:
    auto = {"type": "image_url", "image_url": {"url": "gs://b/a.png", "detail": "auto"}}
    parts = body("gemini-3-pro-preview", messages=[{"role": "user", "content": [auto]}])["contents"][0][
        "parts"
    ]
    assert "mediaResolution" not in parts[0]
    with pytest.raises(BadRequestError, match="detail must be one of"):
        body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "gs://b/a.png", "detail": "max"}}],
                }
            ]
        )


async def test_end_to_end(emulator: Any, vx: dict[str, Any]) -> None:
    resp = await engine.acompletion(model="vertex_ai/gemini-3-pro-preview", messages=MESSAGES, **vx)
    assert_chat_completion(resp)
    (logged,) = emulator.requests("gemini-3-pro-preview")
    assert_valid_request(logged["body"])
    assert logged["body"]["contents"][0]["parts"][2]["videoMetadata"]["fps"] == 2
