"""The proxy's ``/utils/token_counter`` (LiteLLM's route) counts through the deployment's model."""

from __future__ import annotations

from typing import Any

import httpx

from engine.proxy import BackgroundProxy
from tests.proxy.conftest import MASTER_KEY


def test_token_counter_route(standard: BackgroundProxy, emulator: Any) -> None:
    resp = httpx.post(
        standard.url + "/utils/token_counter",
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        json={"model": "gemini-flash", "messages": [{"role": "user", "content": "hello there friend"}]},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["total_tokens"] == 3
    assert emulator.requests("gemini-2.5-flash")[-1]["path"].endswith(":countTokens")
