"""Two proxy instances, each in its own process, over one Redis behave as one gateway (issue 16).

They enforce one rpm limit together, share a cooldown either of them set, route on the
latencies either of them measured (latency-based routing), and both keep serving when
Redis stops mid-run (on their own limits) and after it restarts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.proxy.conftest import MASTER_KEY
from tests.proxy.shared.conftest import RedisServer, free_port, redis_client

ROOT = Path(__file__).resolve().parents[3]
NOW = 60_000.0 * 60  # a fixed start of a minute for the instances' rate-limit windows
FLASH = "vertex_ai/gemini-2.5-flash"
LITE = "vertex_ai/gemini-2.5-flash-lite"
LIMITED_KEY = "sk-limited-0123456789"


class Instance:
    """``python -m tests.proxy.shared.instance`` on a free port."""

    def __init__(self, config: Path, log: Path) -> None:
        self.port = free_port()
        self.log = log
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.proxy.shared.instance", str(config), str(self.port), str(NOW)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"instance exited: {self.log.read_text()[-2000:]}")
            try:
                if self.client.get("/health/liveliness").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("instance did not start")
            time.sleep(0.05)

    def chat(self, model: str, key: str = MASTER_KEY) -> httpx.Response:
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
        return self.client.post("/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def instances(
    tmp_path: Path, deployment: Callable[..., dict[str, Any]], emulator: Any
) -> Iterator[Callable[..., tuple[Instance, Instance]]]:
    """``instances(redis_url, namespace, **router_settings)``: two running instances of one config over that Redis."""
    started: list[Instance] = []
    emulator.reset()

    def start(url: str, namespace: str, **router_settings: Any) -> tuple[Instance, Instance]:
        config = {
            "model_list": [
                deployment("limited", FLASH, rpm=6),
                deployment("free", FLASH),
                deployment("pair", FLASH, weight=100_000),
                deployment("pair", LITE, weight=1),
            ],
            "router_settings": {
                "redis_url": url,
                "redis_namespace": namespace,
                "redis_socket_timeout": 5,  # a loaded test machine is no outage; a stopped Redis refuses at once
                "cooldown_time": 60,
                **router_settings,
            },
            "general_settings": {
                "master_key": MASTER_KEY,
                "keys": [{"key": LIMITED_KEY, "key_alias": "limited", "rpm_limit": 4}],
                "database_url": f"sqlite:///{tmp_path / 'store.db'}",
            },
        }
        path = tmp_path / "config.yaml"
        path.write_text(json.dumps(config), encoding="utf-8")
        pair = (Instance(path, tmp_path / "a.log"), Instance(path, tmp_path / "b.log"))
        started.extend(pair)
        for instance in pair:
            instance.wait_ready()
        return pair

    yield start
    for instance in started:
        instance.stop()


def test_two_processes_enforce_one_rpm_limit_and_share_cooldowns(
    instances: Callable[..., tuple[Instance, Instance]],
    redis_url: str,
    redis_namespace: str,
    emulator: Any,
) -> None:
    a, b = instances(redis_url, redis_namespace)
    # The deployment's rpm (6) and the key's rpm_limit (4), each counted once across both processes.
    statuses = [(a if i % 2 else b).chat("limited").status_code for i in range(10)]
    assert statuses.count(200) == 6 and statuses.count(429) == 4, statuses
    statuses = [(a if i % 2 else b).chat("free", LIMITED_KEY).status_code for i in range(8)]
    assert statuses.count(200) == 4 and statuses.count(429) == 4, statuses
    # A cools the flash deployment down after its 429; B then sends nothing there, though its weight
    # would pick it almost every time (100000:1).
    emulator.script("gemini-2.5-flash", [{"status": 429}])
    first = a.chat("pair")
    assert first.status_code == 200 and first.headers["x-vertexlate-deployment"] == "pair-3"
    assert any(r["path"].endswith("gemini-2.5-flash:generateContent") for r in emulator.requests())
    used = {b.chat("pair").headers["x-vertexlate-deployment"] for _ in range(5)}
    assert used == {"pair-3"}
    assert redis_client(redis_url).pttl(f"{redis_namespace}:cd:dep:pair-2") > 50_000


def test_latencies_measured_by_one_process_steer_the_other(
    instances: Callable[..., tuple[Instance, Instance]],
    redis_url: str,
    redis_namespace: str,
    emulator: Any,
) -> None:
    a, b = instances(redis_url, redis_namespace, routing_strategy="latency-based-routing")
    emulator.script("gemini-2.5-flash", [{"delay_ms": 400}] * 4)  # pair-2 (flash) is slow, pair-3 fast
    client = redis_client(redis_url)
    keys = [f"{redis_namespace}:lat:dep:pair-{i}" for i in (2, 3)]
    used: set[str] = set()
    for _ in range(4):  # a deployment nobody measured goes first: A measures both
        response = a.chat("pair")
        assert response.status_code == 200
        used.add(response.headers["x-vertexlate-deployment"])
    assert used == {"pair-2", "pair-3"}
    deadline = time.monotonic() + 10
    while None in client.mget(keys):  # A writes its samples off the request path
        assert time.monotonic() < deadline, "A's latencies never reached Redis"
        time.sleep(0.02)
    slow, fast = (float(v) for v in client.mget(keys))
    assert slow > 0.3 > fast
    # B has measured nothing itself (it would try the unmeasured flash within two requests):
    # the shared averages send it to the faster deployment every time.
    flash_calls = len(emulator.requests("gemini-2.5-flash"))
    used = {b.chat("pair").headers["x-vertexlate-deployment"] for _ in range(6)}
    assert used == {"pair-3"} and len(emulator.requests("gemini-2.5-flash")) == flash_calls
    client.close()


def test_both_serve_through_a_redis_outage_and_share_again_after(
    instances: Callable[..., tuple[Instance, Instance]],
    throwaway_redis: Callable[[], RedisServer],
    tmp_path: Path,
) -> None:
    server = throwaway_redis()
    a, b = instances(server.url, "vxtest-outage")
    assert a.chat("free").status_code == 200 and b.chat("free").status_code == 200
    server.stop()
    for _ in range(3):  # Redis gone: each instance serves on its own state, never a 500
        assert a.chat("free").status_code == 200
        assert b.chat("free").status_code == 200
    server.start()  # the same port, empty
    window = f"vxtest-outage:r:dep:free-1:{int(NOW // 60)}"
    deadline = time.monotonic() + 30
    for instance in (a, b):  # each reconnects after its backoff and counts in Redis again
        while True:
            before = int(redis_client(server.url).get(window) or 0)
            assert instance.chat("free").status_code == 200
            if int(redis_client(server.url).get(window) or 0) > before:
                break
            assert time.monotonic() < deadline, "an instance did not return to the shared state"
            time.sleep(0.1)
    for name in ("a.log", "b.log"):
        log = (tmp_path / name).read_text()
        assert log.count("redis unreachable") == 1, log  # once per outage, not per request
        assert log.count("redis is back") == 1, log
