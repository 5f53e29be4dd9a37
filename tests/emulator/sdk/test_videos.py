"""google-genai's Veo calls (``models.generate_videos`` + ``operations.get``) against the emulator.

The SDK posts ``:predictLongRunning``, then polls ``:fetchPredictOperation`` until ``done``; the
emulator finishes on the second poll, with tiny MP4s inline or in its built-in Cloud Storage.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx
import pytest
from google import genai
from google.genai import types

from engine.emulator import Emulator
from engine.emulator.video import FAKE_MP4, POLLS_UNTIL_DONE

MODEL = "veo-3.0-generate-001"


def _until_done(
    client: genai.Client, operation: types.GenerateVideosOperation
) -> tuple[types.GenerateVideosOperation, int]:
    polls = 0
    while not operation.done:
        assert polls < 10
        operation = client.operations.get(operation)
        polls += 1
    return operation, polls


def test_generate_videos_inline(genai_client: genai.Client, emulator: Emulator) -> None:
    operation = genai_client.models.generate_videos(
        model=MODEL,
        source=types.GenerateVideosSource(prompt="a cat surfing"),
        config=types.GenerateVideosConfig(number_of_videos=2),
    )
    assert not operation.done
    assert operation.name.startswith(
        "projects/emulator-project/locations/us-central1/publishers/google/models/"
    )
    done, polls = _until_done(genai_client, operation)
    assert polls == POLLS_UNTIL_DONE
    videos = done.response.generated_videos
    assert [(v.video.video_bytes, v.video.mime_type) for v in videos] == [(FAKE_MP4, "video/mp4")] * 2
    paths = [r["path"] for r in emulator.requests()]
    assert paths[0].endswith(f"/models/{MODEL}:predictLongRunning")
    assert all(p.endswith(f"/models/{MODEL}:fetchPredictOperation") for p in paths[1:])


def test_generate_videos_to_storage(genai_client: genai.Client, emulator: Emulator) -> None:
    bucket = f"v-{uuid.uuid4().hex[:12]}"
    operation = genai_client.models.generate_videos(
        model=MODEL,
        source=types.GenerateVideosSource(prompt="a dog"),
        config={"output_gcs_uri": f"gs://{bucket}/clips"},
    )
    done, _ = _until_done(genai_client, operation)
    [video] = done.response.generated_videos
    assert video.video.uri.startswith(f"gs://{bucket}/clips/") and video.video.uri.endswith("/sample_0.mp4")
    name = video.video.uri.removeprefix(f"gs://{bucket}/")
    media = httpx.get(
        f"{emulator.url}/storage/v1/b/{bucket}/o/{quote(name, safe='')}", params={"alt": "media"}
    )
    assert media.content == FAKE_MP4 and media.headers["content-type"] == "video/mp4"


def test_unknown_operation_and_bad_sample_count(genai_client: genai.Client) -> None:
    with pytest.raises(genai.errors.ClientError) as bad:
        genai_client.models.generate_videos(
            model=MODEL,
            source=types.GenerateVideosSource(prompt="x"),
            config=types.GenerateVideosConfig(number_of_videos=9),
        )
    assert bad.value.code == 400
    ghost = types.GenerateVideosOperation(
        name=f"projects/emulator-project/locations/us-central1/publishers/google/models/{MODEL}/operations/nope"
    )
    with pytest.raises(genai.errors.ClientError) as missing:
        genai_client.operations.get(ghost)
    assert missing.value.code == 404
