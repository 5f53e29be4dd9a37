"""Text-to-Speech: ``engine.speech`` / ``engine.aspeech`` → ``text:synthesize`` → ``SpeechResponse``.

Golden fixtures (tests/fixtures/tts/): synthesize_request.json and synthesize_response.json,
the curl example and its JSON output on cloud.google.com/text-to-speech/docs/create-audio.
Request bodies are validated against ``SynthesizeSpeechRequest`` (texttospeech.v1 discovery
document). The seed's calls (LiteLLM's Vertex AI page, "Text-to-Speech-APIs") run against the
emulator, whose TTS calls are logged and scripted under the key ``texttospeech``.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.api import prepare
from engine.types import SpeechResponse
from tests.conformance import assert_valid_request
from tests.fixtures.load import load

KEY = "texttospeech"
SEED_TEXT = "hello what llm guardrail do you have"
SEED_SSML = """
<speak>
<p>Hello, world!</p>
<p>This is a test of the <break strength="medium" /> text-to-speech API.</p>
</speak>
"""
SEED_VOICE = {"languageCode": "en-UK", "name": "en-UK-Studio-O"}


def _body(emulator: Any) -> dict[str, Any]:
    (logged,) = emulator.requests(KEY)
    assert logged["path"] == "/v1/text:synthesize"
    assert_valid_request(logged["body"], schema="SynthesizeSpeechRequest", api="texttospeech.v1")
    return logged["body"]


# --------------------------------------------------------------------------- golden


def test_request_matches_googles_published_example(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("tts/synthesize_request.json")
    published = golden["body"]
    engine.speech(
        model="vertex_ai/",
        input=published["input"]["text"],
        voice=published["voice"],
        response_format="mp3",
        **vx,
    )
    assert _body(emulator) == published, golden["source"]


def test_published_response(emulator: Any, vx: dict[str, Any]) -> None:
    golden = load("tts/synthesize_response.json")
    printed = golden["body"]["audioContent"]
    # As printed, the sample ends in "..": a truncated payload must be an error, not silently bad audio.
    emulator.script(KEY, [{"json": golden["body"]}])
    with pytest.raises(engine.APIResponseValidationError, match="base64"):
        engine.speech(model="vertex_ai/", input="x", **vx)
    # The bytes before the ellipsis are an MPEG audio frame header (sync word 0xFFF), i.e. the MP3 Google sent.
    whole = printed.rstrip(".")
    emulator.script(KEY, [{"json": {"audioContent": whole[: len(whole) // 4 * 4]}}])
    resp = engine.speech(model="vertex_ai/", input="x", **vx)
    assert resp.content[:2] == b"\xff\xf3" and resp.media_type == "audio/mpeg", golden["source"]


# --------------------------------------------------------------------------- emulator: the seed's calls


def test_seed_sync_usage(emulator: Any, vx: dict[str, Any], tmp_path: Path) -> None:
    speech_file_path = tmp_path / "speech_vertex.mp3"
    response = engine.speech(model="vertex_ai/", input=SEED_TEXT, **vx)
    response.stream_to_file(speech_file_path)
    assert isinstance(response, SpeechResponse) and response.media_type == "audio/mpeg"
    assert speech_file_path.read_bytes() == response.content and response.content.startswith(b"ID3")
    assert _body(emulator) == {
        "input": {"text": SEED_TEXT},
        "voice": {"languageCode": "en-US", "name": "en-US-Studio-O"},
        "audioConfig": {"audioEncoding": "MP3"},
    }
    assert b"".join(response.iter_bytes(7)) == response.read() == response.content


async def test_seed_async_usage(emulator: Any, vx: dict[str, Any], tmp_path: Path) -> None:
    response = await engine.aspeech(model="vertex_ai/", input=SEED_TEXT, **vx)
    response.stream_to_file(tmp_path / "speech_vertex.mp3")
    assert (tmp_path / "speech_vertex.mp3").read_bytes() == response.content
    assert _body(emulator)["input"] == {"text": SEED_TEXT}


@pytest.mark.parametrize("use_ssml", [None, True], ids=["detected", "forced"])
def test_seed_ssml_example_rejects_linear22_with_the_valid_encodings(
    emulator: Any, vx: dict[str, Any], use_ssml: bool | None
) -> None:
    with pytest.raises(engine.BadRequestError, match="'LINEAR22'") as caught:
        engine.speech(
            input=SEED_SSML,
            use_ssml=use_ssml,
            model="vertex_ai/test",
            voice=SEED_VOICE,
            audioConfig={"audioEncoding": "LINEAR22", "speakingRate": "10"},
            **vx,
        )
    for valid in ("LINEAR16", "MP3", "OGG_OPUS", "MULAW", "ALAW", "PCM", "M4A"):
        assert valid in caught.value.message
    assert emulator.requests(KEY) == []


async def test_seed_ssml_example_with_a_valid_encoding(emulator: Any, vx: dict[str, Any]) -> None:
    resp = await engine.aspeech(
        input=SEED_SSML,
        model="vertex_ai/test",
        voice=SEED_VOICE,
        audioConfig={"audioEncoding": "LINEAR16", "speakingRate": "1.5"},
        **vx,
    )
    assert _body(emulator) == {
        "input": {"ssml": SEED_SSML},
        "voice": SEED_VOICE,
        "audioConfig": {
            "audioEncoding": "LINEAR16",
            "speakingRate": 1.5,
        },  # a number, as Google's schema says
    }
    assert resp.media_type == "audio/wav"
    with wave.open(io.BytesIO(resp.content)) as wav:
        assert wav.getnframes() > 0


def test_forced_ssml_is_wrapped_and_explicit_false_wins(emulator: Any, vx: dict[str, Any]) -> None:
    engine.speech(model="vertex_ai/", input="Hello <break time='1s'/> world", use_ssml=True, **vx)
    assert _body(emulator)["input"] == {"ssml": "<speak>Hello <break time='1s'/> world</speak>"}
    emulator.reset()
    engine.speech(model="vertex_ai/", input="<speak>read the tags</speak>", use_ssml=False, **vx)
    assert _body(emulator)["input"] == {"text": "<speak>read the tags</speak>"}


@pytest.mark.parametrize(
    "model", ["vertex_ai/", "vertex_ai/test", "vertex_ai/anything-at-all", "vertex_ai/tts@1"]
)
def test_any_model_name_reaches_text_to_speech(emulator: Any, vx: dict[str, Any], model: str) -> None:
    assert engine.speech(model=model, input="hi", **vx).content
    assert len(emulator.requests(KEY)) == 1


def test_without_api_base_the_url_is_googles(service_account: dict[str, Any]) -> None:
    call = prepare("speech", {"model": "vertex_ai/", "input": "hi", "vertex_credentials": service_account})
    assert call.url == "https://texttospeech.googleapis.com/v1/text:synthesize"


# --------------------------------------------------------------------------- OpenAI parameters


@pytest.mark.parametrize(
    ("voice", "name"), [("alloy", "en-US-Studio-O"), ("onyx", "en-US-Studio-Q"), ("nova", "en-US-Studio-O")]
)
def test_openai_voice_names_map_by_the_spec_table(
    emulator: Any, vx: dict[str, Any], voice: str, name: str
) -> None:
    engine.speech(model="vertex_ai/", input="hi", voice=voice, **vx)
    assert _body(emulator)["voice"] == {"languageCode": "en-US", "name": name}


def test_pcm_is_openais_24khz_raw_samples(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.speech(model="vertex_ai/", input="hello there", response_format="pcm", speed=2.0, **vx)
    assert _body(emulator)["audioConfig"] == {
        "audioEncoding": "PCM",
        "sampleRateHertz": 24000,
        "speakingRate": 2.0,
    }
    assert (
        resp.media_type == "audio/pcm" and not resp.content.startswith(b"RIFF") and len(resp.content) % 2 == 0
    )


@pytest.mark.parametrize(
    ("fmt", "encoding", "media_type"), [("wav", "LINEAR16", "audio/wav"), ("opus", "OGG_OPUS", "audio/ogg")]
)
def test_response_format(emulator: Any, vx: dict[str, Any], fmt: str, encoding: str, media_type: str) -> None:
    resp = engine.speech(model="vertex_ai/", input="hi", response_format=fmt, **vx)
    assert _body(emulator)["audioConfig"] == {"audioEncoding": encoding}
    assert resp.media_type == media_type


def test_audio_config_overrides_response_format(emulator: Any, vx: dict[str, Any]) -> None:
    resp = engine.speech(
        model="vertex_ai/",
        input="hi",
        response_format="mp3",
        audio_config={"audioEncoding": "MULAW", "pitch": 2.0},
        **vx,
    )
    assert _body(emulator)["audioConfig"] == {"audioEncoding": "MULAW", "pitch": 2.0}
    assert resp.content.startswith(b"RIFF")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"voice": 42}, engine.BadRequestError, "voice must be an OpenAI voice name, a Google voice name"),
        ({"response_format": "flac"}, engine.BadRequestError, "accepted: mp3"),
        ({"speed": 3.0}, engine.BadRequestError, "outside the range"),
        ({"instructions": "whisper"}, engine.UnsupportedParamsError, "instructions"),
    ],
)
def test_invalid_calls_fail_locally(
    emulator: Any, vx: dict[str, Any], kwargs: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        engine.speech(model="vertex_ai/", input="hi", **kwargs, **vx)
    assert emulator.requests(KEY) == []


def test_input_is_required(vx: dict[str, Any]) -> None:
    with pytest.raises(engine.BadRequestError, match="input"):
        engine.speech(model="vertex_ai/", **vx)


def test_upstream_error_is_typed(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(KEY, [{"status": 400, "message": "Voice 'en-UK-Studio-O' does not exist."}])
    with pytest.raises(engine.BadRequestError, match="does not exist"):
        engine.speech(model="vertex_ai/", input="hi", voice=SEED_VOICE, **vx)


def test_a_reply_without_audio_is_an_error(emulator: Any, vx: dict[str, Any]) -> None:
    emulator.script(KEY, [{"json": {}}])
    with pytest.raises(engine.APIResponseValidationError):
        engine.speech(model="vertex_ai/", input="hi", **vx)
