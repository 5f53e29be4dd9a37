"""Redis for the shared-state tests: the server at 127.0.0.1:6379, or a throwaway one from the local binary.

Every test gets its own key prefix (``vxtest-<uuid>``) and deletes only its own keys
afterwards (never FLUSHALL: the server may be shared). Without a Redis the tests skip
with the reason shown, except under ``CI=true``, where they fail. Tests that stop a
Redis start their own throwaway ``redis-server`` (:func:`throwaway_redis`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

SHARED_URL = os.environ.get("VERTEXLATE_TEST_REDIS", "redis://127.0.0.1:6379/0")
_STATE: dict[str, str | None] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(url: str) -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        client.ping()
        client.close()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


class RedisServer:
    """A redis-server process of this test run (no persistence), stopped and restarted at will."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="vx-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while _ping(self.url) is not None:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def redis_problem() -> str | None:
    """None when a Redis answers (the shared one, else a throwaway one started now); else why not."""
    if "problem" not in _STATE:
        problem = _ping(SHARED_URL)
        if problem is None:
            _STATE["url"] = SHARED_URL
        elif shutil.which("redis-server"):
            server = RedisServer().start()
            atexit.register(server.close)
            _STATE["url"], problem = server.url, None
        else:
            problem = f"no Redis at {SHARED_URL} ({problem}) and no redis-server binary"
        _STATE["problem"] = problem
    return _STATE["problem"]


def need_redis() -> str:
    problem = redis_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{problem}; CI must run the Redis tests")
        pytest.skip(problem)
    url = _STATE["url"]
    assert url is not None
    return url


def delete_prefix(url: str, prefix: str) -> None:
    """Delete this test's keys only."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The Redis URL of this test; its keys live under ``redis_namespace`` (deleted afterwards)."""
    yield need_redis()


@pytest.fixture
def redis_namespace(redis_url: str) -> Iterator[str]:
    namespace = f"vxtest-{uuid.uuid4().hex[:12]}"
    yield namespace
    delete_prefix(redis_url, namespace)


@pytest.fixture
def throwaway_redis() -> Iterator[Callable[[], RedisServer]]:
    """Start Redis servers this test may stop and restart (needs the redis-server binary)."""
    if shutil.which("redis-server") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no redis-server binary; CI must run the Redis outage tests")
        pytest.skip("no redis-server binary for a throwaway Redis")
    servers: list[RedisServer] = []

    def start() -> RedisServer:
        server = RedisServer().start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, decode_responses=True)
