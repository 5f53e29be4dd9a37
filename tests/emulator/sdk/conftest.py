"""Google's own SDK against the emulator in its default (lenient) mode, as a new user would run it.

Why a separate emulator: the rest of the suite runs the emulator in strict mode (canonical
spellings only) to prove the engine's wire format; google-genai sends snake_case names inside
some configs, which Vertex accepts, so these tests need the default parser.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google import genai
from google.oauth2 import service_account

from engine.emulator import Emulator

PROJECT = "emulator-project"
LOCATION = "us-central1"


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(job_step_seconds=0.05) as emu:
        yield emu


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
