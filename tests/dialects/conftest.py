"""The proxy fixtures (config on disk, proxy on loopback, backed by the session's emulator), plus a
proxy serving one Claude and one Gemini model behind a master key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.proxy import BackgroundProxy
from tests.proxy.conftest import MASTER_KEY, deployment, start_proxy, write_config

__all__ = ["MASTER_KEY", "deployment", "start_proxy", "write_config"]

CLAUDE = "vertex_ai/claude-sonnet-4@20250514"
GEMINI = "vertex_ai/gemini-2.5-flash"
# proxy model name -> emulator script key (the model id in the upstream URL)
UPSTREAM = {"claude": "claude-sonnet-4@20250514", "gemini": "gemini-2.5-flash"}


@pytest.fixture
def dialect_proxy(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> BackgroundProxy:
    return start_proxy(
        {
            "model_list": [
                deployment("claude", CLAUDE, location="us-east5"),
                deployment("gemini", GEMINI),
            ],
            "general_settings": {"master_key": MASTER_KEY},
        }
    )
