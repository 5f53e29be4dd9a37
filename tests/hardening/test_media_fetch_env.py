"""Media fetches ignore the process's proxy variables (gemini_media.fetch: ``trust_env=False``).

The fetch connects to the one address it resolved and checked; a ``HTTP_PROXY`` from the environment
would send the request elsewhere (and the pinned-address check with it). The proxy named here is a
closed loopback port: honouring it would fail the fetch.
"""

from __future__ import annotations

import socket

import pytest

import engine
from engine.transforms import gemini_media

from .test_defects import _Media, _parts, media_server  # noqa: F401 - the fixture is used by name


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_media_fetch_does_not_go_through_proxy_variables(
    media_server: int,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = f"http://127.0.0.1:{_closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(engine, "media_fetch_allow_private", True)
    monkeypatch.setattr(gemini_media, "resolver", lambda host, port: ["127.0.0.1"])
    parts = _parts(f"http://media.test:{media_server}/pixel.png")
    assert parts == [{"inlineData": {"mimeType": "image/png", "data": "iVBORw=="}}]
    assert _Media.hits == [("/pixel.png", f"media.test:{media_server}")]
