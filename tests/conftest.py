"""Shared fixtures: a live emulator over real HTTP and a service account it issued.

google-auth's real service-account flow runs in every engine test: the
credential below is a freshly generated RSA key whose ``token_uri`` points at the
emulator's loopback OAuth endpoint, which verifies the signed JWT.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

# Never let google-auth probe the real GCE metadata address (169.254.169.254): tests reach loopback only.
os.environ.setdefault("NO_GCE_CHECK", "true")
os.environ.setdefault("GCE_METADATA_HOST", "127.0.0.1:9")
os.environ.setdefault("GCE_METADATA_IP", "127.0.0.1:9")

import engine  # noqa: E402
from engine import auth, registry  # noqa: E402

# Property tests: in CI every run is derandomized (a fixed seed per test) and keeps no example database,
# so a run's outcome depends on the code alone (tests/examples.py scales example counts for longer runs).
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile(
    os.environ.get("VERTEXLATE_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect


def _is_loopback(host: Any) -> bool:
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host in _LOOPBACK_NAMES or host.startswith("127."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not _is_loopback(host):
        raise OSError(f"tests reach nothing beyond loopback: refused to resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        raise OSError(f"tests reach nothing beyond loopback: refused to connect to {address!r}")
    return _real_connect(self, address)


# Enforced for every test in this process: a test that would reach the internet fails loudly
# (subprocesses started by tests point at loopback servers themselves).
socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    from engine.emulator import Emulator

    # Strict: the engine must send the canonical proto3 JSON spelling (lowerCamel names, enum names).
    with Emulator(strict=True) as emu:
        yield emu


@pytest.fixture(scope="session")
def service_account(emulator: Any) -> dict[str, Any]:
    return emulator.issue_service_account(project_id="emulator-project")


@pytest.fixture
def vx(emulator: Any, service_account: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments that point an engine call at the emulator."""
    emulator.reset()
    return {
        "api_base": emulator.url,
        "vertex_credentials": service_account,
        "vertex_location": "us-central1",
    }


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with default module settings and no project/location from the environment."""
    for name in (
        "VERTEXAI_PROJECT",
        "VERTEXAI_LOCATION",
        "VERTEX_AI_PROJECT",
        "VERTEX_AI_LOCATION",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "vertex_project": None,
        "vertex_location": None,
        "vertex_ai_safety_settings": None,
        "drop_params": False,
        "set_verbose": False,
        "num_retries": 0,
    }.items():
        monkeypatch.setattr(engine, name, value)
    yield
    if registry._extra_dirs:
        registry.reset()


@pytest.fixture
def fresh_auth() -> Iterator[None]:
    """Forget cached credentials before and after a test that checks credential resolution."""
    auth.clear_cache()
    yield
    auth.clear_cache()
