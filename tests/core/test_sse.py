"""The SSE decoder yields the same events however the network splits the bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.sse import Event, SSEDecoder

# Framing as Gemini's streamGenerateContent?alt=sse sends it (data lines, CRLF CRLF), plus an
# Anthropic-style event line and a comment, a multi-line data field and a non-ASCII character.
STREAM = (
    b'data: {"candidates": [{"content": {"parts": [{"text": "Gr\xc3\xbc\xc3\x9fe"}]}}]}\r\n\r\n'
    b": keep-alive comment\n\n"
    b"event: message_delta\n"
    b'data: {"type": "message_delta"}\n\n'
    b"data: line one\n"
    b"data: line two\r\r"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    (None, '{"candidates": [{"content": {"parts": [{"text": "Grüße"}]}}]}'),
    ("message_delta", '{"type": "message_delta"}'),
    (None, "line one\nline two"),
    (None, "[DONE]"),
]


def decode(chunks: list[bytes]) -> list[tuple[str | None, str]]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)] + list(decoder.close())
    return [(e.event, e.data) for e in events]


def test_whole_stream() -> None:
    assert decode([STREAM]) == EXPECTED


def test_every_single_split_point() -> None:
    for cut in range(len(STREAM) + 1):
        assert decode([STREAM[:cut], STREAM[cut:]]) == EXPECTED, cut


def test_byte_by_byte() -> None:
    assert decode([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_arbitrary_splits(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(STREAM)]
    assert decode([STREAM[a:b] for a, b in zip(points, points[1:], strict=False)]) == EXPECTED


def test_last_event_without_blank_line_still_counts() -> None:
    assert decode([b"data: tail"]) == [(None, "tail")]


def test_lone_cr_and_data_without_colon_and_bad_utf8_at_the_end() -> None:
    stream = b"data: a\rdata\r\rdata: b\r\n\r\nevent: e\ndata: \xc3"
    assert decode([stream]) == [(None, "a\n"), (None, "b"), ("e", "\ufffd")]
    for cut in range(len(stream) + 1):
        assert decode([stream[:cut], stream[cut:]]) == [(None, "a\n"), (None, "b"), ("e", "\ufffd")], cut


def test_a_line_that_is_not_utf8_is_an_sse_error() -> None:
    """Engine streams turn SSEError into APIResponseValidationError, never a bare UnicodeDecodeError."""
    from engine.sse import SSEError

    decoder = SSEDecoder()
    assert decoder.feed("data: é\n\n".encode()) == [Event(None, "é")]
    with pytest.raises(SSEError, match="not UTF-8"):
        decoder.feed(b"data: \xff\xfe\n\n")
