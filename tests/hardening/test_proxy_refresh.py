"""Through the gateway too: 24 concurrent requests that all get a 401 cause exactly one token refresh."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx

from engine.proxy import BackgroundProxy, load_config

CONCURRENT = 24


def test_concurrent_401s_through_the_proxy_refresh_once(
    emulator: Any, service_account: dict[str, Any], tmp_path: Path
) -> None:
    emulator.reset()
    config = {
        "model_list": [
            {
                "model_name": "flash",
                "litellm_params": {
                    "model": "vertex_ai/gemini-2.5-flash",
                    "vertex_project": "proj-refresh",
                    "vertex_location": "us-central1",
                    "api_base": emulator.url,
                    "vertex_credentials": service_account,
                },
            }
        ]
    }
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    proxy = BackgroundProxy(load_config(path)).start()
    body = {"model": "flash", "messages": [{"role": "user", "content": "hi"}]}
    try:
        url = f"{proxy.url}/v1/chat/completions"
        assert httpx.post(url, json=body, timeout=30).status_code == 200  # a token is cached
        emulator.state.tokens.clear()  # revoked: every request now gets one 401
        barrier, statuses = threading.Barrier(CONCURRENT), []

        def worker() -> None:
            barrier.wait()
            statuses.append(httpx.post(url, json=body, timeout=30).status_code)

        threads = [threading.Thread(target=worker) for _ in range(CONCURRENT)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        proxy.stop()
    assert statuses == [200] * CONCURRENT
    assert len(emulator.state.tokens) == 1  # one refresh minted one token


def test_verbose_logging_covers_the_proxys_plain_upstream_requests(
    emulator: Any, service_account: dict[str, Any], tmp_path: Path, monkeypatch: Any, caplog: Any
) -> None:
    import logging

    import engine

    monkeypatch.setattr(engine, "set_verbose", True)
    config = {
        "model_list": [
            {
                "model_name": "flash",
                "litellm_params": {
                    "model": "vertex_ai/gemini-2.5-flash",
                    "vertex_project": "proj-verbose",
                    "vertex_location": "us-central1",
                    "api_base": emulator.url,
                    "vertex_credentials": service_account,
                    "extra_headers": {"X-Goog-Api-Key": "deployment-secret-key"},
                },
            }
        ]
    }
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    proxy = BackgroundProxy(load_config(path)).start()
    try:
        with caplog.at_level(logging.DEBUG, logger="vertexlate"):
            body = {"model": "flash", "messages": [{"role": "user", "content": "hi"}]}
            assert httpx.post(f"{proxy.url}/v1/chat/completions", json=body, timeout=30).status_code == 200
    finally:
        proxy.stop()
    text = caplog.text
    assert "proj-verbose" in text and ":generateContent" in text and "Bearer ***" in text
    assert "'X-Goog-Api-Key': '***'" in text  # the deployment's header is logged, masked
    assert "deployment-secret-key" not in text and "ya29." not in text
