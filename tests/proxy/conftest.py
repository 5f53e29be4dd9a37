"""Fixtures for the proxy: a config written to disk, and the proxy serving it on loopback.

Every deployment points at the session's emulator (``api_base``) with a service account
the emulator issued (``vertex_credentials``), so the whole path runs for real: config
file -> proxy -> engine -> google-auth JWT flow -> emulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.proxy import BackgroundProxy, load_config
from tests.jobs import conftest as jobs_fixtures

# The Cloud Storage emulator of the jobs tests (session scope), for the files endpoints.
gcs_server = jobs_fixtures.gcs_server

MASTER_KEY = "sk-master-0123456789"
VISION = "vertex_ai/gemini-1.0-pro-vision-001"
FLASH = "vertex_ai/gemini-2.5-flash"


class FakeClock:
    """The proxy's clock (rate-limit windows, cooldowns) under the test's control: it moves only when told."""

    def __init__(self, now: float = 60_000.0) -> None:  # the start of a minute, far from its end
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def deployment(emulator: Any, service_account: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """``deployment(name, model, project=..., location=..., **litellm_params)`` -> a model_list entry."""

    def make(
        name: str,
        model: str,
        project: str = "proj-a",
        location: str = "us-central1",
        info: dict[str, Any] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        litellm_params = {
            "model": model,
            "vertex_project": project,
            "vertex_location": location,
            "api_base": emulator.url,
            "vertex_credentials": service_account,
            **params,
        }
        entry: dict[str, Any] = {"model_name": name, "litellm_params": litellm_params}
        if info:
            entry["model_info"] = info
        return entry

    return make


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config (JSON is YAML) and return its path."""

    def write(config: dict[str, Any], name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        return path

    return write


@pytest.fixture
def start_proxy(emulator: Any, write_config: Callable[..., Path]) -> Iterator[Callable[..., BackgroundProxy]]:
    """Start a proxy for a config dict; every proxy started is stopped after the test."""
    started: list[BackgroundProxy] = []
    emulator.reset()

    def start(config: dict[str, Any], clock: Callable[[], float] | None = None) -> BackgroundProxy:
        proxy = BackgroundProxy(load_config(write_config(config)), clock=clock).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture
def standard(
    start_proxy: Callable[..., BackgroundProxy],
    deployment: Callable[..., dict[str, Any]],
    service_account: dict[str, Any],
) -> BackgroundProxy:
    """The seed's two gemini-vision deployments plus one model per other endpoint, behind a master key."""
    return start_proxy(
        {
            "model_list": [
                deployment("gemini-vision", VISION, project="proj-a", location="us-central1"),
                deployment(
                    "gemini-vision",
                    VISION,
                    project="proj-b",
                    location="us-east1",
                    vertex_credentials=json.dumps(service_account),
                ),
                deployment("gemini-flash", FLASH),
                deployment("embedder", "vertex_ai/text-embedding-005"),
                deployment("painter", "vertex_ai/imagen-3.0-generate-002"),
                deployment("voice", "vertex_ai/", info={"mode": "audio_speech"}),
            ],
            "general_settings": {"master_key": MASTER_KEY},
        },
        clock=FakeClock(),  # cooldowns and windows last until a test moves the clock, however slow the run
    )


def upstream_paths(emulator: Any, suffix: str = ":generateContent") -> list[str]:
    """Paths of the emulator's logged model calls that end with ``suffix``."""
    return [r["path"] for r in emulator.requests() if r["path"].endswith(suffix)]
