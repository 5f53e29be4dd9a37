"""The proxy's edge: bounded request bodies, and telling a client's bad input from the proxy's own bug.

Why here and not in each handler: the chat endpoints and the files/batches/fine-tuning
routes read bodies and call the engine the same way, and both must answer a client's
mistake with a 4xx in OpenAI's format while a real fault of the proxy stays a 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request

from engine.errors import APIError, BadRequestError

log = logging.getLogger("vertexlate.proxy")

MIB = 1024 * 1024


class PayloadTooLargeError(APIError):
    """413: the request body is larger than ``general_settings.max_request_size_mb``."""

    status_code = 413
    type = "invalid_request_error"


def too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the request body is larger than this proxy accepts ({limit / MIB:g} MB, "
        "general_settings.max_request_size_mb)",
        code="request_too_large",
        llm_provider="proxy",
    )


async def read_body(request: Request, limit: int | None) -> bytes:
    """The whole body, refused with 413 as soon as it (or its declared length) passes ``limit`` bytes.

    uvicorn and granian read bodies of any size, so the limit is the app's: checked
    against ``content-length`` before reading, and again while chunks arrive (a chunked
    upload declares no length).
    """
    if limit is None:
        return await request.body()
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # noqa: SLF001 - Starlette's cache, so request.form() and request.body() see it
    return body


def replay_error(exc: Exception, operation: str, kwargs: dict[str, Any]) -> Exception:
    """What an untyped exception from an engine call means: the client's 400, or the proxy's 500.

    The engine raises typed errors for every input it checks; an untyped one is either
    input it failed to check or a bug. The deciding test is a replay of the request-
    building step alone (``engine.api.prepare``, then encoding the body as strict JSON)
    on the same arguments: the config was validated at start-up, so if building the
    request fails again, this request's values are the cause and the client gets a 400
    naming the failure; if it succeeds, the fault lies after the request was built
    (sending, parsing the reply, the proxy's code) and the original error is returned to
    become a 500 with its traceback in the log. Runs only on the error path.
    """
    from engine.api import prepare

    try:
        call = prepare(operation, dict(kwargs))
        if call.body is not None:
            json.dumps(call.body, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except APIError as typed:
        return typed
    except Exception as again:  # noqa: BLE001 - any failure of the replay is the verdict we want
        text = _cut(str(again))
        log.info("request refused: building it raised %s: %s", type(again).__name__, text)
        return BadRequestError(
            f"the request cannot be processed: {type(again).__name__}: {text}", llm_provider="proxy"
        )
    return exc


def _cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"
