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
