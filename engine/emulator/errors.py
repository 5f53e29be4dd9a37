"""Error bodies in the shapes Google's front ends send.

Why: clients (the engine, google-auth, user code) branch on these exact shapes:
``{"error": {"code", "message", "status", "details"}}`` for Google APIs
(https://cloud.google.com/apis/design/errors#http_mapping) and the OAuth 2.0
``{"error", "error_description"}`` pair for the token endpoint (RFC 6749 §5.2).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# Messages Vertex AI sends for the faults a test can inject.
DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: (
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
        "or other valid authentication credential. "
        "See https://developers.google.com/identity/sign-in/web/devconsole-project."
    ),
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: (
        "Resource exhausted. Please try again later. Please refer to "
        "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details."
    ),
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "The request timed out. Please try again.",
}


def error_body(
    code: int,
    message: str | None = None,
    status: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The ``google.rpc.Status`` JSON mapping for an HTTP error."""
    body: dict[str, Any] = {
        "code": code,
        "message": message or DEFAULT_MESSAGES.get(code, "Unknown error."),
        "status": status or STATUS_NAMES.get(code, "UNKNOWN"),
    }
    if details:
        body["details"] = details
    return {"error": body}


def google_error(
    code: int,
    message: str | None = None,
    status: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A JSON response carrying :func:`error_body`."""
    return JSONResponse(error_body(code, message, status, details), status_code=code, headers=headers)


def invalid_argument(violations: list[dict[str, str]]) -> JSONResponse:
    """400 with every field violation, message lines joined as Google joins them."""
    message = "\n".join(v["description"] for v in violations)
    details = [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations}]
    return google_error(400, message, details=details)


def not_found(message: str) -> JSONResponse:
    """404 NOT_FOUND with a Google-style sentence."""
    return google_error(404, message)


def oauth_error(error: str, description: str, code: int = 400) -> JSONResponse:
    """OAuth 2.0 token-endpoint error, e.g. ``invalid_grant``."""
    return JSONResponse({"error": error, "error_description": description}, status_code=code)
