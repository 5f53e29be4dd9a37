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


def test_the_assembled_stream_keeps_the_upstream_id_and_text() -> None:
    """``ChatStream.assembled`` (what stream finalize checks read): response.py ``self.id or new_id()``
    -> ``and`` replaced the upstream id by a fresh one and left an id-less stream without any."""
    from engine.compiler import ResponseSpec
    from engine.response import ChatStream

    stream = ChatStream({}, ResponseSpec(), None, "m", include_usage=False)
    stream.id = "msg_upstream"
    stream.text = {0: ["Hel", "lo"], 1: ["second"]}
    whole = stream.assembled()
    assert whole.id == "msg_upstream"
    assert [c.message.content for c in whole.choices] == ["Hello", "second"]
    stream.id = None
    fresh = stream.assembled().id
    assert isinstance(fresh, str) and fresh.startswith("chatcmpl-") and len(fresh) > len("chatcmpl-")


def test_sum_with_two_arguments_is_the_references_arity_error() -> None:
    """jmes.py's ``sum`` fast path is for one argument (``len(args) == 1`` -> ``== 2`` crashed with a
    ValueError on ``sum(a, b)`` instead of JMESPath's ArityError)."""
    import jmespath
    from jmespath.exceptions import ArityError

    from engine.jmes import compile_expression

    data = {"a": [1, 2], "b": [3]}
    with pytest.raises(ArityError):
        jmespath.search("sum(a, b)", data)
    with pytest.raises(ArityError):
        compile_expression("sum(a, b)")(data)
    assert compile_expression("sum(a)")(data) == 3


def _nested(levels: int, kind: str) -> object:
    value: object = {} if kind == "dict" else []
    for _ in range(levels - 1):
        value = {"k": value} if kind == "dict" else [value]
    return value


@pytest.mark.parametrize("kind", ["dict", "list", "mixed"])
def test_nesting_limit_is_exact_for_objects_and_lists(kind: str) -> None:
    """``MAX_DEPTH`` levels are accepted, one more refused, whatever the containers (options.py
    ``_too_deep(..., budget - 1)`` -> ``budget - 2`` let objects nest twice as deep)."""
    from engine.errors import BadRequestError
    from engine.options import MAX_DEPTH, check_nesting

    assert MAX_DEPTH == 100  # protobuf's default recursion limit

    def build(levels: int) -> object:
        if kind != "mixed":
            return _nested(levels, kind)
        value: object = {}
        for i in range(levels - 1):
            value = {"k": value} if i % 2 else [value]
        return value

    check_nesting("tools", build(MAX_DEPTH))
    with pytest.raises(BadRequestError, match="nested more than 100 levels"):
        check_nesting("tools", build(MAX_DEPTH + 1))
