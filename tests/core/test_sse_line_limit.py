"""The SSE decoder's documented line limit: 64 MiB without a line end is accepted, one byte more is refused.

Kills the mutants of ``MAX_LINE_BYTES`` (engine/sse.py) in either direction; the limit is
written out here, not read from the module, so a changed constant fails.
"""

from __future__ import annotations

import pytest

from engine.sse import SSEDecoder, SSEError

LIMIT = 64 * 2**20


def test_a_line_at_the_limit_is_kept_and_ends_as_one_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: " + b"x" * (LIMIT - 6)) == []  # exactly the limit, no end yet
    (event,) = decoder.feed(b"\n\n")
    assert len(event.data) == LIMIT - 6


def test_one_byte_beyond_the_limit_is_refused() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: " + b"x" * (LIMIT - 6))
    with pytest.raises(SSEError, match=str(LIMIT)):
        decoder.feed(b"x")
