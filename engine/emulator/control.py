"""The test-control API under ``/emulator/...`` (no auth).

Why HTTP and not only Python: a test in another process (or the engine's own
test-suite using ``vertexlate emulator`` as a subprocess) must be able to script
answers, inject faults, read the request log and obtain credentials.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.emulator.credentials import issue_service_account, trust_service_account
from engine.emulator.state import DEFAULT_PROJECT, EmulatorState


async def _json(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw else {}


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as proto3 JSON spells them ("NaN", "Infinity", "-Infinity").

    Why: a logged request body may carry them (Python's json module reads ``NaN``), and strict
    JSON cannot, so the request log must not answer 500 after such a request.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def control(request: Request, state: EmulatorState, action: str) -> Response:
    """Dispatch one ``/emulator/<action>`` call."""
    if action == "health" and request.method == "GET":
        return JSONResponse({"status": "ok"})
    if action == "requests" and request.method == "GET":
        return JSONResponse(json_safe(state.requests(request.query_params.get("model"))))
    if request.method != "POST":
        return JSONResponse(
            {"error": f"unknown control call {request.method} /emulator/{action}"}, status_code=404
        )
    try:
        body = await _json(request)
    except ValueError:
        return _bad("body must be JSON")
    if action == "script":
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("model"), str)
            or not isinstance(body.get("responses"), list)
        ):
            return _bad('expected {"model": str, "responses": [...]}')
        state.push_script(body["model"], body["responses"])
        return JSONResponse({"queued": len(body["responses"])})
    if action == "advance":
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if not isinstance(seconds, (int, float)) or seconds < 0:
            return _bad('expected {"seconds": number >= 0}')
        state.advance(float(seconds))
        return JSONResponse({"advanced": seconds})
    if action == "reset":
        state.reset()
        return JSONResponse({"status": "reset"})
    if action == "unknown-models":
        models = body.get("models") if isinstance(body, dict) else body
        if not isinstance(models, list):
            return _bad('expected {"models": [str, ...]}')
        state.mark_unknown([str(m) for m in models])
        return JSONResponse({"unknown": sorted(state.unknown_models)})
    if action == "accept-models":
        models = body.get("models") if isinstance(body, dict) else body
        if not isinstance(models, list):
            return _bad('expected {"models": [str, ...]}')
        state.accept_models([str(m) for m in models])
        return JSONResponse({"accepted": sorted(state.accepted_models)})
    if action == "api-keys":
        return JSONResponse({"key": state.issue_api_key()})
    if action == "service-accounts":
        if isinstance(body, dict) and "client_email" in body:
            account = trust_service_account(state, body)
            return JSONResponse({"client_email": account.email, "private_key_id": account.key_id})
        project = body.get("project_id", DEFAULT_PROJECT) if isinstance(body, dict) else DEFAULT_PROJECT
        return JSONResponse(issue_service_account(state, str(request.base_url).rstrip("/"), project))
    return JSONResponse({"error": f"unknown control call /emulator/{action}"}, status_code=404)
