"""Request-body validation against the discovery schemas, answered like Vertex.

Why: an invalid body must get the 400 that Vertex would send, naming the field,
so the engine's request builders are checked on every emulated call.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from engine.emulator import discovery
from engine.emulator.errors import google_error, invalid_argument


def invalid(body: Any, schema: str, api: str = "aiplatform.v1") -> Response | None:
    """The 400 response for ``body`` when it breaks ``schema``, else None."""
    if not isinstance(body, dict):
        return google_error(400, "Invalid JSON payload received. Expected an object.")
    found = discovery.violations(api, schema, body)
    return invalid_argument(found) if found else None
