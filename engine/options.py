"""Validate the engine's own options (and the shape of every argument) before any work is done.

Why a module of its own: every public call and the gateway pass through
:func:`check_options` once, at the top of ``api.prepare``, so a wrong-typed
``timeout``, a header that is not a header, or a message nested ten thousand
levels deep becomes a :class:`BadRequestError` naming the option, never a bare
``TypeError``/``RecursionError`` from deep inside httpx or a transform
(architecture rule 6). Values are quoted only through :func:`engine.redact.short`.

The table below is the option contract (Portkey-style: name, accepted values):

===================================  ======================================================
option                               accepted
===================================  ======================================================
``stream``, ``drop_params``          bool
``stream_options``                   ``{"include_usage": bool}``
``timeout``, ``request_timeout``     finite number in (0, MAX_TIMEOUT] or ``httpx.Timeout``
``num_retries``, ``max_retries``     int in [0, MAX_RETRIES]
``vertex_project`` / ``_location``   str (its grammar is checked by :func:`check_url_values`)
``vertex_credentials``               JSON str, key-file path, dict, google-auth credentials
``api_base``, ``base_url``           ``http(s)://host[:port][/path]``
``extra_headers``                    dict of header name (RFC 9110 token) → str
``extra_body``                       dict
``custom_llm_provider``              str
===================================  ======================================================

URL-bound values (project, location, model id) are checked against the grammar the
spec carries (capability ``url_grammar``, specs/vertex.yaml) once they are resolved,
whatever their source, by :func:`check_url_values`; ``api_base`` stays the only way to
choose the host.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from engine.errors import BadRequestError
from engine.redact import short

MAX_TIMEOUT = 86400.0  # one day; larger values overflow the event loop's timers
MAX_RETRIES = 100
MAX_DEPTH = 100  # nesting of any argument; protobuf's default recursion limit is 100 too
MAX_MODEL_CHARS = 512
MAX_PATH_CHARS = 4096  # PATH_MAX on Linux
MAX_HEADER_CHARS = 8192

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")  # RFC 9110 5.6.2 token (a field name)
_HEADER_VALUE = re.compile(
    r"[\t\x20-\x7e]*\Z"
)  # RFC 9110 5.5 field-value in ASCII (httpx sends ASCII): no CR/LF/NUL


def _bad(option: str, message: str) -> BadRequestError:
    return BadRequestError(f"{option}: {message}", param=option)


def _type_error(option: str, expected: str, value: Any) -> BadRequestError:
    return _bad(option, f"must be {expected}, got {type(value).__name__} {short(value)}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _type_error(name, "true or false", value)


def _check_stream_options(name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise _type_error(name, 'an object such as {"include_usage": true}', value)
    unknown = [k for k in value if k != "include_usage"]
    if unknown:
        raise _bad(name, f"unknown key {short(unknown[0])} (supported: include_usage)")
    usage = value.get("include_usage")
    if usage is not None and not isinstance(usage, bool):
        raise _bad(name, f"include_usage must be true or false, got {type(usage).__name__} {short(usage)}")


def _check_timeout(name: str, value: Any) -> None:
    if type(value).__name__ == "Timeout" and type(value).__module__.startswith("httpx"):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(name, "a number of seconds", value)
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        raise _bad(name, f"must be a finite number of seconds in (0, {MAX_TIMEOUT:g}], got {short(value)}")


def _check_retries(name: str, value: Any) -> None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(name, "an integer", value)
    if not 0 <= value <= MAX_RETRIES:
        raise _bad(name, f"must be between 0 and {MAX_RETRIES}, got {short(value)}")


def _check_str(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise _type_error(name, "a string", value)


def _check_place(name: str, value: Any) -> None:
    """Project and location: strings of printable ASCII (their grammar is checked once resolved)."""
    if not isinstance(value, str):
        raise _type_error(name, "a string", value)
    if not (value.isascii() and value.isprintable()) or len(value) > 128:
        raise _bad(name, f"is not a Google Cloud {name.rsplit('_', 1)[-1]} id: {short(value)}")


def _check_credentials(name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        return  # its contents are checked once, when the credential is first loaded (engine.auth)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise _bad(name, "is empty")
        if text.startswith("{"):
            return
        # A key-file path: refuse what ``open`` would turn into a bare ValueError/UnicodeError.
        if "\x00" in text:
            raise _bad(name, "the key-file path contains a NUL character")
        if len(text) > MAX_PATH_CHARS:
            raise _bad(name, f"is neither JSON nor a usable path (longer than {MAX_PATH_CHARS} characters)")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _bad(name, "the key-file path is not valid UTF-8") from None
        return
    if hasattr(value, "refresh") and hasattr(value, "token"):
        return  # a google-auth Credentials object
    raise _type_error(name, "a JSON string, a key-file path, a dict or google-auth credentials", value)


def _check_api_base(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise _type_error(name, "a URL string", value)
    _check_url(name, value)


@lru_cache(maxsize=256)
def _check_url(name: str, value: str) -> None:
    """Cached: callers pass the same api_base on every call (a failed check is not cached)."""
    if not (value.isascii() and value.isprintable()) or " " in value or len(value) > 2048:
        raise _bad(name, f"is not a URL: {short(value)}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise _bad(name, f"is not a URL: {short(value)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(name, f"must be an http(s):// URL with a host, got {short(value)}")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise _bad(name, f"must not carry a query, a fragment or user info: {short(value)}")


def _check_headers(name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise _type_error(name, "an object of header names to string values", value)
    for key, item in value.items():
        if not isinstance(key, str) or not _TOKEN.match(key):
            raise _bad(
                name, f"{short(key)} is not a valid header name (ASCII letters, digits, -_.!#$%&'*+^`|~)"
            )
        if not isinstance(item, str):
            raise _bad(name, f"the value of header {key!r} must be a string, got {type(item).__name__}")
        if len(item) > MAX_HEADER_CHARS or not _HEADER_VALUE.match(item):
            raise _bad(
                name,
                f"the value of header {key!r} has characters a header cannot carry (CR, LF, NUL, non-ASCII)",
            )


def _check_mapping(name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise _type_error(name, "an object", value)
    check_nesting(name, value)  # merged into the body as it is


CHECKS: dict[str, Any] = {
    "stream": _check_bool,
    "drop_params": _check_bool,
    "stream_options": _check_stream_options,
    "timeout": _check_timeout,
    "request_timeout": _check_timeout,
    "num_retries": _check_retries,
    "max_retries": _check_retries,
    "vertex_project": _check_place,
    "vertex_ai_project": _check_place,
    "vertex_location": _check_place,
    "vertex_ai_location": _check_place,
    "vertex_credentials": _check_credentials,
    "api_base": _check_api_base,
    "base_url": _check_api_base,
    "extra_headers": _check_headers,
    "extra_body": _check_mapping,
    "custom_llm_provider": _check_str,
}


def check_model(model: Any) -> None:
    """The model name: a short printable ASCII string (its URL grammar is checked once resolved)."""
    if not isinstance(model, str):
        return  # prepare reports a missing model with its own message
    if len(model) > MAX_MODEL_CHARS or not (model.isascii() and model.isprintable()):
        raise BadRequestError(f"model: not a Vertex AI model name: {short(model)}", param="model")


def check_options(kwargs: Mapping[str, Any]) -> None:
    """Check every engine option and the nesting of every argument; raise ``BadRequestError`` naming it."""
    check_model(kwargs.get("model"))
    for name, value in kwargs.items():
        if value is None:
            continue
        check = CHECKS.get(name)
        if check is not None:
            check(name, value)
        elif isinstance(value, str):
            if not value.isascii():
                _check_text(name, value)
        elif isinstance(value, (dict, list, tuple)):
            check_nesting(name, value)


def check_nesting(name: str, value: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse values nested deeper than ``limit``, or carrying text JSON cannot encode (lone surrogates).

    The walk stops at ``limit`` levels, so a hostile depth cannot raise ``RecursionError`` here
    (``limit`` is far below Python's recursion limit); every transform after it may then recurse
    freely. ASCII text costs nothing to check (``str.isascii`` is O(1) in CPython).
    """
    if _too_deep(name, value, limit):
        raise BadRequestError(f"{name}: nested more than {limit} levels deep", param=name)


def _too_deep(name: str, node: Any, budget: int) -> bool:
    if budget <= 0:
        return True
    if isinstance(node, dict):
        for key, item in node.items():
            if isinstance(key, str):
                if not key.isascii():
                    _check_text(name, key)
            elif not isinstance(key, (int, float, bool)) and key is not None:
                raise BadRequestError(
                    f"{name}: object keys must be strings, got {type(key).__name__} {short(key)}", param=name
                )
            if isinstance(item, str):
                if not item.isascii():
                    _check_text(name, item)
            elif isinstance(item, (dict, list, tuple)) and _too_deep(name, item, budget - 1):
                return True
    elif isinstance(node, (list, tuple)):
        for item in node:
            if isinstance(item, str):
                if not item.isascii():
                    _check_text(name, item)
            elif isinstance(item, (dict, list, tuple)) and _too_deep(name, item, budget - 1):
                return True
    return False


def _check_text(name: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequestError(
            f"{name}: text contains a lone surrogate {text[exc.start : exc.end]!r} (not valid Unicode, cannot be sent "
            "as JSON)",
            param=name,
        ) from None


# --------------------------------------------------------------------------- URL-bound values


@lru_cache(maxsize=64)
def _grammar(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=4096)
def _matches(pattern: str, value: str) -> bool:
    return _grammar(pattern).fullmatch(value) is not None


def check_url_values(
    grammar: Mapping[str, str] | None, values: Mapping[str, Any], model: str | None = None
) -> None:
    """Each value that reaches a URL (``project``, ``location``, ``model``...) must match its spec grammar.

    ``grammar`` is the model's ``url_grammar`` capability: value name → regular expression,
    from Google's documented forms (specs/vertex.yaml cites them). A value the grammar does
    not name is not checked here; ``None`` values are not used by the URL.
    """
    if not grammar:
        return
    for name, value in values.items():
        pattern = grammar.get(name)
        if pattern is None or value is None:
            continue
        if not isinstance(value, str) or not _matches(pattern, value):
            param = {"project": "vertex_project", "location": "vertex_location"}.get(name, name)
            raise BadRequestError(
                f"{param}: {short(value)} is not a valid Google Cloud {name} "
                f"(expected the form {pattern}); use api_base to choose another host",
                model=model,
                param=param,
            )
