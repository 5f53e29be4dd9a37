"""Small but real media files generated from a seed: PNG images and WAV/PCM audio.

Why real bytes: clients decode what they get (PIL, ``wave``, browsers), so the
emulator returns a genuine PNG and a genuine RIFF/WAVE file rather than filler.
Formats: PNG per RFC 2083 / ISO 15948, WAV as RIFF PCM (the header Google says
LINEAR16 output carries: texttospeech.v1 discovery, AudioEncoding).
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
import zlib


def png(seed: str, width: int = 8, height: int = 8) -> bytes:
    """An RGB PNG whose colours are derived from ``seed``."""
    palette = hashlib.sha256(seed.encode("utf-8")).digest()
    rows = b""
    for y in range(height):
        row = bytearray([0])  # filter type 0 (None)
        for x in range(width):
            base = ((x + y) % 10) * 3
            row += palette[base : base + 3]
        rows += bytes(row)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pcm16(seed: str, seconds: float, rate: int = 24000) -> bytes:
    """Mono 16-bit little-endian samples: a soft tone whose pitch comes from ``seed``."""
    pitch = 220 + hashlib.sha256(seed.encode("utf-8")).digest()[0] * 2
    count = max(1, int(seconds * rate))
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * i / rate))) for i in range(count)
    )


def wav(samples: bytes, rate: int = 24000) -> bytes:
    """Wrap 16-bit mono PCM ``samples`` in a RIFF/WAVE container."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples)
    return buffer.getvalue()


def stand_in(kind: str, seed: str) -> bytes:
    """Deterministic placeholder bytes for compressed formats (MP3, OGG_OPUS, M4A).

    They start with the format's magic bytes so sniffers recognise the type, but
    they are not decodable audio; only LINEAR16/PCM/MULAW/ALAW are real.
    """
    magic = {
        "MP3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
        "OGG_OPUS": b"OggS\x00\x02",
        "M4A": b"\x00\x00\x00\x18ftypM4A ",
    }
    return magic.get(kind, b"") + hashlib.sha256(seed.encode("utf-8")).digest()


def mulaw(samples: bytes) -> bytes:
    """G.711 mu-law companding of 16-bit PCM (8-bit output)."""
    out = bytearray()
    for (value,) in struct.iter_unpack("<h", samples):
        sign = 0x80 if value < 0 else 0
        magnitude = min(abs(value), 32635) + 132
        exponent = max(0, magnitude.bit_length() - 8)
        mantissa = (magnitude >> (exponent + 3)) & 0x0F
        out.append(~(sign | (exponent << 4) | mantissa) & 0xFF)
    return bytes(out)


def wav_g711(encoded: bytes, rate: int, format_tag: int) -> bytes:
    """A WAVE file holding 8-bit G.711 data (format 7 = mu-law, 6 = A-law)."""
    fmt = struct.pack("<HHIIHH", format_tag, 1, rate, rate, 1, 8)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(encoded))
        + encoded
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def alaw(samples: bytes) -> bytes:
    """G.711 A-law companding of 16-bit PCM (8-bit output, even bits inverted)."""
    out = bytearray()
    for (value,) in struct.iter_unpack("<h", samples):
        sign = 0x80 if value >= 0 else 0
        magnitude = min(abs(value) >> 3, 4095)
        if magnitude < 32:
            code = magnitude >> 1
        else:
            segment = magnitude.bit_length() - 5
            code = (segment << 4) | ((magnitude >> segment) & 0x0F)
        out.append((sign | code) ^ 0x55)
    return bytes(out)
