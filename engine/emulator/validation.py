"""Request-body parsing and validation against the discovery schemas, answered like Vertex.

Why: an invalid body must get the 400 that Vertex would send, naming the field,
so the engine's request builders are checked on every emulated call; a valid body in
any spelling proto3 JSON allows is rewritten to the canonical one (engine/emulator/protojson.py)
before a handler reads it. In strict mode (``vertexlate emulator --strict``, the project's
own tests) non-canonical spellings are refused too, so the engine is proven to send the
canonical wire format.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from engine.emulator import discovery, protojson
from engine.emulator.errors import google_error, invalid_argument
from engine.emulator.routing import Call


def api_of(call: Call, api: str | None = None) -> str:
    """The discovery document for this call: ``api`` if given, else Vertex's for the path's version."""
    return api or f"aiplatform.{call.params.get('version', 'v1')}"


def _unique(entries: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for entry in entries:
        key = (entry.get("field", ""), entry["description"])
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def parse(call: Call, schema: str, api: str | None = None) -> Response | None:
    """Bring ``call.body`` to canonical form for ``schema``; the 400 when it is invalid, else None.

    ``schema`` is the v1 name (``GoogleCloudAiplatformV1...``); on ``v1beta1`` paths the
    v1beta1 document and its schema of the same name are used.
    """
    if not isinstance(call.body, dict):
        return google_error(400, "Invalid JSON payload received. Expected an object.")
    name = api_of(call, api)
    schema = protojson.schema_id(name, schema)
    try:
        parsed = protojson.canonical(name, schema, call.body)
        found = parsed.violations + discovery.violations(name, schema, parsed.body)
    except RecursionError:  # nesting deeper than the walk can follow: invalid JSON, as routing._body says
        return google_error(400, "Invalid JSON payload received. Unexpected token.")
    if call.state.strict:
        found += parsed.spellings
    if found:
        return invalid_argument(_unique(sorted(found, key=lambda v: v.get("field", ""))))
    call.body = parsed.body
    return None


def encode(call: Call, payload: Any, schema: str, api: str | None = None) -> Any:
    """``payload`` (of ``schema``) with enums as integers when the query asks (``$alt=json;enum-encoding=int``)."""
    if not protojson.wants_int_enums(call.query):
        return payload
    name = api_of(call, api)
    return protojson.int_enums(name, protojson.schema_id(name, schema), payload)


def respond(call: Call, payload: Any, schema: str, api: str | None = None) -> JSONResponse:
    """``payload`` as JSON, encoded as the query asks (see :func:`encode`)."""
    return JSONResponse(encode(call, payload, schema, api))
