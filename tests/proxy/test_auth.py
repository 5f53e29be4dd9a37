"""The master key, config-listed keys with allowed models and limits, and no secret in any answer or log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from engine.proxy import BackgroundProxy
from tests.proxy.conftest import FLASH, MASTER_KEY, VISION, FakeClock

HELLO = [{"role": "user", "content": "hi"}]
TEAM_KEY = "sk-team-a-0123456789"
LIMITED_KEY = "sk-limited-0123456789"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keyed(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]], clock: FakeClock
) -> BackgroundProxy:
    return start_proxy(
        {
            "model_list": [deployment("gemini-vision", VISION), deployment("gemini-flash", FLASH)],
            "general_settings": {
                "master_key": MASTER_KEY,
                "keys": [
                    {"key": TEAM_KEY, "key_alias": "team-a", "models": ["gemini-flash"]},
                    {"key": LIMITED_KEY, "key_alias": "limited", "rpm_limit": 2},
                ],
            },
        },
        clock=clock,
    )


def api(proxy: BackgroundProxy, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)


def test_missing_key_is_401_in_openai_format(keyed: BackgroundProxy) -> None:
    resp = httpx.post(keyed.url + "/v1/chat/completions", json={"model": "gemini-flash", "messages": HELLO})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"


def test_wrong_key_is_401_and_never_echoed(keyed: BackgroundProxy, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "sk-wrong-secret-value-42"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(openai.AuthenticationError) as info:
        api(keyed, wrong).chat.completions.create(model="gemini-flash", messages=HELLO)
    assert wrong not in info.value.response.text and MASTER_KEY not in info.value.response.text
    assert wrong not in caplog.text and MASTER_KEY not in caplog.text


def test_master_key_reaches_every_model(keyed: BackgroundProxy) -> None:
    client = api(keyed, MASTER_KEY)
    for model in ("gemini-vision", "gemini-flash"):
        assert client.chat.completions.create(model=model, messages=HELLO).choices[0].message.content


def test_listed_key_is_limited_to_its_models(keyed: BackgroundProxy, emulator: Any) -> None:
    client = api(keyed, TEAM_KEY)
    assert client.chat.completions.create(model="gemini-flash", messages=HELLO).choices[0].message.content
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="gemini-vision", messages=HELLO)
    assert "team-a" in info.value.message and TEAM_KEY not in info.value.response.text
    assert [m.id for m in client.models.list().data] == ["gemini-flash"]
    assert not [r for r in emulator.requests() if "gemini-1.0-pro-vision-001" in r["path"]]


def test_key_rpm_limit_is_429(keyed: BackgroundProxy, clock: FakeClock) -> None:
    client = api(keyed, LIMITED_KEY)
    for _ in range(2):
        client.chat.completions.create(model="gemini-flash", messages=HELLO)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="gemini-flash", messages=HELLO)
    assert "limited" in info.value.message
    # other keys are not affected
    assert api(keyed, MASTER_KEY).chat.completions.create(model="gemini-flash", messages=HELLO).choices
    clock.advance(59.9)  # still the same minute
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gemini-flash", messages=HELLO)
    clock.advance(0.1)  # the next one
    assert client.chat.completions.create(model="gemini-flash", messages=HELLO).choices


def test_no_master_key_means_open(
    start_proxy: Callable[..., BackgroundProxy], deployment: Callable[..., dict[str, Any]]
) -> None:
    proxy = start_proxy({"model_list": [deployment("gemini-flash", FLASH)]})
    resp = httpx.post(proxy.url + "/v1/chat/completions", json={"model": "gemini-flash", "messages": HELLO})
    assert resp.status_code == 200


def test_credentials_never_in_error_bodies(
    start_proxy: Callable[..., BackgroundProxy],
    deployment: Callable[..., dict[str, Any]],
    service_account: dict[str, Any],
    emulator: Any,
) -> None:
    proxy = start_proxy(
        {"model_list": [deployment("gemini-flash", FLASH)], "general_settings": {"master_key": MASTER_KEY}}
    )
    emulator.script("gemini-2.5-flash", [{"status": 403}, {"status": 500}])
    for _ in range(2):
        resp = httpx.post(
            proxy.url + "/v1/chat/completions",
            headers={"authorization": f"Bearer {MASTER_KEY}"},
            json={"model": "gemini-flash", "messages": HELLO},
        )
        assert resp.status_code in (403, 500)
        key_body = service_account["private_key"].splitlines()[1]
        assert key_body not in resp.text and service_account["private_key_id"] not in resp.text
        assert MASTER_KEY not in resp.text and "ya29." not in resp.text
