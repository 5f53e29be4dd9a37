"""Short, secret-free renderings of values for error messages and logs.

Every error message and log line that quotes caller input goes through :func:`short`
(so a 5 MB string gives a short error), and every header or config key that may carry
a secret goes through :func:`is_secret_name` / :func:`redact_headers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Header names that carry credentials (compared case-insensitively).
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-goog-api-key",
        "x-api-key",
        "api-key",
        "x-litellm-api-key",
        "cookie",
        "set-cookie",
    }
)

# Parts of a key name that mark its value as secret (config keys, body fields, env references).
SECRET_NAME_PARTS = ("key", "secret", "token", "password", "credential", "private", "auth")

MASK = "***"


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, saying how long it was."""
    try:
        text = repr(value) if not isinstance(value, str) else repr(value[: limit + 1])
    except Exception:  # a hostile __repr__ must not turn a validation error into a crash
        text = f"<{type(value).__name__}>"
    if len(text) <= limit:
        return text
    size = f"{len(value)} chars" if isinstance(value, (str, bytes)) else type(value).__name__
    return f"{text[:limit]}…({size})"


def is_secret_name(name: Any) -> bool:
    """Whether a header or key called ``name`` may hold a secret."""
    if not isinstance(name, str):
        return False
    lowered = name.lower()
    return lowered in SECRET_HEADERS or any(part in lowered for part in SECRET_NAME_PARTS)


def redact_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``headers`` with every secret-bearing value masked."""
    return {k: (MASK if is_secret_name(k) else v) for k, v in headers.items()}
