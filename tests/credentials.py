"""Test credentials that need no token service (request-building tests)."""

from __future__ import annotations

from typing import Any


class StaticToken:
    """A ready credential: building a request needs no token service."""

    token = "test-token"
    expiry = None
    project_id = "cred-project"

    def refresh(self, request: Any) -> None:  # pragma: no cover - never expired
        pass
