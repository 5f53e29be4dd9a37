"""Faults and retries behave the same on the sync path (httpx) and the async one (engine.aio).

Each fault the emulator can inject is run through ``completion`` and ``acompletion``
(plain and streamed): 429 with Retry-After, 5xx, cut streams, malformed chunks, 401
refresh, timeouts, refused connections. The rest covers what only the async transport
does itself: keep-alive reuse and the retry of a stale connection, the reply size
limit, stream read timeouts, and a cancelled caller or closed stream closing the
upstream connection (tests/proxy/slow_upstream.py notices the peer leaving).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import engine
from engine import aio, transport
from tests.proxy.slow_upstream import SlowUpstream

MODEL = "vertex_ai/gemini-2.5-flash"
EMULATED = "gemini-2.5-flash"
HELLO = [{"role": "user", "content": "Hello"}]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gemini"
MODES = ["sync", "async"]


def call(mode: str, stream: bool = False, **kwargs: Any) -> Any:
    """One completion on the given path; a stream is read to the end (its chunks returned)."""
    if mode == "sync":
        result = engine.completion(model=MODEL, messages=HELLO, stream=stream, **kwargs)
        return list(result) if stream else result

    async def run() -> Any:
        result = await engine.acompletion(model=MODEL, messages=HELLO, stream=stream, **kwargs)
        return [chunk async for chunk in result] if stream else result

    return asyncio.run(run())


def text(mode: str, stream: bool, **kwargs: Any) -> str:
    result = call(mode, stream, **kwargs)
    if stream:
        return "".join(c.choices[0].delta.content or "" for c in result if c.choices)
    return result.choices[0].message.content


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the retry policy chose (then not waited, to keep the test quick)."""
    chosen: list[float] = []
    real = transport.retry_delay

    def record(attempt: int, headers: Any) -> float:
        chosen.append(real(attempt, headers))
        return 0.0

    monkeypatch.setattr(transport, "retry_delay", record)
    return chosen


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_429_waits_retry_after_then_succeeds(
    emulator: Any, vx: dict[str, Any], delays: list[float], mode: str, stream: bool
) -> None:
    emulator.script(EMULATED, [{"status": 429, "retry_after": 3}, {"text": "ok"}])
    assert text(mode, stream, num_retries=1, **vx) == "ok"
    assert delays == [3.0]
    assert len(emulator.requests(EMULATED)) == 2


@pytest.mark.parametrize("mode", MODES)
def test_5xx_is_retried_num_retries_times_then_raised(
    emulator: Any, vx: dict[str, Any], delays: list[float], mode: str
) -> None:
    emulator.script(EMULATED, [{"status": 503}, {"status": 500}, {"status": 500}, {"text": "late"}])
    with pytest.raises(engine.APIError) as info:
        call(mode, num_retries=2, **vx)
    assert info.value.status_code == 500
    assert len(emulator.requests(EMULATED)) == 3 and len(delays) == 2


@pytest.mark.parametrize("mode", MODES)
def test_other_4xx_is_not_retried(emulator: Any, vx: dict[str, Any], mode: str) -> None:
    emulator.script(EMULATED, [{"status": 400}, {"text": "never"}])
    with pytest.raises(engine.BadRequestError):
        call(mode, num_retries=3, **vx)
    assert len(emulator.requests(EMULATED)) == 1


@pytest.mark.parametrize("mode", MODES)
def test_cut_stream_is_a_connection_error(emulator: Any, vx: dict[str, Any], mode: str) -> None:
    emulator.script(EMULATED, [{"text": "one two three four five six", "cut_stream_after": 1}])
    with pytest.raises(engine.APIConnectionError):
        call(mode, stream=True, **vx)


@pytest.mark.parametrize("mode", MODES)
def test_malformed_chunk_is_named(emulator: Any, vx: dict[str, Any], mode: str) -> None:
    emulator.script(EMULATED, [{"text": "one two three", "malformed_chunk": True}])
    with pytest.raises(engine.APIResponseValidationError, match="malformed stream event"):
        call(mode, stream=True, **vx)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_401_refreshes_the_token_once(emulator: Any, vx: dict[str, Any], mode: str, stream: bool) -> None:
    call(mode, **vx)  # a token is cached
    emulator.state.tokens.clear()  # ... and the emulator no longer accepts it
    assert text(mode, stream, **vx).startswith("Echo")
    assert len(emulator.requests(EMULATED)) == 3  # first call, the 401, the retry


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_timeout(emulator: Any, vx: dict[str, Any], mode: str, stream: bool) -> None:
    emulator.script(EMULATED, [{"delay_ms": 1500, "text": "late"}])
    with pytest.raises(engine.Timeout):
        call(mode, stream, timeout=0.2, **vx)


@pytest.mark.parametrize("mode", MODES)
def test_connection_refused(vx: dict[str, Any], mode: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(engine.APIConnectionError):
        call(mode, **{**vx, "api_base": f"http://127.0.0.1:{port}"})


# --------------------------------------------------------------------------- the async transport itself


async def test_sequential_calls_reuse_one_connection(vx: dict[str, Any]) -> None:
    for _ in range(5):
        await engine.acompletion(model=MODEL, messages=HELLO, **vx)
    stream = await engine.acompletion(model=MODEL, messages=HELLO, stream=True, **vx)
    assert [c async for c in stream]
    assert aio.transport().pool().open == 1


@pytest.fixture
def closing_upstream() -> Iterator[tuple[str, list[int]]]:
    """A loopback server that answers each connection's first request and hangs up on the second.

    Its reply keeps ``HTTP/1.1`` keep-alive semantics (no ``connection: close``), so the
    client pools the connection, sends the next request on it and sees it closed with
    nothing sent back: the race a real upstream's idle timeout causes, made deterministic.
    """
    body = json.dumps(json.loads((FIXTURES / "generate_content_text.json").read_text())["body"]).encode()
    reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body)
    connections: list[int] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)

    import threading

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                connections.append(1)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, rest = data.partition(b"\r\n\r\n")
                length = int(
                    next(
                        v
                        for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                        if k.lower() == b"content-length"
                    )
                )
                while len(rest) < length:
                    rest += conn.recv(65536)
                conn.sendall(reply + body)
                conn.recv(65536)  # the next request on this connection: hang up without answering

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", connections
    server.close()


async def test_a_stale_keep_alive_connection_is_retried_on_a_new_one(
    vx: dict[str, Any], closing_upstream: tuple[str, list[int]]
) -> None:
    await engine.acompletion(model=MODEL, messages=HELLO, **vx)  # the token, from the emulator
    url, connections = closing_upstream
    options = {**vx, "api_base": url, "num_retries": 0}
    for _ in range(3):
        reply = await engine.acompletion(model=MODEL, messages=HELLO, **options)
        assert reply.choices[0].message.content
    assert len(connections) == 3  # the 2nd and 3rd calls each found their pooled connection dead


async def test_reply_size_limit(vx: dict[str, Any]) -> None:
    limit = aio.LIMITS.max_response_bytes
    aio.configure(max_response_bytes=64)
    try:
        with pytest.raises(engine.APIConnectionError, match="larger than the transport's limit of 64 bytes"):
            await engine.acompletion(model=MODEL, messages=HELLO, **vx)
    finally:
        aio.configure(max_response_bytes=limit)
    assert (await engine.acompletion(model=MODEL, messages=HELLO, **vx)).choices[0].message.content


def test_configure_refuses_unknown_or_bad_limits() -> None:
    with pytest.raises(ValueError, match="unknown transport limit 'max_conns'"):
        aio.configure(max_conns=10)
    with pytest.raises(ValueError, match="positive"):
        aio.configure(max_connections=0)


@pytest.fixture
def slow(vx: dict[str, Any]) -> Iterator[SlowUpstream]:
    events = json.loads((FIXTURES / "generate_content_stream.json").read_text())["events"]
    body = json.loads((FIXTURES / "generate_content_text.json").read_text())["body"]
    with SlowUpstream(events, body) as upstream:
        yield upstream


async def _token(vx: dict[str, Any]) -> None:
    await engine.acompletion(model=MODEL, messages=HELLO, **vx)  # cache the token before pointing elsewhere


async def test_silence_in_a_stream_is_a_read_timeout(vx: dict[str, Any], slow: SlowUpstream) -> None:
    await _token(vx)
    stream = await engine.acompletion(
        model=MODEL, messages=HELLO, stream=True, timeout=0.3, **{**vx, "api_base": slow.url}
    )
    first = await anext(stream)
    assert first.choices[0].delta.content
    with pytest.raises(engine.Timeout):
        async for _ in stream:
            pass


async def test_cancelling_a_call_closes_the_upstream_connection(
    vx: dict[str, Any], slow: SlowUpstream
) -> None:
    await _token(vx)
    task = asyncio.ensure_future(
        engine.acompletion(model=MODEL, messages=HELLO, **{**vx, "api_base": slow.url})
    )
    assert await asyncio.to_thread(slow.started.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(slow.closed.wait, 10)


async def test_closing_a_stream_early_closes_the_upstream_connection(
    vx: dict[str, Any], slow: SlowUpstream
) -> None:
    await _token(vx)
    stream = await engine.acompletion(
        model=MODEL, messages=HELLO, stream=True, **{**vx, "api_base": slow.url}
    )
    assert (await anext(stream)).choices[0].delta.content
    await stream.aclose()
    assert await asyncio.to_thread(slow.closed.wait, 10)


def test_without_httptools_async_calls_fall_back_to_httpx(
    emulator: Any, vx: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aio, "httptools", None)  # a core-only install (httptools is in the extras)
    assert isinstance(asyncio.run(_transport_in_loop()), __import__("httpx").AsyncClient)
    emulator.script(EMULATED, [{"status": 503, "retry_after": 0}, {"text": "ok"}])
    assert text("async", False, num_retries=1, **vx) == "ok"
    assert text("async", True, **vx).startswith("Echo")
    emulator.script(EMULATED, [{"text": "one two three", "malformed_chunk": True}])
    with pytest.raises(engine.APIResponseValidationError):
        call("async", stream=True, **vx)


async def _transport_in_loop() -> Any:
    return aio.transport()


async def test_at_the_connection_cap_a_call_waits_then_fails_typed(
    vx: dict[str, Any], slow: SlowUpstream
) -> None:
    import httpx

    await _token(vx)  # leaves an idle emulator connection: at the cap it is closed to make room
    cap = aio.LIMITS.max_connections
    aio.configure(max_connections=1)
    try:
        held = asyncio.ensure_future(
            engine.acompletion(model=MODEL, messages=HELLO, **{**vx, "api_base": slow.url})
        )
        assert await asyncio.to_thread(slow.started.wait, 10)
        with pytest.raises(engine.Timeout, match="timed out"):
            await engine.acompletion(
                model=MODEL,
                messages=HELLO,
                timeout=httpx.Timeout(5, pool=0.2),
                **{**vx, "api_base": slow.url},
            )
        assert aio.transport().pool().open == 1
        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held
        # the slot is free again: a call goes through
        assert (await engine.acompletion(model=MODEL, messages=HELLO, **vx)).choices
    finally:
        aio.configure(max_connections=cap)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("base", ["ftp://127.0.0.1", "http://"])
def test_an_unusable_api_base_is_a_typed_error(vx: dict[str, Any], mode: str, base: str) -> None:
    with pytest.raises(engine.APIError):
        call(mode, **{**vx, "api_base": base})


async def test_an_upstream_that_stops_reading_is_a_write_timeout() -> None:
    """The request's bytes stay in the socket buffer: ``write`` of the call's timeout ends it, typed."""
    import httpx

    server = socket.create_server(("127.0.0.1", 0))  # listens, never reads: the buffers fill
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/v1/x"
        client = aio.transport()
        request = client.build_request(
            "POST", url, content=b"x" * (64 * 2**20), timeout=httpx.Timeout(30, write=0.2)
        )
        with pytest.raises(httpx.WriteTimeout, match="more than 0.2s to accept the request"):
            await client.send(request)
        assert client.pool().open == 0  # the connection was closed, not pooled
    finally:
        server.close()


async def test_a_request_the_kernel_takes_at_once_arms_no_write_timer(vx: dict[str, Any]) -> None:
    import httpx

    reply = await engine.acompletion(model=MODEL, messages=HELLO, timeout=httpx.Timeout(30, write=0.05), **vx)
    assert reply.choices[0].message.content
    assert not any(conn.write_deadline for conn in aio.transport().pool()._members)


def test_the_sync_pool_takes_the_transport_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """No fixed cap of its own (it was 200): engine.aio.configure sizes both paths."""
    cap = aio.LIMITS.max_connections
    aio.configure(max_connections=5000)
    try:
        limits = transport.sync_limits()
        assert limits.max_connections == 5000
        assert limits.max_keepalive_connections == aio.LIMITS.max_idle_per_origin
        assert limits.keepalive_expiry == aio.LIMITS.idle_expiry
    finally:
        aio.configure(max_connections=cap)
