"""Text-to-Speech ``text:synthesize`` (body from Google's REST reference example:
input.text, voice{languageCode "en-US", name, ssmlGender}, audioConfig{audioEncoding})."""

from __future__ import annotations

import base64
import io
import wave

import httpx
import pytest

from engine.emulator import Emulator

BODY = {
    "input": {"text": "Hello from the emulator"},
    "voice": {"languageCode": "en-US", "name": "en-US-Standard-A", "ssmlGender": "FEMALE"},
    "audioConfig": {"audioEncoding": "LINEAR16", "speakingRate": 1.0},
}


def _synthesize(client: httpx.Client, body: dict) -> httpx.Response:
    return client.post("/v1/text:synthesize", json=body)


def test_linear16_is_a_valid_wav(client: httpx.Client) -> None:
    audio = base64.b64decode(_synthesize(client, BODY).json()["audioContent"])
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24000)
        assert wav.getnframes() > 0


def test_sample_rate_and_speaking_rate_are_honoured(client: httpx.Client) -> None:
    slow = {
        **BODY,
        "audioConfig": {"audioEncoding": "LINEAR16", "sampleRateHertz": 16000, "speakingRate": 0.5},
    }
    fast = {
        **BODY,
        "audioConfig": {"audioEncoding": "LINEAR16", "sampleRateHertz": 16000, "speakingRate": 2.0},
    }
    frames = []
    for body in (slow, fast):
        with wave.open(io.BytesIO(base64.b64decode(_synthesize(client, body).json()["audioContent"]))) as wav:
            assert wav.getframerate() == 16000
            frames.append(wav.getnframes())
    assert frames[0] == 4 * frames[1]


@pytest.mark.parametrize(
    ("encoding", "magic"), [("MULAW", b"RIFF"), ("ALAW", b"RIFF"), ("MP3", b"ID3"), ("OGG_OPUS", b"OggS")]
)
def test_other_encodings(client: httpx.Client, encoding: str, magic: bytes) -> None:
    body = {**BODY, "audioConfig": {"audioEncoding": encoding}}
    assert base64.b64decode(_synthesize(client, body).json()["audioContent"]).startswith(magic)


def test_invalid_encoding_is_a_400_naming_it(client: httpx.Client) -> None:
    response = _synthesize(client, {**BODY, "audioConfig": {"audioEncoding": "WAV"}})
    assert response.status_code == 400
    assert (
        response.json()["error"]["message"]
        == "Invalid value at 'audio_config.audio_encoding' (TYPE_ENUM), \"WAV\""
    )


@pytest.mark.parametrize(
    "body",
    [
        {**BODY, "input": {}},
        {**BODY, "voice": {"name": "x"}},
        {"input": {"text": "x"}, "voice": {"languageCode": "en-US"}},
    ],
)
def test_required_parts_are_checked(client: httpx.Client, body: dict) -> None:
    response = _synthesize(client, body)
    assert response.status_code == 400 and response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_tts_needs_a_token_and_can_be_scripted(emulator: Emulator, client: httpx.Client) -> None:
    assert httpx.post(f"{emulator.url}/v1/text:synthesize", json=BODY).status_code == 401
    emulator.script("texttospeech", [{"status": 503}])
    assert _synthesize(client, BODY).status_code == 503


@pytest.mark.parametrize("rate", [-1, 2_000_000_000, 4000])
def test_a_sample_rate_out_of_range_is_a_400(client: httpx.Client, rate: int) -> None:
    reply = _synthesize(
        client, {**BODY, "audioConfig": {"audioEncoding": "LINEAR16", "sampleRateHertz": rate}}
    )
    assert reply.status_code == 400
    assert (
        reply.json()["error"]["status"] == "INVALID_ARGUMENT"
        and "sample_rate_hertz" in reply.json()["error"]["message"]
    )
