"""Credentials, project and location: every source the seed names, with google-auth's real flows.

The token endpoint and the GCE metadata server are the emulator's, on loopback; the
service-account key is generated for the test.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import engine
from engine import auth

pytestmark = pytest.mark.usefixtures("fresh_auth")

MODEL = "vertex_ai/gemini-2.5-flash"
HELLO = [{"role": "user", "content": "hi"}]
ROOT = Path(__file__).resolve().parents[2]


def call(emulator: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("vertex_location", "us-central1")
    return engine.completion(model=MODEL, messages=HELLO, api_base=emulator.url, **kwargs)


def project_of_last_request(emulator: Any) -> str:
    return emulator.requests()[-1]["path"].split("/")[3]


def test_credentials_as_json_string_as_in_the_seed(emulator: Any, service_account: dict[str, Any]) -> None:
    resp = call(emulator, vertex_credentials=json.dumps(service_account))
    assert resp.choices[0].message.content == "Echo: hi"
    assert project_of_last_request(emulator) == service_account["project_id"]


def test_credentials_as_dict_and_as_file_path(
    emulator: Any, service_account: dict[str, Any], tmp_path: Path
) -> None:
    call(emulator, vertex_credentials=service_account)
    key = tmp_path / "vertex_ai_service_account.json"
    key.write_text(json.dumps(service_account))
    assert call(emulator, vertex_credentials=str(key)).choices[0].message.content == "Echo: hi"


def test_google_application_credentials(
    emulator: Any, service_account: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "sa.json"
    key.write_text(json.dumps(service_account))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    assert call(emulator).choices[0].message.content == "Echo: hi"
    assert project_of_last_request(emulator) == service_account["project_id"]


def test_application_default_credentials_from_the_metadata_server(emulator: Any) -> None:
    """Cloud Run's path: google.auth.default() → GCE metadata server (the emulator's, via GCE_METADATA_HOST)."""
    host = emulator.url.removeprefix("http://")
    env = {k: v for k, v in os.environ.items() if k not in ("NO_GCE_CHECK", "GOOGLE_APPLICATION_CREDENTIALS")}
    env.update(
        {
            "GCE_METADATA_HOST": host,
            "GCE_METADATA_IP": host,
            "HOME": str(ROOT / "tests"),
            "CLOUDSDK_CONFIG": "/nonexistent",
        }
    )
    code = (
        "import engine, json\n"
        f"r = engine.completion(model={MODEL!r}, messages=[{{'role':'user','content':'adc'}}], api_base={emulator.url!r}, vertex_location='europe-west4')\n"
        "print(json.dumps([r.choices[0].message.content]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["Echo: adc"]
    logged = emulator.requests()[-1]["path"]
    assert "/locations/europe-west4/" in logged


def test_project_and_location_precedence(
    emulator: Any, service_account: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sa = service_account
    monkeypatch.setenv("VERTEX_AI_PROJECT", "env2-project")
    call(emulator, vertex_credentials=sa)
    assert project_of_last_request(emulator) == "env2-project"
    monkeypatch.setenv("VERTEXAI_PROJECT", "env-project")
    call(emulator, vertex_credentials=sa)
    assert project_of_last_request(emulator) == "env-project"
    monkeypatch.setattr(engine, "vertex_project", "module-project")
    call(emulator, vertex_credentials=sa)
    assert project_of_last_request(emulator) == "module-project"
    call(emulator, vertex_credentials=sa, vertex_ai_project="alias-project")
    assert project_of_last_request(emulator) == "alias-project"
    call(emulator, vertex_credentials=sa, vertex_project="call-project")
    assert project_of_last_request(emulator) == "call-project"


def test_location_sources(
    emulator: Any, service_account: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = {
        "model": MODEL,
        "messages": HELLO,
        "api_base": emulator.url,
        "vertex_credentials": service_account,
    }
    monkeypatch.setenv("VERTEX_AI_LOCATION", "asia-southeast1")
    engine.completion(**kwargs)
    assert "/locations/asia-southeast1/" in emulator.requests()[-1]["path"]
    monkeypatch.setattr(engine, "vertex_location", "europe-west1")
    engine.completion(**kwargs)
    assert "/locations/europe-west1/" in emulator.requests()[-1]["path"]
    engine.completion(**kwargs, vertex_ai_location="us-east5")
    assert "/locations/us-east5/" in emulator.requests()[-1]["path"]


def test_no_location_anywhere_is_us_central1_as_in_litellm(
    emulator: Any, service_account: dict[str, Any]
) -> None:
    engine.completion(model=MODEL, messages=HELLO, api_base=emulator.url, vertex_credentials=service_account)
    assert "/locations/us-central1/" in emulator.requests()[-1]["path"]


def test_missing_project_names_every_place_looked(emulator: Any, service_account: dict[str, Any]) -> None:
    no_project = {k: v for k, v in service_account.items() if k != "project_id"}
    with pytest.raises(engine.BadRequestError) as info:
        call(emulator, vertex_credentials=no_project)
    for place in (
        "vertex_project",
        "vertex_ai_project",
        "engine.vertex_project",
        "VERTEXAI_PROJECT",
        "VERTEX_AI_PROJECT",
        "credentials",
    ):
        assert place in info.value.message


def test_bad_credentials_are_clear_errors(emulator: Any) -> None:
    with pytest.raises(engine.BadRequestError, match="not valid JSON"):
        call(emulator, vertex_credentials="{not json")
    with pytest.raises(engine.BadRequestError, match="neither JSON nor the path"):
        call(emulator, vertex_credentials="/no/such/key.json")


def test_rejected_key_is_an_authentication_error_without_secrets(
    emulator: Any, service_account: dict[str, Any]
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    forged = {**service_account, "private_key": pem}
    with pytest.raises(engine.AuthenticationError) as info:
        call(emulator, vertex_credentials=forged)
    assert info.value.status_code == 401
    assert "PRIVATE KEY" not in str(info.value) and "PRIVATE KEY" not in info.value.message


def test_token_is_cached_across_calls(emulator: Any, service_account: dict[str, Any]) -> None:
    emulator.state.tokens.clear()
    for _ in range(5):
        call(emulator, vertex_credentials=service_account)
    assert len(emulator.state.tokens) == 1


def test_one_refresh_under_threads(emulator: Any, service_account: dict[str, Any]) -> None:
    emulator.state.tokens.clear()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            call(emulator, vertex_credentials=service_account)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(emulator.state.tokens) == 1


async def test_one_refresh_under_asyncio(emulator: Any, service_account: dict[str, Any]) -> None:
    emulator.state.tokens.clear()
    kwargs = {
        "api_base": emulator.url,
        "vertex_credentials": service_account,
        "vertex_location": "us-central1",
    }
    await asyncio.gather(*[engine.acompletion(model=MODEL, messages=HELLO, **kwargs) for _ in range(8)])
    assert len(emulator.state.tokens) == 1


def test_token_refreshed_before_expiry(emulator: Any, service_account: dict[str, Any]) -> None:
    call(emulator, vertex_credentials=service_account)
    cached = auth.credential_for(service_account)
    first = cached.credentials.token
    cached.credentials.expiry = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(
        minutes=2
    )
    call(emulator, vertex_credentials=service_account)
    assert cached.credentials.token != first
