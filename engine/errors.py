"""Typed, OpenAI-compatible exceptions.

The class names mirror the ``openai`` package (and LiteLLM), so code that catches
``RateLimitError`` or ``BadRequestError`` keeps working when it switches to
Vertexlate. Every error carries the HTTP status, the model, the provider's own
message and the upstream request id; none ever carries a credential.

Which upstream status or message becomes which class is data (the ``errors``
section of a spec); this module only defines the classes and a lookup by name.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "APIConnectionError",
    "APIResponseValidationError",
    "AuthenticationError",
    "BadRequestError",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "InternalServerError",
    "JSONSchemaValidationError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "SpecError",
    "Timeout",
    "UnprocessableEntityError",
    "UnsupportedParamsError",
    "error_class",
]


class APIError(Exception):
    """Base of every error a call can raise; the fields match OpenAI's error object."""

    status_code: int = 500
    type: str = "api_error"

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        status_code: int | None = None,
        llm_provider: str = "vertex_ai",
        request_id: str | None = None,
        param: str | None = None,
        code: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.model = model
        if status_code is not None:
            self.status_code = status_code
        self.llm_provider = llm_provider
        self.request_id = request_id
        self.param = param
        self.code = code
        self.body = body
        self.headers = headers or {}

    def __str__(self) -> str:
        where = f" (model={self.model})" if self.model else ""
        return f"{type(self).__name__}: {self.message}{where}"

    def to_openai_error(self) -> dict[str, Any]:
        """The body an OpenAI-compatible server answers with: ``{"error": {...}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code if self.code is not None else str(self.status_code),
            }
        }


class BadRequestError(APIError):
    status_code = 400
    type = "invalid_request_error"


class UnsupportedParamsError(BadRequestError):
    """A parameter the model's spec does not map (pass ``drop_params=True`` to drop it)."""


class ContentPolicyViolationError(BadRequestError):
    type = "content_policy_violation"


class ContextWindowExceededError(BadRequestError):
    type = "context_length_exceeded"


class AuthenticationError(APIError):
    status_code = 401
    type = "authentication_error"


class PermissionDeniedError(APIError):
    status_code = 403
    type = "permission_denied"


class NotFoundError(APIError):
    status_code = 404
    type = "not_found_error"


class UnprocessableEntityError(APIError):
    status_code = 422
    type = "invalid_request_error"


class RateLimitError(APIError):
    status_code = 429
    type = "rate_limit_error"


class InternalServerError(APIError):
    status_code = 500
    type = "internal_server_error"


class APIResponseValidationError(APIError):
    """The upstream answered with something that is not the documented shape."""

    status_code = 502
    type = "api_error"


class ServiceUnavailableError(APIError):
    status_code = 503
    type = "service_unavailable"


class Timeout(APIError):
    status_code = 408
    type = "timeout"


class APIConnectionError(APIError):
    status_code = 500
    type = "api_connection_error"


class JSONSchemaValidationError(APIError):
    """The model's JSON output does not match the requested schema (``enforce_validation``)."""

    status_code = 500
    type = "json_schema_validation_error"

    def __init__(self, message: str, *, raw_response: str, schema: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.raw_response = raw_response
        self.schema = schema


class SpecError(Exception):
    """A spec file is invalid; the message names file, line and key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid spec:\n  " + "\n  ".join(problems))


_BY_NAME: dict[str, type[APIError]] = {
    cls.__name__: cls
    for cls in (
        APIError,
        BadRequestError,
        UnsupportedParamsError,
        ContentPolicyViolationError,
        ContextWindowExceededError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
        APIResponseValidationError,
        ServiceUnavailableError,
        Timeout,
        APIConnectionError,
        JSONSchemaValidationError,
    )
}

ERROR_CLASS_NAMES = frozenset(_BY_NAME)


def error_class(name: str) -> type[APIError]:
    """The exception class a spec names (validated at spec-load time)."""
    return _BY_NAME[name]
