"""Tests for the Python mutants the suite let through (tools/mutation.py --python, README "Mutation
testing"): each names the change it fails on."""

from __future__ import annotations

import httpx
import pytest

from engine import aio


async def test_a_failed_reply_nobody_waits_on_keeps_its_first_error() -> None:
    """``Reply.fail`` with no reader waiting (aio.py ``wakeup is not None and ...`` -> ``or``: crashed)."""
    reply = aio.Reply(None, stream=True)  # type: ignore[arg-type]
    reply._chunks.append(b"part")
    reply.fail(httpx.ReadError("gone"))
    reply.fail(httpx.ReadError("second"))  # a later break does not replace the first
    seen = []
    with pytest.raises(httpx.ReadError, match="gone"):
        async for chunk in reply.aiter_bytes():
            seen.append(chunk)
    assert seen == [b"part"]  # what arrived before the break is still delivered
