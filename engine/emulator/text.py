"""Deterministic text helpers: token counts, echo text, stream chunking, ids.

Why deterministic: tests assert exact usage numbers and contents, so the same
request must always produce the same answer. A "token" here is a word or a
punctuation mark, which is stable and easy to reason about in assertions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

_TOKEN = re.compile(r"\w+|[^\w\s]")
_CHUNK = re.compile(r"\S+\s*|\s+")
TEXT_KEYS = frozenset({"text", "content", "prompt", "suffix", "system", "input", "prefix", "context"})


def count_tokens(text: str) -> int:
    """Words plus punctuation marks in ``text``."""
    return len(_TOKEN.findall(text))


def collect_texts(value: Any, keys: Iterable[str] = TEXT_KEYS) -> list[str]:
    """Every string found under one of ``keys`` anywhere inside ``value``."""
    wanted = frozenset(keys)
    found: list[str] = []

    def walk(node: Any, under_key: bool) -> None:
        if isinstance(node, str):
            if under_key:
                found.append(node)
        elif isinstance(node, dict):
            for key, child in node.items():
                walk(child, key in wanted)
        elif isinstance(node, list):
            for child in node:
                walk(child, under_key)

    walk(value, False)
    return found


def first_tokens(text: str, limit: int) -> str:
    """The prefix of ``text`` that holds its first ``limit`` tokens."""
    if limit <= 0:
        return ""
    found = list(_TOKEN.finditer(text))
    return text if len(found) <= limit else text[: found[limit - 1].end()]


def prompt_tokens(value: Any) -> int:
    """Token count of all prompt text inside a request body (at least 1, as services bill)."""
    return max(1, sum(count_tokens(t) for t in collect_texts(value)))


def chunks(text: str, words: int = 3) -> list[str]:
    """Split ``text`` into pieces of a few words (whitespace kept) for streaming."""
    pieces = _CHUNK.findall(text)
    grouped = ["".join(pieces[i : i + words]) for i in range(0, len(pieces), words)]
    return grouped or [""]


def digest(*parts: Any, length: int = 16) -> str:
    """A short stable hex digest of ``parts``."""
    raw = json.dumps(parts, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:length]


def signature_for(thought: str) -> str:
    """A stable opaque base64 thought signature derived from the thought text."""
    return base64.b64encode(hashlib.sha256(("signature:" + thought).encode("utf-8")).digest()).decode("ascii")


def echo(text: str | None) -> str:
    """The default answer: what the user said, so tests can see what arrived."""
    return f"Echo: {text}" if text else "Echo: (no text)"
