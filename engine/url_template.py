"""The URL template language: substituted values are percent-encoded unless a spec says otherwise.

A value a caller controls (a job id, a bucket, a model name, a page token) must never
change the shape of an upstream URL: a ``?``, ``#``, ``/`` or ``..`` in it would add a
query, cut the path or climb it (``gs://bkt%3FuserProject=x%26alt=media%23/o``). So in
URL templates (``url``, ``stream_url``, ``fetch.url`` and ``vars``) every ``{{ ... }}``
is encoded as one path segment or query value (RFC 3986: everything but unreserved
characters and ``@`` is percent-encoded, ``/`` included), and a value that *is* ``.`` or
``..`` is refused. Explicit opt-outs, for values that are not one segment:

- ``{{ name | path }}``: a path; each ``/``-separated segment is encoded, and a ``.``,
  ``..`` or empty segment is refused;
- ``{{ base | raw }}``: inserted as it is (a base URL the caller configures, like
  ``api_base``; never for ids).

Rendered ``vars`` (``prefix``, ``resource``...) and ``api_base`` are URL pieces already
encoded when they were rendered, so they are inserted as they are. ``urlencode`` is
the same full encoding (so specs written for plain Jinja2 do not encode twice).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import jinja2

from engine.errors import BadRequestError
from engine.redact import short

SEGMENT_SAFE = "@"  # besides unreserved characters (RFC 3986 pchar, minus sub-delims and ':')


class Safe(str):
    """A URL piece inserted as it is: a rendered var, ``api_base``, or a ``raw``/``path`` result."""

    __slots__ = ()


def encode_segment(value: Any) -> str:
    """One path segment or query value, percent-encoded; ``.`` and ``..`` are refused."""
    if isinstance(value, Safe):
        return value
    text = value if isinstance(value, str) else str(value)
    if text in (".", ".."):
        raise BadRequestError(f"a URL path value may not be {text!r} (it would climb the path)")
    return quote(text, safe=SEGMENT_SAFE)


def encode_path(value: Any) -> Safe:
    """A value that is a path: every segment encoded; ``.``, ``..`` and empty segments refused."""
    text = value if isinstance(value, str) else str(value)
    segments = text.split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise BadRequestError(f"a URL path value may not have empty, '.' or '..' segments, got {short(text)}")
    return Safe("/".join(quote(s, safe=SEGMENT_SAFE) for s in segments))


def raw(value: Any) -> Safe:
    """Explicit opt-out: the value is inserted as it is."""
    return Safe(value if isinstance(value, str) else str(value))


def urlencode(value: Any) -> Safe:
    return Safe(encode_segment(value))


def _finalize(value: Any) -> Any:
    return encode_segment(value)


def environment() -> jinja2.Environment:
    """The Jinja2 environment of URL templates (strict: an undefined name is an error)."""
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False, finalize=_finalize
    )
    env.filters.update({"path": encode_path, "raw": raw, "urlencode": urlencode})
    return env
