"""Request ids: echoed when valid, generated otherwise, and the same id in error bodies and spend rows."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.proxy import BackgroundProxy
from engine.proxy.observability import request_id
from tests.proxy.conftest import MASTER_KEY, VISION

HELLO = [{"role": "user", "content": "hi"}]
AUTH = {"authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture
def proxy(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]], tmp_path: Path
) -> BackgroundProxy:
    return start_proxy(
        {
            "model_list": [deployment("gemini-vision", VISION)],
            "general_settings": {
                "master_key": MASTER_KEY,
                "database_url": f"sqlite:///{tmp_path / 'store.db'}",
            },
        }
    )


def chat(proxy: BackgroundProxy, **headers: str) -> httpx.Response:
    return httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": "gemini-vision", "messages": HELLO},
        headers={**AUTH, **headers},
    )


def spend_ids(proxy: BackgroundProxy) -> list[str]:
    logs = httpx.get(proxy.url + "/spend/logs", headers=AUTH).json()
    return [row["request_id"] for row in logs]


def test_client_id_is_echoed_and_used(proxy: BackgroundProxy) -> None:
    reply = chat(proxy, **{"x-request-id": "trace-abc-123"})
    assert reply.status_code == 200
    assert reply.headers["x-request-id"] == "trace-abc-123"
    again = chat(proxy, **{"x-request-id": "trace-abc-123"})  # a repeated id must not drop a spend row
    assert again.headers["x-request-id"] == "trace-abc-123"
    ids = spend_ids(proxy)
    assert len(ids) == 2 and len(set(ids)) == 2
    assert all(i.startswith("trace-abc-123.") for i in ids)


def test_generated_when_absent_and_the_same_in_spend_rows(proxy: BackgroundProxy) -> None:
    reply = chat(proxy)
    rid = reply.headers["x-request-id"]
    assert len(rid) == 32 and int(rid, 16) >= 0
    assert spend_ids(proxy) == [rid]


@pytest.mark.parametrize("bad", ["x" * 129, "has space", "tab\there", "ünïcode"])
def test_invalid_ids_are_replaced(proxy: BackgroundProxy, bad: str) -> None:
    headers = [(b"authorization", f"Bearer {MASTER_KEY}".encode()), (b"x-request-id", bad.encode("utf-8"))]
    reply = httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": "gemini-vision", "messages": HELLO},
        headers=headers,
    )
    assert reply.status_code == 200
    assert reply.headers["x-request-id"] != bad and len(reply.headers["x-request-id"]) == 32


def test_error_bodies_and_other_routes_carry_the_id(proxy: BackgroundProxy) -> None:
    reply = httpx.post(
        proxy.url + "/v1/chat/completions", json={"model": "nope", "messages": HELLO}, headers=AUTH
    )
    assert reply.status_code == 404
    assert reply.json()["error"]["request_id"] == reply.headers["x-request-id"]
    unknown = httpx.get(proxy.url + "/v1/nowhere", headers={"x-request-id": "mine-1"})
    assert unknown.status_code == 404
    assert unknown.headers["x-request-id"] == "mine-1"
    assert unknown.json()["error"]["request_id"] == "mine-1"
    models = httpx.get(proxy.url + "/v1/models", headers=AUTH)
    assert len(models.headers["x-request-id"]) == 32


def test_validation_rules() -> None:
    assert request_id.valid("a" * 128)
    assert not request_id.valid("a" * 129)
    assert not request_id.valid("")
    assert not request_id.valid("new\nline")
    assert request_id.from_scope([(b"x-request-id", b"ok-1")]) == ("ok-1", True)
    generated, supplied = request_id.from_scope([])
    assert not supplied and len(generated) == 32


def test_generated_ids_are_unique_and_ordered_by_time() -> None:
    ids = [request_id.generate() for _ in range(5000)]
    assert all(len(i) == 32 and int(i, 16) >= 0 and i == i.lower() for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # later ids sort after earlier ones (the spend log's key is appended)
    now_ms = time.time_ns() // 1_000_000
    assert abs(int(ids[-1][:12], 16) - now_ms) < 60_000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_worker_draws_its_own_random_part() -> None:
    """Workers forked from one process must not generate the same ids."""
    parent = request_id.generate()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send one id and leave at once
        try:
            os.write(write, request_id.generate().encode())
        finally:
            os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child) == 32
    assert child[12:22] != parent[12:22]
