"""Speech from generateContent (Gemini TTS models) in OpenAI's ``/audio/speech`` shape.

Why code: where the text, the style and the voice go depends on the model's generation
(capabilities ``speech_style`` and ``speech_voice_field``), and the reply is either a finished
file (WAV, MP3, Ogg) or raw 16-bit PCM (``audio/L16;codec=pcm;rate=24000``) that OpenAI's
``wav`` needs a RIFF header around. Sources: Google's Gemini TTS overview and migration guide
(cited in specs/gemini_tts.yaml).

- ``gemini_speech_input``: ``input`` (and ``instructions``) → the one user turn;
- ``gemini_speech_voice``: a voice name → VoiceConfig; a dict is Google's VoiceConfig (either spelling);
- ``gemini_inline_audio`` (extractor): the audio ``inlineData`` parts of the first candidate → bytes;
- ``gemini_speech_container`` (response finalize): PCM wrapped as WAV unless ``pcm`` was asked,
  a WAV unwrapped when ``pcm`` was asked, the media type in OpenAI's spelling.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

from engine.errors import BadRequestError
from engine.transforms import register
from engine.transforms.gemini_modalities import pcm_as_wav
from engine.transforms.gemini_tools import camel_keys

# Google's audio MIME types -> the media type OpenAI's client sees (audio/L16 is handled apart).
MEDIA_TYPES = {
    "audio/mp3": "audio/mpeg",
    "audio/mpeg": "audio/mpeg",
    "audio/wav": "audio/wav",
    "audio/x-wav": "audio/wav",
    "audio/ogg": "audio/ogg",
    "audio/opus": "audio/ogg",
}


@register("gemini_speech_input", kind="param")
def gemini_speech_input(value: str, ctx: Any) -> dict[str, Any]:
    """``{"contents": [{"role": "user", "parts": [...]}]}``; ``instructions`` as speechMetadata.style
    (``speech_style: metadata``) or written before the text ("Say the following ...: text")."""
    if not value.strip():
        raise BadRequestError("input is empty", model=ctx.model, param="input")
    part: dict[str, Any] = {"text": value}
    style = ctx.params.get("instructions")
    if style:
        if ctx.capabilities.get("speech_style") == "metadata":
            part["speechMetadata"] = {"style": style}
        else:
            part["text"] = f"{style.rstrip().rstrip(':')}: {value}"
    return {"contents": [{"role": "user", "parts": [part]}]}


@register("gemini_speech_voice", kind="param")
def gemini_speech_voice(value: Any, ctx: Any) -> dict[str, Any]:
    """VoiceConfig for a voice name (``speech_voice_field``: ``voice`` or ``prebuilt``); a dict passes as VoiceConfig."""
    if isinstance(value, dict):
        return camel_keys(value)
    if not isinstance(value, str) or not value.strip():
        raise BadRequestError(
            "voice must be a Gemini voice name (e.g. 'Kore') or a VoiceConfig object",
            model=ctx.model,
            param="voice",
        )
    if ctx.capabilities.get("speech_voice_field") == "voice":
        return {"voice": value}
    return {"prebuiltVoiceConfig": {"voiceName": value}}


@register("gemini_inline_audio", kind="extractor", keeps_null=True)
def gemini_inline_audio(parts: Any) -> bytes | None:
    """The audio of a candidate's parts, joined (a long answer may come in several parts)."""
    if not isinstance(parts, list):
        return None
    chunks = []
    for part in parts:
        blob = part.get("inlineData") if isinstance(part, dict) else None
        if isinstance(blob, dict) and str(blob.get("mimeType", "")).startswith("audio/"):
            try:
                chunks.append(base64.b64decode(blob.get("data") or "", validate=True))
            except binascii.Error as exc:
                raise ValueError(f"audio is not valid base64 ({exc})") from None
    return b"".join(chunks) or None


def _wav_payload(data: bytes) -> bytes | None:
    """The samples of a RIFF/WAVE file (its ``data`` chunk), None if it is not one."""
    if not (data.startswith(b"RIFF") and data[8:12] == b"WAVE"):
        return None
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        if chunk == b"data":
            return data[offset + 8 : offset + 8 + size]
        offset += 8 + size + (size % 2)
    return None


@register("gemini_speech_container", kind="response_finalize")
def gemini_speech_container(obj: Any, raw: Any, ctx: Any) -> Any:
    """Deliver what the caller asked: ``pcm`` raw samples, otherwise a file with its media type."""
    mime = str(obj.media_type or "").lower()
    want_pcm = ctx.params.get("response_format") == "pcm"
    if mime.startswith("audio/l16") or mime.startswith("audio/pcm"):
        if want_pcm:
            obj.media_type = "audio/pcm"
        else:
            obj.content = pcm_as_wav(obj.content, mime)
            obj.media_type = "audio/wav"
        return obj
    base = mime.split(";", 1)[0].strip()
    if want_pcm and (samples := _wav_payload(obj.content)) is not None:
        obj.content, obj.media_type = samples, "audio/pcm"
        return obj
    obj.media_type = MEDIA_TYPES.get(base, base or "application/octet-stream")
    return obj
