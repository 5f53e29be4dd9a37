"""Request ids: one per request, taken from ``x-request-id`` when it is sane, else generated.

Why a context variable: the id must reach places that have no handle on the request (error
bodies built deep in a handler, log records, the router's metrics hooks) without changing
their signatures. Every ASGI request runs in its own task with its own copy of the context,
so one request's id never leaks into another's.
"""

from __future__ import annotations

import os
from contextvars import ContextVar

HEADER = "x-request-id"
RAW_HEADER = HEADER.encode("ascii")
MAX_LENGTH = 128

CURRENT: ContextVar[str | None] = ContextVar("vertexlate_request_id", default=None)


def generate() -> str:
    """A fresh id: 128 random bits in hex (as the spend log's own ids)."""
    return os.urandom(16).hex()


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
