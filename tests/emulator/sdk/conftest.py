"""Google's own SDK against the emulator in its default (lenient) mode, as a new user would run it.

Why a separate emulator: the rest of the suite runs the emulator in strict mode (canonical
spellings only) to prove the engine's wire format; google-genai sends snake_case names inside
some configs, which Vertex accepts, so these tests need the default parser.
"""

from __future__ import annotations

from collections.abc import Iterator

import google.auth.transport.requests
import pytest
from google import genai
from google.oauth2 import service_account

from engine.emulator import Emulator
from tests.emulator.conftest import SCOPES

PROJECT = "emulator-project"
LOCATION = "us-central1"


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(job_step_seconds=0.05) as emu:
        yield emu


@pytest.fixture(scope="session")
def credentials(emulator: Emulator) -> service_account.Credentials:
    """This directory's own account: session fixtures of the parent conftest belong to its strict emulator."""
    info = emulator.issue_service_account()
    creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    creds.refresh(google.auth.transport.requests.Request())
    return creds


@pytest.fixture(scope="session")
def token(credentials: service_account.Credentials) -> str:
    return str(credentials.token)


@pytest.fixture(scope="session")
def strict_emulator() -> Iterator[Emulator]:
    with Emulator(strict=True) as emu:
        yield emu


@pytest.fixture
def genai_client(emulator: Emulator, credentials: service_account.Credentials) -> genai.Client:
    """google-genai on Vertex with its default API version (v1beta1), pointed at the emulator."""
    return genai.Client(
        vertexai=True,
        project=PROJECT,
        location=LOCATION,
        credentials=credentials,
        http_options={"base_url": emulator.url},
    )
