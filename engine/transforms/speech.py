"""Transforms for Cloud Text-to-Speech (``text:synthesize``) in OpenAI's ``/audio/speech`` shape.

The spec maps voices, formats and speed by table; code is needed only where a value
decides the *shape* of the request or reply:

- ``speech_voice``: an OpenAI voice name maps by the ``openai_voices`` table, any other string
  is a Google voice name (language from its prefix, else ``default_language_code``), a dict is
  Google's VoiceSelectionParams; Gemini-TTS models (``voice_model_name``) add ``modelName``;
- ``speech_input``: ``input`` goes to ``input.ssml`` when it contains ``<speak>`` or the
  caller passed ``use_ssml=True`` (wrapped in ``<speak>`` if it is not), else ``input.text``;
- ``speech_audio_encoding`` (request finalize): the final ``audioConfig.audioEncoding``
  must be one the service knows (capability ``audio_encodings``); otherwise the error lists
  them, instead of Google's bare "invalid value" after a round trip;
- ``base64_bytes`` (extractor): ``audioContent`` → bytes;
- ``speech_media_type`` (response finalize): the media type that goes with the encoding.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from engine.errors import BadRequestError
from engine.redact import short
from engine.transforms import register

SPEAK_TAG = "<speak"


@register("speech_input", kind="param")
def speech_input(value: str, ctx: Any) -> dict[str, str]:
    """``{"text": ...}`` or ``{"ssml": ...}``; an explicit ``use_ssml`` wins over detection."""
    forced = ctx.params.get("use_ssml")
    is_ssml = SPEAK_TAG in value.lower() if forced is None else bool(forced)
    if not is_ssml:
        return {"text": value}
    return {"ssml": value if SPEAK_TAG in value.lower() else f"<speak>{value}</speak>"}


_LANGUAGE = re.compile(r"^([a-z]{2,3}-[A-Z]{2})-")


@register("speech_voice", kind="param")
def speech_voice(value: Any, ctx: Any) -> dict[str, Any]:
    """The ``voice`` object for ``text:synthesize`` (see the module docstring)."""
    caps = ctx.capabilities
    table = caps.get("openai_voices") or {}
    if isinstance(value, dict):
        voice = dict(value)
    elif isinstance(value, str) and value in table:
        voice = dict(table[value])
    elif isinstance(value, str) and value.strip():
        match = _LANGUAGE.match(value)
        voice = {
            "languageCode": match.group(1) if match else caps.get("default_language_code", "en-US"),
            "name": value,
        }
    else:
        raise BadRequestError(
            "voice must be an OpenAI voice name, a Google voice name or a VoiceSelectionParams object",
            model=ctx.model,
            param="voice",
        )
    if caps.get("voice_model_name") and "modelName" not in voice:
        voice["modelName"] = ctx.resolved.model_id
    return voice


def _encoding(body: dict[str, Any]) -> Any:
    config = body.get("audioConfig")
    return config.get("audioEncoding") if isinstance(config, dict) else None


@register("speech_audio_encoding", kind="request_finalize")
def speech_audio_encoding(body: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Reject an unknown ``audioConfig.audioEncoding`` with the list of valid ones."""
    valid = ctx.capabilities.get("audio_encodings") or {}
    encoding = _encoding(body)
    if valid and (not isinstance(encoding, str) or encoding not in valid):
        raise BadRequestError(
            f"audioConfig.audioEncoding {short(encoding)} is not a Text-to-Speech audio encoding; "
            f"valid encodings: {', '.join(valid)}",
            model=ctx.model,
            param="audioConfig",
        )
    return body


@register("base64_bytes", kind="extractor")
def base64_bytes(value: Any) -> bytes:
    """Decode a base64 field strictly: a truncated or corrupted payload is an error, not noise."""
    if not isinstance(value, str):
        raise ValueError(f"expected base64 text, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"audio is not valid base64 ({exc})") from None


@register("speech_media_type", kind="response_finalize")
def speech_media_type(obj: Any, raw: Any, ctx: Any) -> Any:
    """Set ``media_type`` from the encoding that was requested."""
    types = ctx.capabilities.get("audio_encodings") or {}
    obj.media_type = types.get(_encoding(ctx.body), "application/octet-stream")
    return obj
