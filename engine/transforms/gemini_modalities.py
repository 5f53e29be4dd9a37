"""Gemini image and audio output: ``modalities``/``audio`` → ``responseModalities``/``speechConfig``,
generated audio → OpenAI's ``message.audio``.

Why code: OpenAI names modalities in lower case and puts the voice in ``audio.voice``, Gemini
wants upper-case ``responseModalities`` and a nested ``speechConfig.voiceConfig.prebuiltVoiceConfig``;
the audio Gemini returns is raw 16-bit PCM (``audio/L16;codec=pcm;rate=24000``) while OpenAI's
``message.audio.data`` is a playable file, so it gets a WAV header. Images need no code: the spec's
``images`` extractor builds LiteLLM's ``[{"type": "image_url", "image_url": {"url": "data:..."}}]``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from typing import Any

from engine.errors import BadRequestError
from engine.transforms import register
from engine.transforms.gemini_tools import camel_keys

MODALITIES = {"text": "TEXT", "image": "IMAGE", "audio": "AUDIO"}
_RATE = re.compile(r"rate=(\d+)")


def _bad(message: str, ctx: Any, param: str) -> BadRequestError:
    return BadRequestError(message, model=getattr(ctx, "model", None), param=param)


@register("gemini_modalities", kind="param")
def gemini_modalities(value: list[str], ctx: Any) -> list[str]:
    """``["text", "image"]`` → ``["TEXT", "IMAGE"]`` (Google's own upper-case names are accepted too)."""
    out = []
    for item in value:
        name = MODALITIES.get(item.lower())
        if name is None:
            raise _bad(f"modalities: {item!r} is not one of {', '.join(MODALITIES)}", ctx, "modalities")
        out.append(name)
    return list(dict.fromkeys(out))


@register("gemini_speech_config", kind="param")
def gemini_speech_config(value: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """OpenAI ``audio={"voice": "Kore", "format": "wav"}`` → ``speechConfig`` (a Gemini voice name).

    ``format`` may only be ``wav`` or ``pcm16``: Gemini returns PCM, which the reply wraps as WAV
    (or leaves raw for pcm16). A dict voice is Google's VoiceConfig, in either spelling.
    """
    unknown = set(value) - {"voice", "format"}
    if unknown:
        raise _bad(
            f"audio: unknown option(s) {', '.join(sorted(unknown))} (expected voice, format)", ctx, "audio"
        )
    if value.get("format", "wav") not in ("wav", "pcm16"):
        raise _bad("audio.format: Gemini returns PCM audio, delivered as wav or pcm16", ctx, "audio")
    voice = value.get("voice")
    if isinstance(voice, dict):
        return {"voiceConfig": camel_keys(voice)}
    if not isinstance(voice, str) or not voice:
        raise _bad(
            "audio.voice must be a Gemini voice name (e.g. 'Kore') or a VoiceConfig object", ctx, "audio"
        )
    return {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": voice}}}


@register("camel_keys", kind="param")
def camel_keys_param(value: Any, ctx: Any) -> Any:
    """snake_case keys → Google's camelCase (e.g. ``image_config={"aspect_ratio": "16:9"}``)."""
    return camel_keys(value)


def wav(pcm: bytes, rate: int, channels: int = 1, bits: int = 16) -> bytes:
    """A RIFF/WAVE header around raw little-endian PCM."""
    block = channels * bits // 8
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits)
    return header + b"data" + struct.pack("<I", len(pcm)) + pcm


PCM_RATE = 24000  # Google's audio output: 16-bit PCM, 24 kHz, mono
MAX_RATE = 768_000  # a rate beyond any audio format's (the header's byte rate must fit 32 bits)


def pcm_as_wav(pcm: bytes, mime: str) -> bytes:
    """Raw PCM as a WAV file at the rate its MIME type names (``rate=``), else 24 kHz.

    A rate out of range (an upstream gone wrong) is not trusted: the default is used.
    """
    match = _RATE.search(mime)
    rate = int(match.group(1)) if match else PCM_RATE
    return wav(pcm, rate if 0 < rate <= MAX_RATE else PCM_RATE)


@register("gemini_audio", kind="extractor", keeps_null=True)
def gemini_audio(parts: Any) -> dict[str, Any] | None:
    """Extractor transform over a candidate's parts: audio parts → OpenAI ``message.audio``
    (``{id, data, expires_at, transcript}``; L16 PCM wrapped as WAV, the text parts as transcript)."""
    if not isinstance(parts, list):
        return None
    for part in parts:  # most stream events have text parts only: a plain loop, no list built
        if isinstance(part, dict) and part.get("inlineData"):
            break
    else:
        return None
    audio = [
        p["inlineData"]
        for p in parts
        if isinstance(p, dict) and str((p.get("inlineData") or {}).get("mimeType", "")).startswith("audio/")
    ]
    if not audio:
        return None
    raw = b"".join(base64.b64decode(a.get("data") or "") for a in audio)
    mime = str(audio[0].get("mimeType"))
    if mime.lower().startswith("audio/l16"):
        raw = pcm_as_wav(raw, mime)
    transcript = "".join(p.get("text") or "" for p in parts if isinstance(p, dict) and not p.get("thought"))
    return {
        "id": "audio_" + hashlib.sha1(raw).hexdigest()[:24],
        "data": base64.b64encode(raw).decode("ascii"),
        "expires_at": 0,
        "transcript": transcript,
    }


@register("gemini_prompt", kind="param")
def gemini_prompt(prompt: str, ctx: Any) -> dict[str, Any]:
    """``image_generation(prompt=...)`` on a Gemini image model: the prompt as the one user turn."""
    if not prompt.strip():
        raise _bad("prompt is empty", ctx, "prompt")
    return {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
