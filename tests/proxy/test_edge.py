"""The proxy's edge: hostile bodies and malformed HTTP get OpenAI's error JSON with a 4xx, never a 500.

Deep nesting, lone surrogates, non-JSON constants, oversized bodies (``max_request_size_mb``)
and requests uvicorn cannot parse; and the line between the client's fault (400) and
the proxy's own bug (500) for untyped exceptions.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from engine.errors import BadRequestError
from engine.proxy import BackgroundProxy
from engine.proxy.intake import replay_error
from tests.proxy.conftest import FLASH, MASTER_KEY
from tests.proxy.test_errors import assert_openai_error

AUTH = {"authorization": f"Bearer {MASTER_KEY}", "content-type": "application/json"}
HELLO = [{"role": "user", "content": "hi"}]


def post(proxy: BackgroundProxy, path: str, content: bytes, **headers: str) -> httpx.Response:
    return httpx.post(proxy.url + path, content=content, headers={**AUTH, **headers}, timeout=30)


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize(
    "path", ["/v1/chat/completions", "/v1/embeddings", "/v1/batches", "/chat/completions"]
)
def test_a_body_nested_5000_levels_is_400_json(standard: BackgroundProxy, path: str) -> None:
    body = b'{"model": "gemini-flash", "messages": ' + nested(5000) + b"}"
    error = assert_openai_error(post(standard, path, body), 400)
    assert "nested" in error["message"] and error["code"] == "invalid_json"


def test_nesting_below_the_parser_limit_is_refused_too(standard: BackgroundProxy, emulator: Any) -> None:
    """500 levels parse, but would exhaust the stack of a later step: refused before any work."""
    body = b'{"model": "gemini-flash", "messages": [{"role": "user", "content": ' + nested(500) + b"}]}"
    assert "64 levels" in assert_openai_error(post(standard, "/v1/chat/completions", body), 400)["message"]
    assert not [r for r in emulator.requests() if r["path"].endswith(":generateContent")]


def test_ordinary_nesting_passes(standard: BackgroundProxy) -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(8):  # a response schema eight objects deep
        schema = {"type": "object", "properties": {"x": schema}}
    body = {
        "model": "gemini-flash",
        "messages": HELLO,
        "response_format": {"type": "json_schema", "json_schema": {"name": "deep", "schema": schema}},
    }
    assert post(standard, "/v1/chat/completions", json.dumps(body).encode()).status_code == 200


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_constants_are_400(standard: BackgroundProxy, constant: bytes) -> None:
    body = (
        b'{"model": "gemini-flash", "messages": [{"role": "user", "content": "hi"}], "temperature": '
        + constant
        + b"}"
    )
    error = assert_openai_error(post(standard, "/v1/chat/completions", body), 400)
    assert constant.decode().lstrip("-") in error["message"]


def test_a_lone_surrogate_is_400_json(standard: BackgroundProxy) -> None:
    body = b'{"model": "gemini-flash", "messages": [{"role": "user", "content": "\\ud800"}]}'
    resp = post(standard, "/v1/chat/completions", body)
    assert_openai_error(resp, 400)
    assert resp.content.isascii()  # the error quotes it escaped, so the reply is valid UTF-8 JSON


def test_a_lone_surrogate_as_model_name_is_404_json(standard: BackgroundProxy) -> None:
    resp = post(standard, "/v1/chat/completions", b'{"model": "\\udfff", "messages": []}')
    assert assert_openai_error(resp, 404)["code"] == "model_not_found"


def test_a_huge_model_name_is_not_echoed_whole(standard: BackgroundProxy) -> None:
    body = json.dumps({"model": "m" * 1_000_000, "messages": HELLO}).encode()
    resp = post(standard, "/v1/chat/completions", body)
    assert_openai_error(resp, 404)
    assert len(resp.content) < 2_000


@pytest.mark.parametrize(
    "field, value",
    [("stream", "yes"), ("stream", 1), ("stream_options", "y"), ("stream_options", [1])],
)
def test_wrong_typed_stream_fields_are_400(standard: BackgroundProxy, field: str, value: Any) -> None:
    body = {"model": "gemini-flash", "messages": HELLO, field: value}
    error = assert_openai_error(post(standard, "/v1/chat/completions", json.dumps(body).encode()), 400)
    assert error["param"] == field


# ------------------------------------------------------------------ body size: general_settings.max_request_size_mb
@pytest.fixture
def small(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> BackgroundProxy:
    return start_proxy(
        {
            "model_list": [deployment("gemini-flash", FLASH)],
            "general_settings": {"master_key": MASTER_KEY, "max_request_size_mb": 0.01},  # 10 KiB
        }
    )


def big_body() -> bytes:
    return json.dumps(
        {"model": "gemini-flash", "messages": [{"role": "user", "content": "x" * 20_000}]}
    ).encode()


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/batches", "/v1/files"])
def test_a_body_over_max_request_size_is_413_json(small: BackgroundProxy, path: str) -> None:
    error = assert_openai_error(post(small, path, big_body()), 413)
    assert "max_request_size_mb" in error["message"] and error["code"] == "request_too_large"


def test_a_chunked_body_over_the_limit_is_413_json(small: BackgroundProxy) -> None:
    def chunks() -> Iterator[bytes]:  # no content-length: the limit applies while reading
        body = big_body()
        for i in range(0, len(body), 4096):
            yield body[i : i + 4096]

    resp = httpx.post(small.url + "/v1/chat/completions", content=chunks(), headers=AUTH, timeout=30)
    assert resp.request.headers.get("transfer-encoding") == "chunked"
    assert_openai_error(resp, 413)


def test_a_body_under_the_limit_passes(small: BackgroundProxy) -> None:
    body = json.dumps({"model": "gemini-flash", "messages": HELLO}).encode()
    assert post(small, "/v1/chat/completions", body).status_code == 200


# ------------------------------------------------------------------ malformed HTTP, before the app
def raw_exchange(proxy: BackgroundProxy, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(
    "data",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n",
    ],
)
def test_requests_the_server_cannot_parse_get_openai_json(standard: BackgroundProxy, data: bytes) -> None:
    head, _, body = raw_exchange(standard, data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: application/json" in head.lower()
    error = json.loads(body)["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_http"


# ------------------------------------------------------------------ untyped exceptions: the client's 400 or our 500
def test_untyped_failure_from_client_input_is_400(standard: BackgroundProxy) -> None:
    """Client JSON the engine does not check by type becomes a 400 naming the failure, not a 500."""
    for message in (
        {"role": "assistant", "content": "x", "tool_calls": 5},
        {"role": "user", "content": [{"type": "file", "file": 5}]},
        {"role": "user", "content": [{"type": "image_url", "image_url": 5}]},
    ):
        body = json.dumps({"model": "gemini-flash", "messages": [message]}).encode()
        assert_openai_error(post(standard, "/v1/chat/completions", body), 400)


def test_replay_blames_the_request_only_when_building_it_fails_again(
    emulator: Any, service_account: dict[str, Any]
) -> None:
    options = {
        "vertex_project": "p",
        "vertex_location": "us-central1",
        "vertex_credentials": service_account,
        "api_base": emulator.url,
    }
    bad = {"model": FLASH, "messages": [{"role": "assistant", "content": "x", "tool_calls": 5}], **options}
    verdict = replay_error(TypeError("boom"), "chat", bad)
    assert isinstance(verdict, BadRequestError) and verdict.status_code == 400
    original = TypeError("a bug after the request was built")
    assert replay_error(original, "chat", {"model": FLASH, "messages": HELLO, **options}) is original  # a 500


def test_a_bug_in_the_proxy_stays_500(standard: BackgroundProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    """An untyped error after the request was built is the proxy's: 500 in OpenAI's format, details in the log."""

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("a bug in the reply handling")

    monkeypatch.setattr(standard.proxy, "send", broken)
    body = json.dumps({"model": "gemini-flash", "messages": HELLO}).encode()
    error = assert_openai_error(post(standard, "/v1/chat/completions", body), 500)
    assert "internal error" in error["message"] and "bug" not in error["message"]
