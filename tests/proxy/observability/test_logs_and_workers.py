"""``vertexlate serve --log-format json --workers 2``: JSON log lines without secrets, and /metrics summed over workers."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from engine.proxy.observability.logs import JsonFormatter, register_secret, scrub_path
from tests.proxy.conftest import MASTER_KEY, VISION
from tests.requires import need

parser = need("prometheus_client.parser")

ROOT = Path(__file__).resolve().parents[3]
KEY = "sk-config-key-5566778899"
LEAKED = "sk-leaked-in-query-998877"
HELLO = [{"role": "user", "content": "hi"}]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape_total(url: str) -> float:
    text = httpx.get(url + "/metrics").text
    return sum(
        s.value
        for family in parser.text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "litellm_proxy_total_requests_metric_total"
    )


def test_json_logs_and_multiprocess_metrics(
    write_config: Callable[..., Path],
    deployment: Callable[..., dict[str, Any]],
    tmp_path: Path,
    emulator: Any,
) -> None:
    emulator.reset()
    config = write_config(
        {
            "model_list": [deployment("gemini-vision", VISION)],
            "litellm_settings": {"callbacks": ["prometheus"]},
            "general_settings": {"master_key": MASTER_KEY, "keys": [{"key": KEY, "key_alias": "cfg"}]},
        }
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    code = "import sys; from engine.proxy import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "--config", str(config), "--port", str(port), "--workers", "2"]
    argv += ["--log-format", "json", "--graceful-timeout", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_GCE_CHECK": "True"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # serve makes a fresh one for its workers
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        for _ in range(400):
            assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
            try:
                if httpx.get(url + "/health/readiness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                threading.Event().wait(0.05)
        auth = {"authorization": f"Bearer {KEY}"}
        with httpx.Client() as client:  # several connections' worth, so both workers serve some
            for i in range(6):
                reply = httpx.post(
                    url + "/v1/chat/completions",
                    json={"model": "gemini-vision", "messages": HELLO},
                    headers={**auth, "x-request-id": f"req-{i}"},
                )
                assert reply.status_code == 200
            denied = client.post(
                url + "/v1/chat/completions",
                json={"model": "gemini-vision"},
                headers={"authorization": f"Bearer {LEAKED}"},
            )
            assert denied.status_code == 401
            client.get(url + f"/v1/models?key={LEAKED}&api_key={KEY}", headers=auth)
        # every scrape, whichever worker answers it, sees all 7 requests
        assert [scrape_total(url) for _ in range(4)] == [7.0] * 4
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output = proc.communicate(timeout=20)[0].decode()
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output = proc.communicate()[0].decode()
    lines = [line for line in output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    for secret in (KEY, LEAKED, MASTER_KEY):
        assert secret not in output
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert {f"req-{i}" for i in range(6)} <= {r.get("request_id") for r in access}
    assert any("key=***" in r["path"] for r in access)


def test_formatter_masks_secrets_in_every_field() -> None:
    register_secret("sk-registered-secret-1")
    try:
        raise RuntimeError("upstream said: Authorization: Bearer ya29.token-value and sk-registered-secret-1")
    except RuntimeError:
        record = logging.LogRecord(
            "vertexlate.proxy", logging.ERROR, "x", 1, "key %s", ("sk-abcdefgh123",), sys.exc_info()
        )
    record.api_key = "plain-secret-value"
    record.model = "gemini"
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    for secret in ("ya29.token-value", "sk-registered-secret-1", "sk-abcdefgh123", "plain-secret-value"):
        assert secret not in line
    assert entry["api_key"] == "***" and entry["model"] == "gemini"
    assert scrub_path("/v1/models?api_key=abc&limit=3") == "/v1/models?api_key=***&limit=3"
