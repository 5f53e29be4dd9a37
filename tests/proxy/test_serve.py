"""``vertexlate serve`` as a real process, under each ASGI server: serving, disconnects, graceful shutdown."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fixtures.load import load
from tests.proxy.conftest import FLASH, MASTER_KEY
from tests.proxy.slow_upstream import SlowUpstream

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"authorization": f"Bearer {MASTER_KEY}"}
HELLO = [{"role": "user", "content": "hi"}]
WAIT = 20  # seconds: a safety net for a broken implementation, never a measured quantity


def _servers() -> list[Any]:
    try:
        import granian  # noqa: F401

        has_granian = True
    except ImportError:
        has_granian = False
    return [
        "uvicorn",
        pytest.param("granian", marks=pytest.mark.skipif(not has_granian, reason="granian not installed")),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """A ``vertexlate serve`` child process."""

    def __init__(self, config: Path, server: str, grace: int = 5) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        code = "import sys; from engine.proxy import main; sys.exit(main(sys.argv[1:]))"
        argv = [
            sys.executable,
            "-c",
            code,
            "--config",
            str(config),
            "--port",
            str(self.port),
            "--server",
            server,
            "--graceful-timeout",
            str(grace),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_GCE_CHECK": "True"}
        # Own process group: a server with worker processes (granian) is killed as a whole.
        self.proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        for _ in range(WAIT * 20):
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited {self.proc.returncode}: {self.proc.stdout.read().decode()}")  # type: ignore[union-attr]
            try:
                if httpx.get(self.url + "/health/readiness", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                threading.Event().wait(0.05)
        raise RuntimeError("serve did not become ready")

    def wait_for_output(self, text: str) -> bool:
        """Read the child's log until ``text`` appears (True) or the output ends (False)."""
        assert self.proc.stdout is not None
        return any(text in line.decode(errors="replace") for line in iter(self.proc.stdout.readline, b""))

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(WAIT)

    def kill(self) -> None:
        """End the server and every process it started, whether or not the test stopped it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(WAIT)


@pytest.fixture
def serve(write_config: Callable[..., Path]) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(config: dict[str, Any], server: str, grace: int = 5) -> Served:
        served = Served(write_config(config), server, grace)
        started.append(served)
        return served

    yield start
    for served in started:
        served.kill()


@pytest.fixture
def slow() -> Iterator[SlowUpstream]:
    with SlowUpstream(
        load("gemini/generate_content_stream.json")["events"],
        load("gemini/generate_content_text.json")["body"],
    ) as up:
        yield up


def _config(deployment: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
    return {"model_list": [deployment("m", FLASH, **params)], "general_settings": {"master_key": MASTER_KEY}}


@pytest.mark.parametrize("server", _servers())
def test_serves_openai_clients_and_exits_cleanly(
    server: str, serve: Callable[..., Served], deployment: Callable[..., dict[str, Any]], emulator: Any
) -> None:
    emulator.reset()
    served = serve(_config(deployment), server)
    api = openai.OpenAI(base_url=served.url + "/v1", api_key=MASTER_KEY, max_retries=0)
    assert "hi" in api.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
    assert [
        c.choices[0].delta.content
        for c in api.chat.completions.create(model="m", messages=HELLO, stream=True)
    ]
    assert served.terminate() == 0


@pytest.mark.parametrize("server", _servers())
def test_request_in_flight_finishes_during_shutdown(
    server: str, serve: Callable[..., Served], slow: SlowUpstream, deployment: Callable[..., dict[str, Any]]
) -> None:
    served = serve(_config(deployment, api_base=slow.url), server)
    result: dict[str, Any] = {}
    caller = threading.Thread(
        target=lambda: result.setdefault(
            "resp",
            httpx.post(
                served.url + "/v1/chat/completions",
                json={"model": "m", "messages": HELLO},
                headers=AUTH,
                timeout=WAIT,
            ),
        )
    )
    caller.start()
    assert slow.started.wait(WAIT)
    served.proc.send_signal(signal.SIGTERM)
    assert served.wait_for_output("shutting down: finishing 1 requests in flight")
    slow.release.set()
    caller.join(WAIT)
    assert result["resp"].status_code == 200, result["resp"].text
    assert result["resp"].json()["choices"][0]["message"]["content"]
    assert served.proc.wait(WAIT) == 0


@pytest.mark.parametrize("server", _servers())
def test_client_leaving_cancels_upstream(
    server: str, serve: Callable[..., Served], slow: SlowUpstream, deployment: Callable[..., dict[str, Any]]
) -> None:
    served = serve(_config(deployment, api_base=slow.url), server)
    body = {"model": "m", "messages": HELLO, "stream": True}
    with (
        httpx.Client() as client,
        client.stream("POST", served.url + "/v1/chat/completions", json=body, headers=AUTH) as resp,
    ):
        first = next(line for line in resp.iter_lines() if line.startswith("data: "))
        assert json.loads(first[6:])["choices"][0]["delta"]["content"] == "Okay"
    assert slow.closed.wait(WAIT), "the upstream stream stayed open after the client left"


@pytest.mark.parametrize("server", _servers())
def test_shutdown_ends_an_unfinished_stream_cleanly(
    server: str, serve: Callable[..., Served], slow: SlowUpstream, deployment: Callable[..., dict[str, Any]]
) -> None:
    served = serve(_config(deployment, api_base=slow.url), server, grace=2)
    body = {"model": "m", "messages": HELLO, "stream": True}
    with (
        httpx.Client(timeout=WAIT) as client,
        client.stream("POST", served.url + "/v1/chat/completions", json=body, headers=AUTH) as resp,
    ):
        lines = (line[6:] for line in resp.iter_lines() if line.startswith("data: "))
        assert json.loads(next(lines))["choices"][0]["delta"]["content"] == "Okay"
        served.proc.send_signal(signal.SIGTERM)
        rest = [json.loads(x) for x in lines]  # a cut connection would raise instead of ending
    assert [event["error"]["type"] for event in rest] == ["service_unavailable"]
    assert slow.closed.wait(WAIT)
    assert served.proc.wait(WAIT) == 0
