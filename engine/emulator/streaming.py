"""Streamed responses with the three framings in use, and stream faults.

Why one streamer: Gemini SSE (``data: {json}\\r\\n\\r\\n``), Gemini's JSON-array
stream, Anthropic SSE (``event: <type>\\ndata: {json}\\n\\n``) and OpenAI SSE
(``data: {json}\\n\\n`` … ``data: [DONE]``) differ only in framing; cutting a
stream mid-way, injecting a malformed chunk or an error event after a 200 (Vertex's
``{"error": {"code", "message", "status"}}``, Anthropic's ``{"type": "error", ...}``)
must work the same for all.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from engine.emulator.errors import error_body
from engine.emulator.reply import Reply

# Python 3.11+ wraps task-group failures; on 3.10 there is no group type to unwrap.
_GROUP: type[BaseException] | None = getattr(builtins, "BaseExceptionGroup", None)


class StreamCut(Exception):
    """Raised inside a streaming body to drop the connection without a clean end."""


def _is_cut(exc: BaseException | None) -> bool:
    """Whether a StreamCut is anywhere in ``exc``'s chain or groups.

    Iterative, each exception once: a chain can loop (an exception re-raised while handling one
    that has it as context), and this runs inside logging, where a RecursionError would break
    the server's error handling for the connection (found with a proxy relaying a cut stream).
    """
    seen: set[int] = set()
    todo = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, StreamCut):
            return True
        if _GROUP is not None and isinstance(item, _GROUP):
            todo.extend(item.exceptions)  # type: ignore[attr-defined]
        todo.extend((item.__cause__, item.__context__))
    return False


class _QuietCuts(logging.Filter):
    """Keep uvicorn's log free of tracebacks for cuts the test asked for."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _is_cut(record.exc_info[1]))


def install_log_filter() -> None:
    """Attach the filter once to uvicorn's error logger."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietCuts) for f in logger.filters):
        logger.addFilter(_QuietCuts())


def _payload(event: Any) -> str:
    return event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)


# Anthropic's error types by HTTP status (https://docs.anthropic.com/en/api/errors).
ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def _google_error_event(status: int, message: str | None) -> Any:
    return error_body(status, message)


def _anthropic_error_event(status: int, message: str | None) -> Any:
    kind = ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message or "Overloaded"}}


def _openai_error_event(status: int, message: str | None) -> Any:
    body = error_body(status, message)["error"]
    return {"error": {"message": body["message"], "type": body["status"], "code": status}}


@dataclass(frozen=True)
class Framing:
    """How events are written on one stream kind."""

    media_type: str
    frame: Callable[[Any, bool], str]
    opening: str = ""
    closing: str = ""
    malformed: str = '{"candidates": [{"content": '
    error_event: Callable[[int, str | None], Any] = _google_error_event


def _gemini_sse(event: Any, first: bool) -> str:
    return f"data: {_payload(event)}\r\n\r\n"


def _json_array(event: Any, first: bool) -> str:
    return ("" if first else ",\r\n") + _payload(event) + "\n"


def _anthropic_sse(event: Any, first: bool) -> str:
    kind = event.get("type", "message") if isinstance(event, dict) else "message"
    return f"event: {kind}\ndata: {_payload(event)}\n\n"


def _openai_sse(event: Any, first: bool) -> str:
    return f"data: {_payload(event)}\n\n"


GEMINI_SSE = Framing("text/event-stream", _gemini_sse)
GEMINI_ARRAY = Framing("application/json", _json_array, opening="[", closing="]")
ANTHROPIC_SSE = Framing("text/event-stream", _anthropic_sse, error_event=_anthropic_error_event)
OPENAI_SSE = Framing(
    "text/event-stream", _openai_sse, closing="data: [DONE]\n\n", error_event=_openai_error_event
)


async def _frames(events: list[Any], framing: Framing, reply: Reply) -> AsyncIterator[str]:
    """Write the frames; a cut stream never gets its clean ending, even if all events went out."""
    if framing.opening:
        yield framing.opening
    sent = 0
    error = reply.stream_error
    after = int(error.get("after", 1)) if error is not None else None
    for index, event in enumerate(events):
        if reply.cut_stream_after is not None and sent >= reply.cut_stream_after:
            raise StreamCut(f"stream cut after {sent} events")
        if after is not None and sent >= after:
            break
        yield framing.frame(event, index == 0)
        sent += 1
        if reply.malformed_chunk and index == 0:
            yield framing.frame(framing.malformed, False)
        await asyncio.sleep(0)
    if reply.cut_stream_after is not None and sent >= reply.cut_stream_after:
        raise StreamCut(f"stream cut after {sent} events")
    if error is not None:  # the server ends the stream after its error event, without a clean closing
        status = int(error.get("status", 503))
        yield framing.frame(framing.error_event(status, error.get("message")), sent == 0)
        return
    if framing.closing:
        yield framing.closing


def stream(events: list[Any], framing: Framing, reply: Reply) -> Response:
    """Send ``events`` (or the scripted raw ``stream_events`` / ``json``) with ``framing``.

    Raw ``stream_events`` are sent exactly as given: no closing marker (``[DONE]``) is added.
    """
    chosen = [reply.raw_json] if reply.has_json else events
    if reply.stream_events is not None:
        chosen = reply.stream_events
        framing = replace(framing, closing="")
    return StreamingResponse(_frames(chosen, framing, reply), media_type=framing.media_type)


ErrorShape = Callable[[Reply], Any]


def google_shape(reply: Reply) -> Any:
    """Google's ``{"error": {"code", "message", "status"}}`` for a scripted fault."""
    return error_body(reply.status or 500, reply.message)


async def fault(reply: Reply, shape: ErrorShape = google_shape) -> Response | None:
    """Apply added latency; return the scripted error response (its body in ``shape``), if any."""
    if reply.delay_ms:
        await asyncio.sleep(reply.delay_ms / 1000)
    if reply.status is None or reply.status < 400:
        return None
    headers = {"Retry-After": str(reply.retry_after)} if reply.retry_after is not None else None
    body = reply.raw_json if reply.has_json else shape(reply)
    return JSONResponse(body, status_code=reply.status, headers=headers)


async def early(reply: Reply, streaming: bool = False, shape: ErrorShape = google_shape) -> Response | None:
    """What to send before normal rendering: a scripted fault, or (unary) the raw ``json`` body."""
    failed = await fault(reply, shape)
    if failed is not None:
        return failed
    if reply.has_json and not streaming:
        return JSONResponse(reply.raw_json, status_code=reply.status or 200)
    return None
