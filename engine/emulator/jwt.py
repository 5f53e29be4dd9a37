"""RS256 JWT parsing and signature verification (RFC 7515/7519), nothing more.

Why not a JWT library: only RS256 with keys the emulator already holds is
needed, and ``cryptography`` (already a dependency of google-auth) does the math.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey


class MalformedJwt(ValueError):
    """The text is not a three-part, base64url JSON web token."""


@dataclass(frozen=True)
class Jwt:
    """A decoded but not yet verified token."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    def verify(self, key: RSAPublicKey) -> bool:
        """True when the RS256 signature was made by the private half of ``key``."""
        if self.header.get("alg") != "RS256":
            return False
        try:
            key.verify(self.signature, self.signing_input, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parse(token: str) -> Jwt:
    """Split and decode ``token`` (raises :class:`MalformedJwt`)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedJwt("a JWT has three dot-separated parts")
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJwt(str(exc)) from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise MalformedJwt("JWT header and claims must be JSON objects")
    return Jwt(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)
