"""Shared by the message transforms: OpenAI content-part checks that do not depend on the target format.

Every family's message transform walks the same OpenAI shape (a string, or a list of
``{"type": ...}`` parts) and dispatches each part to a converter table of its own;
the walking and its error messages live here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from engine.errors import BadRequestError


def bad(where: str, message: str, ctx: Any) -> BadRequestError:
    """A message error naming where it is (``messages[2].content[0]: ...``)."""
    return BadRequestError(f"{where}: {message}", model=getattr(ctx, "model", None), param="messages")


def typed_parts(
    content: Any, converters: Mapping[str, Callable[..., Any]], ctx: Any, where: str
) -> Iterator[tuple[Callable[..., Any], dict[str, Any], str]]:
    """Check a content-part list and pair each part with its converter and location."""
    if not isinstance(content, list):
        raise bad(where, f"content must be a string or a list of parts, got {type(content).__name__}", ctx)
    for i, part in enumerate(content):
        pwhere = f"{where}.content[{i}]"
        if not isinstance(part, dict) or "type" not in part:
            raise bad(pwhere, "each content part must be an object with a 'type'", ctx)
        convert = converters.get(part["type"])
        if convert is None:
            supported = ", ".join(sorted(converters))
            raise bad(pwhere, f"unsupported content part type {part['type']!r} (supported: {supported})", ctx)
        yield convert, part, pwhere


def items(value: Any, ctx: Any, where: str, name: str) -> list[Any]:
    """A message field that must be a list (``tool_calls``, ``thinking_blocks``); absent/None is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad(where, f"{name} must be a list, got {type(value).__name__}", ctx)
    return value


# --------------------------------------------------------------------------- URLs forwarded upstream

FORWARD_SCHEMES = frozenset({"http", "https", "gs", "data"})


def check_forwarded_url(url: Any, ctx: Any, where: str, schemes: frozenset[str] = FORWARD_SCHEMES) -> str:
    """A media URL the upstream will fetch: an allowed scheme, a host, and no internal address literal.

    Why: every family sends ``https://`` (and Gemini ``gs://``) URLs for Google or
    Anthropic to fetch; ``file://``, ``ftp://`` or ``http://169.254.169.254/`` are never
    media a caller may legitimately point a provider at. Names are not resolved here (the
    upstream fetches, not this process); literal addresses and ``localhost`` are refused
    unless ``engine.media_fetch_allow_private`` is set. Fetching media here goes through
    ``gemini_media.fetch``, which also resolves and pins the address.
    """
    import ipaddress
    import sys
    from urllib.parse import urlsplit

    if not isinstance(url, str) or not url:
        raise bad(where, "the media part needs a URL or data string", ctx)
    if url.startswith("data:"):
        if "data" not in schemes:
            raise bad(where, "data: URLs are not accepted here", ctx)
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise bad(where, "the media URL is malformed", ctx) from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        allowed = ", ".join(f"{s}://" if s != "data" else "data:" for s in sorted(schemes))
        raise bad(where, f"unsupported URL scheme {scheme or url[:20]!r}; use {allowed}", ctx)
    if not host:
        raise bad(where, f"the media URL {url[:120]!r} has no host", ctx)
    if scheme in ("http", "https") and not getattr(
        sys.modules.get("engine"), "media_fetch_allow_private", False
    ):
        literal = host.strip("[]")
        try:
            address = ipaddress.ip_address(literal.split("%", 1)[0])
        except ValueError:
            address = None
        if (
            host.lower() == "localhost"
            or host.lower().endswith(".localhost")
            or (address is not None and not address.is_global)
            or (address is None and _numeric_host(literal))
        ):
            raise bad(
                where,
                f"refusing media URL {url[:120]!r}: it names the non-public address {address or host}",
                ctx,
            )
    return url


def _numeric_host(host: str) -> bool:
    """``2130706433`` or ``0x7f.1``: forms that resolvers read as an IP address though ``ipaddress`` does not."""
    import re

    return all(re.fullmatch(r"0x[0-9a-f]*|[0-9]+", label) for label in host.lower().split(".") if label)
