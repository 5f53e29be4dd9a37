"""Client disconnects and server-sent events: stopping upstream work nobody will read.

Why not Starlette's ``StreamingResponse``: under uvicorn's ASGI 2.3 it notices a
disconnect only through a separate listener, and with ASGI 2.4 only on the next write,
so an upstream stream that is slow between chunks would keep running for a client
that is gone. :class:`DisconnectGuard` watches the connection for the duration of any
block and cancels the task the moment the client leaves; the engine's stream then
closes its upstream response in its ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from engine.errors import APIError, ServiceUnavailableError
from engine.fastjson import dumps  # compact JSON; the engine's response objects are dicts

_dict_get = dict.get

__all__ = ["DisconnectGuard", "EventStream", "ShutdownSignal", "dumps"]


class ShutdownSignal(asyncio.Event):
    """The proxy's "end open streams now" event; streams register a callback instead of a waiting task each."""

    def __init__(self) -> None:
        super().__init__()
        self.callbacks: set[Callable[[], None]] = set()

    def set(self) -> None:
        super().set()
        for callback in list(self.callbacks):
            callback()


class DisconnectGuard:
    """``async with DisconnectGuard(receive):`` cancels the current task if the client disconnects.

    On exit after a disconnect the cancellation is absorbed and ``fired`` is True, so the
    caller can tell "client left" from a server shutdown (which still propagates).
    """

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.fired = False
        self.done = False
        self._task: asyncio.Task[Any] | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                if not self.done and self._task is not None:
                    self.fired = True
                    self._task.cancel()
                return

    async def __aenter__(self) -> DisconnectGuard:
        self._task = asyncio.current_task()
        self._watcher = asyncio.ensure_future(self._watch())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool:
        self.done = True
        if self._watcher is not None:
            self._watcher.cancel()
        if self.fired and self._task is not None:
            self._task.uncancel()
            return kind is None or issubclass(kind, asyncio.CancelledError)
        return False


class SSEReply(Response):
    """An ASGI ``text/event-stream`` reply pumped from an async source by ``_pump``.

    Shared by the chat stream and the dialects' streams: a disconnect cancels the upstream read
    (:class:`DisconnectGuard`), the source is closed however the reply ends, and ``on_close`` runs
    once with the token count ``_pump`` saw.
    """

    media_type = "text/event-stream"
    source: AsyncIterator[Any]
    on_close: Callable[[int], None]
    failed: APIError | None = None  # the error the stream ended with (an error event), for metrics and traces

    def _prepare(self, headers: dict[str, str] | None) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no", **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tokens = [0]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async with DisconnectGuard(receive):
                await self._pump(send, tokens)
        except OSError:
            pass  # the client went away while we wrote
        finally:
            await _close(self.source)
            self.on_close(tokens[0])

    async def _pump(self, send: Send, tokens: list[int]) -> None:
        raise NotImplementedError


class EventStream(SSEReply):
    """``text/event-stream`` of OpenAI chunks, ending with ``data: [DONE]``.

    An upstream error in mid-stream becomes a final ``data: {"error": ...}`` event (the
    OpenAI client raises it); a disconnect cancels the upstream; ``on_close`` runs once,
    whatever happened, with the token count seen in the stream.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        chunks: AsyncIterator[Any],
        on_close: Callable[[int], None],
        keep_usage: bool,
        shutdown: asyncio.Event,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.source = chunks
        self.on_close = on_close
        self.keep_usage = keep_usage
        self.shutdown = shutdown
        self.final: Any = None  # the last chunk that carried usage (and the stream's response_cost)
        self.first_chunk_at: float | None = None  # perf_counter() when the first chunk went out (TTFT metric)
        self._prepare(headers)

    async def _pump(self, send: Send, tokens: list[int]) -> None:
        """Chunks out as they come: everything one upstream read produced goes out in one write.

        Why no task per chunk: the loop runs in the request's own task; a shutdown cancels
        that task once (``stopping``), a disconnect through :class:`DisconnectGuard`, and the
        engine's stream closes its upstream response when the cancellation unwinds it.
        """
        task = asyncio.current_task()
        assert task is not None
        stopping = [False]

        def stop(_: Any) -> None:
            stopping[0] = True
            task.cancel()

        shutdown = self.shutdown
        stopper: asyncio.Future[Any] | None = None
        stop_now = lambda: stop(None)  # noqa: E731 - the one callback registered and removed
        if isinstance(shutdown, ShutdownSignal):
            shutdown.callbacks.add(stop_now)
            if shutdown.is_set():
                stop_now()
        else:  # any other event: a task waits for it
            stopper = asyncio.ensure_future(shutdown.wait())
            stopper.add_done_callback(stop)
        batches = _batches(self.source)
        keep_usage = self.keep_usage
        try:
            try:
                async for batch in batches:
                    out = []
                    for chunk in batch:
                        # dict.get, not OpenAIObject.get (a Python method, wrapping what it returns): per chunk
                        usage = _dict_get(chunk, "usage") if isinstance(chunk, dict) else chunk.get("usage")
                        if usage:
                            self.final = chunk  # the stream's usage and response_cost, for the spend log
                            tokens[0] = usage.get("total_tokens") or tokens[0]
                            if not keep_usage:
                                if not chunk.get("choices"):
                                    continue
                                chunk = {k: v for k, v in chunk.items() if k != "usage"}
                        out += (b"data: ", dumps(chunk), b"\n\n")  # one join per batch, no copy per chunk
                    if self.first_chunk_at is None and out:
                        self.first_chunk_at = time.perf_counter()
                    if getattr(self.source, "finished", False):  # the last batch: end the reply with it
                        out.append(b"data: [DONE]\n\n")
                        await send({"type": "http.response.body", "body": b"".join(out), "more_body": False})
                        return
                    if out:
                        await send({"type": "http.response.body", "body": b"".join(out), "more_body": True})
                    if self.shutdown.is_set():
                        raise ServiceUnavailableError(
                            "the proxy is shutting down; the stream was ended early", llm_provider="proxy"
                        )
            except asyncio.CancelledError:
                if not stopping[0] or task.uncancel() > 0:
                    raise  # a disconnect or the server's own cancellation
                raise ServiceUnavailableError(
                    "the proxy is shutting down; the stream was ended early", llm_provider="proxy"
                ) from None
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})
        except APIError as exc:
            self.failed = exc
            event = b"data: " + dumps(exc.to_openai_error()) + b"\n\n"
            await send({"type": "http.response.body", "body": event, "more_body": False})
        finally:
            if stopper is not None:
                stopper.remove_done_callback(stop)
                stopper.cancel()
            elif isinstance(shutdown, ShutdownSignal):
                shutdown.callbacks.discard(stop_now)


def _batches(chunks: AsyncIterator[Any]) -> AsyncIterator[list[Any]]:
    """The engine stream's batches (one list per upstream read), or single chunks of any other iterator."""
    batches = getattr(chunks, "batches", None)
    if batches is not None:
        return batches()  # type: ignore[no-any-return]
    return _singles(chunks)


async def _singles(chunks: AsyncIterator[Any]) -> AsyncIterator[list[Any]]:
    async for chunk in chunks:
        yield [chunk]


async def _settle(task: asyncio.Future[Any]) -> None:
    """Wait for a cancelled task to finish unwinding; a cancellation of our own task is re-raised after.

    (Used by the dialect endpoints' streams, engine/proxy/dialects/common.py.)
    """
    interrupted = False
    while not task.done():
        try:
            await asyncio.wait((task,))
        except asyncio.CancelledError:
            interrupted = True
    if interrupted:
        raise asyncio.CancelledError


async def _close(chunks: AsyncIterator[Any]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):  # closing a broken upstream must not mask the outcome
            await close()
