"""A GCE metadata server, enough for Application Default Credentials.

Why: with ``GCE_METADATA_HOST`` and ``GCE_METADATA_IP`` pointing here,
``google.auth.default()`` takes its Compute Engine branch. google-auth 2.63
(google/auth/compute_engine/_metadata.py) calls exactly: ``GET /`` (ping, via
GCE_METADATA_IP), ``project/project-id``, ``instance/service-accounts/default/?recursive=true``,
``instance/service-accounts/default/token[?scopes=]`` and ``universe/universe-domain``.
Paths and the ``Metadata-Flavor: Google`` handshake follow
https://cloud.google.com/compute/docs/metadata/querying-metadata.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from engine.emulator.state import DEFAULT_ACCOUNT_EMAIL, DEFAULT_PROJECT, EmulatorState

FLAVOR = {"Metadata-Flavor": "Google"}
DEFAULT_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
NUMERIC_PROJECT_ID = "123456789012"


def _text(value: str, status: int = 200) -> Response:
    return PlainTextResponse(value, status_code=status, headers=FLAVOR, media_type="application/text")


def _account_info(email: str) -> dict[str, object]:
    return {"aliases": ["default"], "email": email, "scopes": list(DEFAULT_SCOPES)}


def _flavor_missing(request: Request) -> Response | None:
    if request.headers.get("metadata-flavor") != "Google":
        return _text("Missing Metadata-Flavor:Google header.", 403)
    return None


async def root(request: Request) -> Response:
    """``GET /``: google-auth's ping checks the status and the flavor header it gets back."""
    return _flavor_missing(request) or _text("computeMetadata/\n")


def metadata(request: Request, state: EmulatorState, path: str) -> Response:
    """``GET /computeMetadata/v1/<path>``."""
    missing = _flavor_missing(request)
    if missing is not None:
        return missing
    parts = [p for p in path.split("/") if p]
    if parts == ["project", "project-id"]:
        return _text(DEFAULT_PROJECT)
    if parts == ["project", "numeric-project-id"]:
        return _text(NUMERIC_PROJECT_ID)
    if parts == ["universe", "universe-domain"]:
        return _text("googleapis.com")
    if parts == ["instance", "zone"]:
        return _text(f"projects/{NUMERIC_PROJECT_ID}/zones/us-central1-a")
    if (
        len(parts) >= 3
        and parts[:2] == ["instance", "service-accounts"]
        and parts[2] in ("default", DEFAULT_ACCOUNT_EMAIL)
    ):
        return _service_account(request, state, parts[3:])
    return _text("Not Found", 404)


def _service_account(request: Request, state: EmulatorState, rest: list[str]) -> Response:
    if not rest:
        if request.query_params.get("recursive") == "true":
            return JSONResponse(_account_info(DEFAULT_ACCOUNT_EMAIL), headers=FLAVOR)
        return _text("aliases\nemail\nidentity\nscopes\ntoken\n")
    if rest == ["email"]:
        return _text(DEFAULT_ACCOUNT_EMAIL)
    if rest == ["scopes"]:
        return _text("\n".join(DEFAULT_SCOPES) + "\n")
    if rest == ["aliases"]:
        return _text("default\n")
    if rest == ["token"]:
        scopes = request.query_params.get("scopes")
        granted = tuple(scopes.split(",")) if scopes else DEFAULT_SCOPES
        access, lifetime = state.issue_token(DEFAULT_ACCOUNT_EMAIL, granted)
        return JSONResponse(
            {"access_token": access, "expires_in": lifetime, "token_type": "Bearer"}, headers=FLAVOR
        )
    return _text("Not Found", 404)
