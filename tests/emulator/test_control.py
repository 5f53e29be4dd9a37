"""The ``/emulator/...`` control API over HTTP."""

from __future__ import annotations

import httpx

from engine.emulator import Emulator

from .helpers import model_path, user


def test_reset_clears_scripts_log_and_unknown_models(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script("gemini-2.5-flash", [{"text": "queued"}])
    emulator.mark_unknown("gemini-2.5-pro")
    client.post(model_path("gemini-2.0-flash", "generateContent"), json=user("x"))
    assert httpx.post(f"{emulator.url}/emulator/reset").json() == {"status": "reset"}
    assert httpx.get(f"{emulator.url}/emulator/requests").json() == []
    assert client.post(model_path("gemini-2.5-pro", "generateContent"), json=user("x")).status_code == 200
    text = client.post(model_path("gemini-2.5-flash", "generateContent"), json=user("x")).json()
    assert text["candidates"][0]["content"]["parts"][0]["text"] == "Echo: x"


def test_token_survives_reset(emulator: Emulator, client: httpx.Client) -> None:
    emulator.reset()
    assert client.post(model_path("gemini-2.0-flash", "generateContent"), json=user("x")).status_code == 200


def test_bad_control_calls(emulator: Emulator) -> None:
    assert httpx.post(f"{emulator.url}/emulator/unknown-models", json={"models": "x"}).status_code == 400
    assert httpx.post(f"{emulator.url}/emulator/script", content=b"{").status_code == 400
    assert httpx.post(f"{emulator.url}/emulator/advance", json={"seconds": -1}).status_code == 400
    assert httpx.post(f"{emulator.url}/emulator/nothing", json={}).status_code == 404
    assert httpx.get(f"{emulator.url}/emulator/script").status_code == 404


def test_unknown_models_list_form(emulator: Emulator, client: httpx.Client) -> None:
    assert httpx.post(f"{emulator.url}/emulator/unknown-models", json=["claude-nope"]).json() == {
        "unknown": ["claude-nope"]
    }
    body = {
        "anthropic_version": "vertex-2023-10-16",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"}],
    }
    response = client.post(model_path("claude-nope", "rawPredict", publisher="anthropic"), json=body)
    assert response.status_code == 404 and response.json()["error"]["status"] == "NOT_FOUND"
