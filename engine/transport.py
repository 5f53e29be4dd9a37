"""Sending requests: the sync httpx client, retries with backoff, and upstream errors as typed exceptions.

One ``httpx.Client`` per process keeps connections alive across sync calls; async calls
use the engine's own transport (:mod:`engine.aio`, one pool per event loop), whose
failures are httpx's exception classes, so both paths map errors alike. Retries follow the usual contract: 429, 5xx and
connection errors are retried with exponential backoff and jitter (honoring
``Retry-After``); other 4xx are not; a 401 forces one token refresh and one retry.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx

from engine.compiler import ErrorSpec
from engine.errors import APIConnectionError, APIError, BadRequestError, InternalServerError, Timeout

log = logging.getLogger("vertexlate")

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
BASE_DELAY = 0.5
MAX_DELAY = 30.0

_sync_client: httpx.Client | None = None
_sync_lock = threading.Lock()


def async_client() -> Any:
    """The engine's async transport (:func:`engine.aio.transport`), under its former name."""
    from engine import aio

    return aio.transport()


def sync_client() -> httpx.Client:
    global _sync_client
    if _sync_client is None:
        with _sync_lock:
            if _sync_client is None:
                _sync_client = httpx.Client(limits=sync_limits(), timeout=None)
    return _sync_client


def sync_limits() -> httpx.Limits:
    """The sync client's pool: the async transport's limits (``engine.aio.configure``), read when it is created.

    Why not httpx's own cap (it was 200 here): a threaded server carrying long streams holds one
    connection per stream, and calls beyond the cap queued for a free one; one set of limits,
    sized for thousands of streams, now covers both paths.
    """
    from engine import aio

    limits = aio.LIMITS
    return httpx.Limits(
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_idle_per_origin,
        keepalive_expiry=limits.idle_expiry,
    )


@dataclass
class Attempt:
    """What one failed try means for the next: wait ``delay`` seconds, or give up with ``error``."""

    delay: float | None
    error: APIError | None
    refresh: bool = False


def upstream_error(errors: ErrorSpec, status: int, body: bytes, headers: Any, model: str | None) -> APIError:
    """Map a non-2xx reply to the exception class the spec's error table names."""
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    message = errors.message.search(data) if data is not None and errors.message is not None else None
    if not isinstance(message, str) or not message:
        message = body.decode("utf-8", errors="replace").strip()[:1000] or f"HTTP {status} with an empty body"
    status_text = errors.status.search(data) if data is not None and errors.status is not None else None
    cls = next((c for pattern, c in errors.by_message if pattern.search(message)), None)
    if cls is None:
        cls = errors.by_status.get(status) or (
            InternalServerError if status >= 500 else BadRequestError if status < 500 else APIError
        )
    return cls(
        f"Vertex AI returned {status}{f' {status_text}' if status_text else ''}: {message}",
        model=model,
        status_code=status,
        request_id=headers.get("x-request-id") or headers.get("x-goog-request-id"),
        code=status_text,
        body=data,
        headers={
            k: v for k, v in headers.items() if k.lower() in ("retry-after", "x-request-id", "content-type")
        },
    )


def retry_delay(attempt: int, headers: Any) -> float:
    retry_after = headers.get("retry-after") if headers is not None else None
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), MAX_DELAY)
        except ValueError:
            pass
    return min(BASE_DELAY * (2**attempt), MAX_DELAY) * (0.75 + random.random() * 0.5)


def decide(
    status: int | None,
    error: APIError,
    headers: Any,
    attempt: int,
    num_retries: int,
    refreshed: bool,
    can_refresh: bool,
) -> Attempt:
    """The retry policy, shared by the sync and async paths."""
    if status == 401 and can_refresh and not refreshed:
        return Attempt(0.0, None, refresh=True)
    retryable = status is None or status in RETRYABLE_STATUS
    if retryable and attempt < num_retries:
        return Attempt(retry_delay(attempt, headers), None)
    return Attempt(None, error)


def connection_error(exc: httpx.HTTPError, model: str | None) -> APIError:
    if isinstance(exc, httpx.TimeoutException):
        return Timeout(f"request to Vertex AI timed out ({type(exc).__name__})", model=model)
    return APIConnectionError(f"could not reach Vertex AI: {type(exc).__name__}: {exc}", model=model)


def timeout_of(value: Any) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    return _timeout(float(value) if value is not None else 600.0)


@lru_cache(maxsize=64)
def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, 30.0))


def sleep_for(attempt: Attempt) -> None:
    if attempt.delay:
        time.sleep(attempt.delay)
