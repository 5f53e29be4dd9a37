"""The test suite itself refuses to leave loopback (tests/conftest.py installs the guard)."""

from __future__ import annotations

import socket

import pytest

import engine


def test_resolving_a_public_name_is_refused() -> None:
    with pytest.raises(OSError, match="nothing beyond loopback"):
        socket.getaddrinfo("aiplatform.googleapis.com", 443)


def test_connecting_to_a_public_address_is_refused() -> None:
    with socket.socket() as sock, pytest.raises(OSError, match="nothing beyond loopback"):
        sock.connect(("8.8.8.8", 443))


def test_a_call_without_api_base_would_fail_here_not_reach_google(vx: dict) -> None:
    kwargs = {k: v for k, v in vx.items() if k != "api_base"}
    with pytest.raises(engine.APIConnectionError):
        engine.completion(
            model="vertex_ai/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], **kwargs
        )
