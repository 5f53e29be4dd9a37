"""JSON on the per-chunk path: orjson when installed (``pip install 'vertexlate[speedups]'``), else the stdlib.

Why: serializing one OpenAI chunk with ``json.dumps`` costs several times what orjson
does, and a proxied stream parses every event and serializes every chunk (bench/stream_profile.py
--profile shows both in the stream path).
Output is the same compact UTF-8 JSON; what orjson cannot encode (integers beyond 64
bits, non-string keys) or decode (``NaN``, huge integers) falls back to the stdlib, so
results never depend on which is installed.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - exercised where orjson is absent
    orjson = None  # type: ignore[assignment]


def _std_dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


if orjson is not None:
    _odumps, _oloads, _OError = orjson.dumps, orjson.loads, orjson.JSONEncodeError

    def dumps(obj: Any) -> bytes:
        """Compact UTF-8 JSON bytes."""
        try:
            return _odumps(obj)
        except (_OError, TypeError):
            return _std_dumps(obj)

    def loads(data: bytes | str) -> Any:
        """Parse JSON text; raises ``ValueError`` when it is not JSON."""
        try:
            return _oloads(data)
        except ValueError:
            return json.loads(data)

else:
    dumps = _std_dumps
    loads = json.loads

FAST = orjson is not None
