"""How many examples a property test runs: its base count times ``VERTEXLATE_FUZZ_FACTOR`` (default 1).

CI runs the base counts with a fixed seed (the ``ci`` hypothesis profile in tests/conftest.py);
``VERTEXLATE_FUZZ_FACTOR=50 pytest tests/...`` runs fifty times as many before a release.
"""

from __future__ import annotations

import os


def examples(base: int) -> int:
    """``base`` scaled by ``VERTEXLATE_FUZZ_FACTOR`` (a positive integer)."""
    try:
        factor = int(os.environ.get("VERTEXLATE_FUZZ_FACTOR", "1"))
    except ValueError:
        factor = 1
    return base * max(1, factor)
