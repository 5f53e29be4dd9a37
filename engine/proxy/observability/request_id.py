"""Request ids: one per request, taken from ``x-request-id`` when it is sane, else generated.

Why a context variable: the id must reach places that have no handle on the request (error
bodies built deep in a handler, log records, the router's metrics hooks) without changing
their signatures. Every ASGI request runs in its own task with its own copy of the context,
so one request's id never leaks into another's.
"""

from __future__ import annotations

import itertools
import os
import time
from contextvars import ContextVar

HEADER = "x-request-id"
RAW_HEADER = HEADER.encode("ascii")
MAX_LENGTH = 128

CURRENT: ContextVar[str | None] = ContextVar("vertexlate_request_id", default=None)


class _Ids:
    """Unique, time-ordered ids: 48 bits of milliseconds, 40 random bits per process, a 40-bit counter.

    Why time-ordered: the id is the spend log's primary key, and keys that grow with time
    are appended to the index instead of landing on a random page of it (SQLite's insert
    costs about a fifth less). Why not ``os.urandom`` per id: that is a system call on every
    request, and it lets another thread take the GIL. The random part is drawn again in a
    forked child, so workers forked from one process never share it.
    """

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.process = os.urandom(5).hex()
        self.counter = itertools.count(int.from_bytes(os.urandom(4), "big"))

    def __call__(self) -> str:
        return f"{time.time_ns() // 1_000_000 & 0xFFFFFFFFFFFF:012x}{self.process}{next(self.counter) & 0xFFFFFFFFFF:010x}"


generate = _Ids()
"""A fresh id: 32 hex digits, unique, ordered by time (see :class:`_Ids`)."""


def valid(value: str | None) -> bool:
    """Whether a client's id may be used: 1-128 printable ASCII characters (no control bytes, no spaces)."""
    return (
        bool(value)
        and len(value) <= MAX_LENGTH
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )  # type: ignore[union-attr]


def from_scope(headers: list[tuple[bytes, bytes]]) -> tuple[str, bool]:
    """The request's id from its raw ASGI headers, and whether the client supplied it."""
    for name, value in headers:
        if name == RAW_HEADER:
            text = value.decode("latin-1")
            if valid(text):
                return text, True
            break
    return generate(), False


def begin(headers: list[tuple[bytes, bytes]]) -> tuple[str, bool]:
    """Assign the current request its id (see :func:`from_scope`) and return it."""
    rid, supplied = from_scope(headers)
    CURRENT.set(rid)
    SUPPLIED.set(supplied)
    return rid, supplied


SUPPLIED: ContextVar[bool] = ContextVar("vertexlate_request_id_supplied", default=False)


def current() -> str | None:
    """The id of the request being handled, or None outside a request."""
    return CURRENT.get()


def spend_id() -> str | None:
    """The id for the request's spend row: the request id, made unique when the client chose it.

    Why: the spend table's primary key is the request id and a duplicate row is dropped (so a
    retried batch counts once); a client that repeated its own ``x-request-id`` would otherwise
    make the proxy drop that request's spend. Such rows get ``<id>.<8 hex>``.
    """
    rid = CURRENT.get()
    if rid is None or not SUPPLIED.get():
        return rid
    return f"{rid}.{os.urandom(4).hex()}"
