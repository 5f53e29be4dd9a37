"""Starting and stopping the emulator: in-process context manager and the CLI subprocess."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import google.auth.transport.requests
import httpx
import pytest
from google.oauth2 import service_account

from engine.emulator import Emulator, create_app
from engine.emulator.state import EmulatorState

from .helpers import model_path, user

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"^Vertex AI emulator listening on (http://127\.0\.0\.1:(\d+))$")


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_context_manager_leaves_no_thread_or_port() -> None:
    before = set(threading.enumerate())
    with Emulator() as emu:
        port = emu.port
        assert port != 0 and emu.url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{emu.url}/emulator/health").json() == {"status": "ok"}
    assert not _port_open(port)
    assert set(threading.enumerate()) <= before


def test_two_emulators_are_independent() -> None:
    with Emulator() as one, Emulator() as two:
        assert one.port != two.port
        one.script("m", [{"text": "x"}])
        assert one.state.scripts and not two.state.scripts


def test_create_app_shares_given_state() -> None:
    state = EmulatorState()
    assert create_app(state).state.emulator is state
    assert isinstance(create_app().state.emulator, EmulatorState)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_cli_subprocess_serves_and_exits_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.emulator", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()  # blocks until the readiness line (or EOF on failure)
        match = READY.match(line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        url, port = match.group(1), int(match.group(2))
        info = httpx.post(f"{url}/emulator/service-accounts", json={}).json()
        creds = service_account.Credentials.from_service_account_info(
            info, scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
        creds.refresh(google.auth.transport.requests.Request())
        answer = httpx.post(
            url + model_path("gemini-2.0-flash", "generateContent"),
            json=user("subprocess"),
            headers={"Authorization": f"Bearer {creds.token}"},
        )
        assert answer.json()["candidates"][0]["content"]["parts"][0]["text"] == "Echo: subprocess"
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0
        assert not _port_open(port)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)


def test_cli_reports_busy_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "engine.emulator", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1 and "cannot listen" in done.stderr
