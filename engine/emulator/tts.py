"""Cloud Text-to-Speech ``POST /v1/text:synthesize``.

Request and response per https://cloud.google.com/text-to-speech/docs/reference/rest/v1/text/synthesize,
validated against ``SynthesizeSpeechRequest`` of the texttospeech.v1 discovery
document. LINEAR16, MULAW and ALAW come back as real WAV files (Google: "Audio
content returned as LINEAR16 also contains a WAV header"), PCM as raw samples;
MP3/OGG_OPUS/M4A are deterministic stand-ins (see :func:`media.stand_in`).
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.responses import JSONResponse, Response

from engine.emulator import media
from engine.emulator.errors import google_error
from engine.emulator.reply import Reply
from engine.emulator.routing import Call, Route, route
from engine.emulator.streaming import early
from engine.emulator.validation import parse

SCRIPT_KEY = "texttospeech"
DEFAULT_RATE = 24000
SAMPLE_RATES = (8000, 48000)  # what the emulator renders (Gemini TTS takes the same range here)


def tts_key(params: dict[str, str], body: Any) -> str:
    """Scripts for TTS are queued under the fixed key ``texttospeech``."""
    return SCRIPT_KEY


def _missing(body: dict[str, Any]) -> str | None:
    """Google's required-field checks that the schema cannot express."""
    source = body.get("input") or {}
    if not any(source.get(k) for k in ("text", "ssml", "markup", "multiSpeakerMarkup")):
        return "Either `input.text` or `input.ssml` is required."
    if not (body.get("voice") or {}).get("languageCode"):
        return "Voice `language_code` is required."
    config = body.get("audioConfig") or {}
    encoding = config.get("audioEncoding")
    if not encoding or encoding == "AUDIO_ENCODING_UNSPECIFIED":
        return "Invalid audio_encoding: AUDIO_ENCODING_UNSPECIFIED. audio_config.audio_encoding is required."
    rate = config.get("sampleRateHertz")
    if rate and not (isinstance(rate, int) and SAMPLE_RATES[0] <= rate <= SAMPLE_RATES[1]):
        # (the emulator's bound: it renders the audio, so an absurd rate would be gigabytes)
        return f"sample_rate_hertz {rate} is out of range: {SAMPLE_RATES[0]} to {SAMPLE_RATES[1]}."
    return None


def audio(body: dict[str, Any]) -> bytes:
    """The audio bytes for a valid request (length follows text length and speaking rate)."""
    source = body["input"]
    said = str(source.get("text") or source.get("ssml") or source.get("markup") or "")
    config = body["audioConfig"]
    rate = int(config.get("sampleRateHertz") or DEFAULT_RATE)
    seconds = min(3.0, max(0.2, 0.05 * len(said))) / float(config.get("speakingRate") or 1.0)
    seed = f"{said}|{body['voice'].get('name', '')}"
    encoding = config["audioEncoding"]
    samples = media.pcm16(seed, seconds, rate)
    if encoding == "LINEAR16":
        return media.wav(samples, rate)
    if encoding == "PCM":
        return samples
    if encoding == "MULAW":
        return media.wav_g711(media.mulaw(samples), rate, 7)
    if encoding == "ALAW":
        return media.wav_g711(media.alaw(samples), rate, 6)
    return media.stand_in(encoding, seed)


async def synthesize(call: Call) -> Response:
    """``text:synthesize`` → ``{"audioContent": base64}``."""
    problem = parse(call, "SynthesizeSpeechRequest", api="texttospeech.v1")
    if problem:
        return problem
    missing = _missing(call.body)
    if missing:
        return google_error(400, missing)
    done = await early(call.reply(Reply()))
    if done is not None:
        return done
    return JSONResponse({"audioContent": base64.b64encode(audio(call.body)).decode("ascii")})


ROUTES: list[Route] = [route("POST", r"^/v1/text:synthesize", synthesize, model=tts_key)]
