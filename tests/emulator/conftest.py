"""Shared fixtures: one emulator per test session, a real google-auth token, an HTTP client.

Why session scope: starting uvicorn is cheap but not free; the autouse
``fresh`` fixture resets scripts, log and resources so tests stay independent.
"""

from __future__ import annotations

from collections.abc import Iterator

import google.auth.transport.requests
import httpx
import pytest
from google.oauth2 import service_account

from engine.emulator import Emulator

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    # Strict: the project's own tests prove canonical spellings (the SDK tests in sdk/ use the default).
    with Emulator(job_step_seconds=0.05, strict=True) as emu:
        yield emu


@pytest.fixture(autouse=True)
def fresh(emulator: Emulator) -> None:
    emulator.reset()


@pytest.fixture(scope="session")
def credentials(emulator: Emulator) -> service_account.Credentials:
    """Credentials refreshed through google-auth's real service-account JWT flow."""
    info = emulator.issue_service_account()
    creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    creds.refresh(google.auth.transport.requests.Request())
    return creds


@pytest.fixture(scope="session")
def token(credentials: service_account.Credentials) -> str:
    return str(credentials.token)


@pytest.fixture
def client(emulator: Emulator, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emulator.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as http:
        yield http
