"""OpenAI media content parts → Gemini ``inlineData``/``fileData`` parts.

Why here: the OpenAI shapes (``image_url``, ``file``, ``input_audio`` and the seed's
``audio_input``) say little about MIME types, while Gemini needs one on every
part. The type comes from an explicit ``format``, a ``data:`` URL, or the file
extension; without any of them the caller gets an error telling them to pass
``format`` instead of an opaque upstream 400.

``https://`` URLs are sent as ``fileData`` (Vertex fetches them) unless fetching is
switched on, by the model's ``fetch_media_urls`` capability or the
``engine.fetch_media_urls`` setting; then the engine downloads and inlines them,
bounded in size and time, over http(s) only, and never from private, loopback or
link-local addresses unless ``engine.media_fetch_allow_private`` is set (a proxy
must not become a way into internal networks).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

from engine.transforms import register
from engine.transforms.content import check_forwarded_url
from engine.transforms.gemini import bad, part_converter

# Extensions of the file types Gemini accepts (Vertex AI "multimodal" docs: image, video, audio, document).
MIME_BY_EXTENSION = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "gif": "image/gif",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "mp4": "video/mp4",
    "mpeg": "video/mpeg",
    "mpg": "video/mpg",
    "mov": "video/mov",
    "avi": "video/avi",
    "flv": "video/x-flv",
    "webm": "video/webm",
    "wmv": "video/wmv",
    "3gp": "video/3gpp",
    "3gpp": "video/3gpp",
    "mp3": "audio/mp3",
    "wav": "audio/wav",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "m4a": "audio/m4a",
    "ogg": "audio/ogg",
    "opus": "audio/opus",
    "aiff": "audio/aiff",
    "pcm": "audio/pcm",
}
# OpenAI ``input_audio.format`` values are bare names ("wav", "mp3").
AUDIO_FORMATS = {k: v for k, v in MIME_BY_EXTENSION.items() if v.startswith("audio/")}
DEFAULT_MAX_INLINE_BYTES = 20 * 1024 * 1024  # Vertex's documented cap for inline data in one request
_REDIRECTS = 3
GEMINI_SCHEMES = frozenset({"gs", "http", "https", "data"})


def mime_from_name(name: str) -> str | None:
    path = urlsplit(name).path if "://" in name else name
    stem = path.rsplit("/", 1)[-1]
    return MIME_BY_EXTENSION.get(stem.rsplit(".", 1)[-1].lower()) if "." in stem else None


def _mime(explicit: Any, url: str, ctx: Any, where: str) -> str:
    if isinstance(explicit, str) and explicit:
        return AUDIO_FORMATS.get(explicit, explicit) if "/" not in explicit else explicit
    mime = mime_from_name(url)
    if mime is None:
        raise bad(
            where,
            f'cannot tell the MIME type of {url[:120]!r} from its name; pass it as \'format\' (e.g. "format": "image/jpeg")',
            ctx,
        )
    return mime


def _inline(mime: str, data: str, ctx: Any, where: str) -> dict[str, Any]:
    """An ``inlineData`` part whose payload is checked to be base64 (its size is checked per request)."""
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise bad(where, "inline data is not valid base64", ctx) from None
    return {"inlineData": {"mimeType": mime, "data": data}}


@register("gemini_inline_limit", kind="request_finalize")
def gemini_inline_limit(body: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Request finalize: refuse a body whose inline media exceed the model's ``max_inline_bytes``."""
    limit = ctx.capabilities.get("max_inline_bytes") or DEFAULT_MAX_INLINE_BYTES
    total = 0
    for content in body.get("contents", []):
        for part in content.get("parts", []):
            data = part.get("inlineData", {}).get("data") if isinstance(part, dict) else None
            if isinstance(data, str):
                total += len(data.rstrip("=")) * 3 // 4
    if total > limit:
        raise bad(
            "messages",
            f"inline media add up to {total} bytes, over the limit of {limit} bytes{_megabytes(limit)} that Vertex AI "
            f"accepts for {ctx.model} in one request; upload large files to Cloud Storage and pass their gs:// URI",
            ctx,
        )
    return body


def _megabytes(size: int) -> str:
    return f" ({size / 1048576:g} MB)" if size >= 1048576 else ""


def _data_url(url: str, ctx: Any, where: str) -> dict[str, Any]:
    header, comma, data = url.partition(",")
    if not comma or ";base64" not in header:
        raise bad(where, "a data: URL must look like data:<mime type>;base64,<data>", ctx)
    mime = header[5:].split(";", 1)[0]
    if not mime:
        raise bad(where, "the data: URL names no MIME type", ctx)
    return _inline(mime, data, ctx, where)


def media_part(url: Any, explicit_format: Any, ctx: Any, where: str) -> dict[str, Any]:
    """A URL as users pass it (gs://, https://, data:) → one Gemini part."""
    if not isinstance(url, str) or not url:
        raise bad(where, "the media part needs a URL or data string", ctx)
    if url.startswith("data:"):
        part = _data_url(url, ctx, where)
        if isinstance(explicit_format, str) and explicit_format:
            part["inlineData"]["mimeType"] = _mime(explicit_format, url, ctx, where)
        return part
    check_forwarded_url(url, ctx, where, GEMINI_SCHEMES)
    scheme = urlsplit(url).scheme.lower()
    if scheme == "gs":
        return {"fileData": {"mimeType": _mime(explicit_format, url, ctx, where), "fileUri": url}}
    if _fetch_enabled(ctx):
        mime, data = fetch(url, ctx, where)
        return _inline(
            _mime(explicit_format, url, ctx, where) if explicit_format or not mime else mime,
            data,
            ctx,
            where,
        )
    return {"fileData": {"mimeType": _mime(explicit_format, url, ctx, where), "fileUri": url}}


# OpenAI's ``detail`` (and Google's own level names) → PartMediaResolution.level (aiplatform v1).
RESOLUTIONS = {
    "low": "MEDIA_RESOLUTION_LOW",
    "medium": "MEDIA_RESOLUTION_MEDIUM",
    "high": "MEDIA_RESOLUTION_HIGH",
    "ultra_high": "MEDIA_RESOLUTION_ULTRA_HIGH",
    "auto": None,
}
_VIDEO_KEYS = {"fps": "fps", "start_offset": "startOffset", "end_offset": "endOffset"}


def _with_options(gemini: dict[str, Any], options: list[Any], ctx: Any, where: str) -> dict[str, Any]:
    """``detail`` → ``mediaResolution`` and ``video_metadata`` → ``videoMetadata`` on one media part.

    Options are read from the OpenAI part and from its inner object (``image_url``/``file``), the
    first found wins. A model without per-part resolution gets the request-wide one instead
    (``_part_resolution`` pass in gemini.py).
    """
    detail = next((o["detail"] for o in options if isinstance(o, dict) and o.get("detail") is not None), None)
    if detail is not None:
        key = detail.lower() if isinstance(detail, str) else detail
        if key not in RESOLUTIONS:
            raise bad(where, f"detail must be one of {', '.join(RESOLUTIONS)}, got {detail!r}", ctx)
        if RESOLUTIONS[key]:
            gemini["mediaResolution"] = {"level": RESOLUTIONS[key]}
    video = next(
        (o["video_metadata"] for o in options if isinstance(o, dict) and o.get("video_metadata")), None
    )
    if video is not None:
        if not isinstance(video, dict) or set(video) - set(_VIDEO_KEYS) - set(_VIDEO_KEYS.values()):
            raise bad(where, "video_metadata takes fps, start_offset and end_offset (e.g. '10s')", ctx)
        gemini["videoMetadata"] = {_VIDEO_KEYS.get(k, k): v for k, v in video.items()}
    return gemini


@part_converter("image_url")
def _image_url(part: dict[str, Any], ctx: Any, where: str) -> list[dict[str, Any]]:
    value = part.get("image_url")
    url, fmt = (value.get("url"), value.get("format")) if isinstance(value, dict) else (value, None)
    return [_with_options(media_part(url, fmt, ctx, where), [part, value], ctx, where)]


@part_converter("video_url")
def _video_url(part: dict[str, Any], ctx: Any, where: str) -> list[dict[str, Any]]:
    value = part.get("video_url")
    url, fmt = (value.get("url"), value.get("format")) if isinstance(value, dict) else (value, None)
    return [_with_options(media_part(url, fmt, ctx, where), [part, value], ctx, where)]


@part_converter("file")
def _file(part: dict[str, Any], ctx: Any, where: str) -> list[dict[str, Any]]:
    file = part.get("file")
    if not isinstance(file, dict):
        raise bad(where, "a file part needs a 'file' object with 'file_id' or 'file_data'", ctx)
    source = file.get("file_data") or file.get("file_id")
    if isinstance(source, str) and not source.startswith(("data:", "gs://", "http://", "https://")):
        if file.get("file_data") and file.get("format"):
            inline = _inline(_mime(file["format"], "", ctx, where), source, ctx, where)
            return [_with_options(inline, [part, file], ctx, where)]
        raise bad(
            where,
            "file_id must be a gs:// or https:// URI and file_data a data: URL (data:<mime>;base64,...)",
            ctx,
        )
    found = media_part(source, file.get("format") or _mime_of_filename(file.get("filename")), ctx, where)
    return [_with_options(found, [part, file], ctx, where)]


def _mime_of_filename(name: Any) -> str | None:
    return mime_from_name(name) if isinstance(name, str) else None


@part_converter("input_audio")
def _input_audio(part: dict[str, Any], ctx: Any, where: str) -> list[dict[str, Any]]:
    audio = part.get("input_audio")
    if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
        raise bad(where, "input_audio needs {'data': <base64>, 'format': 'wav' | 'mp3' | ...}", ctx)
    data, fmt = audio["data"], audio.get("format")
    if data.startswith("data:"):
        return [media_part(data, fmt, ctx, where)]
    if not isinstance(fmt, str) or not fmt:
        raise bad(where, "input_audio needs a 'format' (e.g. 'wav' or 'mp3')", ctx)
    return [_inline(_mime(fmt, "", ctx, where), data, ctx, where)]


@part_converter("audio_input")
def _audio_input(part: dict[str, Any], ctx: Any, where: str) -> list[dict[str, Any]]:
    """The seed's form: ``{"type": "audio_input", "audio_input": {"audio_input": "data:audio/mp3;base64,..."}}``."""
    value = part.get("audio_input")
    if isinstance(value, dict):
        fmt = value.get("format")
        value = value.get("audio_input") or value.get("data") or value.get("url")
    else:
        fmt = None
    return [media_part(value, fmt, ctx, where)]


# --------------------------------------------------------------------------- optional fetch-and-inline


def _settings() -> Any:
    return sys.modules.get("engine")


def _fetch_enabled(ctx: Any) -> bool:
    setting = getattr(_settings(), "fetch_media_urls", None)
    return bool(ctx.capabilities.get("fetch_media_urls", False) if setting is None else setting)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the default resolver)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


# The resolver seam: ``fn(host, port) -> [address, ...]``. Tests (and deployments with their own DNS
# policy) replace it; the fetch connects only to an address this function returned and that was checked.
resolver: Callable[[str, int], list[str]] = system_resolver


def check_address(host: str, ctx: Any, where: str, port: int = 443) -> str:
    """Resolve ``host`` once and return the address to connect to (pinned).

    Every address the name resolves to must be public (not private, loopback, link-local
    or otherwise internal) unless ``engine.media_fetch_allow_private`` is set. The caller
    connects to the returned address, so a resolver that answers differently on a second
    lookup (DNS rebinding) cannot move the connection to an internal host.
    """
    literal = host.strip("[]")
    try:
        addresses = [literal] if _is_ip(literal) else resolver(host, port)
    except (OSError, UnicodeError, ValueError) as exc:
        raise bad(where, f"cannot resolve media host {host[:120]!r}: {type(exc).__name__}", ctx) from None
    if not addresses:
        raise bad(where, f"cannot resolve media host {host[:120]!r}", ctx)
    allow_private = getattr(_settings(), "media_fetch_allow_private", False)
    for raw in addresses:
        try:
            address = ipaddress.ip_address(str(raw).split("%", 1)[0])
        except ValueError:
            raise bad(where, f"media host {host[:120]!r} resolved to a malformed address", ctx) from None
        if not allow_private and not address.is_global:
            raise bad(
                where,
                f"refusing to fetch media from {host[:120]!r}: it resolves to the non-public address {address}",
                ctx,
            )
    return str(addresses[0]).split("%", 1)[0]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _pinned(url: str, ctx: Any, where: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(URL with the checked address as host, Host header, request extensions for TLS SNI)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad(where, f"media URLs must be http(s), got {url[:120]!r}", ctx)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise bad(where, f"the media URL {url[:120]!r} has an invalid port", ctx) from None
    host = parts.hostname
    address = check_address(host, ctx, where, port)
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = parts._replace(netloc=netloc).geturl()
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return pinned, {"host": host_header}, {"sni_hostname": host}


def fetch(url: str, ctx: Any, where: str) -> tuple[str | None, str]:
    """Download ``url`` (bounded size and time, every redirect hop re-checked and pinned) → (MIME type, base64)."""
    import httpx

    settings = _settings()
    limit = min(
        int(getattr(settings, "media_fetch_max_bytes", DEFAULT_MAX_INLINE_BYTES)),
        int(ctx.capabilities.get("max_inline_bytes") or DEFAULT_MAX_INLINE_BYTES),
    )
    timeout = float(getattr(settings, "media_fetch_timeout", 10.0))
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(_REDIRECTS + 1):
            pinned, headers, extensions = _pinned(url, ctx, where)
            try:
                request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
                response = client.send(request, stream=True)
                try:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise bad(where, f"fetching {url[:120]!r} answered HTTP {response.status_code}", ctx)
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > limit:
                            raise bad(
                                where, f"media at {url[:120]!r} is larger than the {limit}-byte limit", ctx
                            )
                    mime = response.headers.get("content-type", "").split(";", 1)[0].strip() or None
                    return mime, base64.b64encode(bytes(body)).decode("ascii")
                finally:
                    response.close()
            except httpx.HTTPError as exc:
                raise bad(where, f"fetching {url[:120]!r} failed: {type(exc).__name__}", ctx) from None
    raise bad(where, f"too many redirects fetching {url[:120]!r}", ctx)
