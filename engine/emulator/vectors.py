"""Deterministic unit-length embedding vectors derived from the input.

Why: equal inputs must give equal vectors and different inputs different ones,
so retrieval-style tests behave sensibly without a model.
"""

from __future__ import annotations

import hashlib
import math


def embed(text: str, dimensions: int) -> list[float]:
    """A ``dimensions``-long vector from SHAKE-256 of ``text``, normalised to length 1."""
    raw = hashlib.shake_256(text.encode("utf-8")).digest(2 * dimensions)
    values = [int.from_bytes(raw[i : i + 2], "big") / 32767.5 - 1.0 for i in range(0, len(raw), 2)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]
