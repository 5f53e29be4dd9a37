"""The OAuth 2.0 token endpoint and the bearer-token check in front of every API.

Why: google-auth's ``service_account.Credentials.refresh()`` posts a signed JWT
assertion (RFC 7523) to ``token_uri`` and then sends ``Authorization: Bearer``.
Verifying the signature against the key the emulator issued proves the real
client flow end to end, not a shortcut. Error texts follow Google's token
endpoint (``invalid_grant`` with ``Invalid JWT Signature.`` and friends).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.emulator import jwt
from engine.emulator.errors import google_error, oauth_error
from engine.emulator.state import EmulatorState

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth always signs with this audience, whatever token_uri says (service_account.py).
GOOGLE_TOKEN_AUDIENCES = (
    "https://oauth2.googleapis.com/token",
    "https://www.googleapis.com/oauth2/v4/token",
    "https://accounts.google.com/o/oauth2/token",
)
CLOCK_SKEW_SECONDS = 300
MAX_LIFETIME_SECONDS = 3600
_TIMEFRAME = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim."
)


async def _form(request: Request) -> dict[str, str]:
    """The token request parameters, urlencoded (default) or JSON (``use_json``)."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}


def _timeframe_ok(claims: dict[str, Any], now: float) -> bool:
    """Google's rule: not expired, not issued in the future, at most one hour long."""
    try:
        iat, exp = float(claims["iat"]), float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        return False
    return (
        iat <= now + CLOCK_SKEW_SECONDS
        and exp >= now - CLOCK_SKEW_SECONDS
        and exp - iat <= MAX_LIFETIME_SECONDS
    )


def _verified(state: EmulatorState, token: jwt.Jwt) -> str | None:
    """None when the JWT was signed by a trusted account, else the OAuth error text."""
    account = state.account_for(str(token.claims.get("iss", "")), token.header.get("kid"))
    if account is None:
        return "Invalid grant: account not found"
    if not token.verify(account.public_key):
        return "Invalid JWT Signature."
    return None


async def token_endpoint(request: Request, state: EmulatorState) -> Response:
    """``POST /token``: exchange a service-account JWT assertion for an access token."""
    form = await _form(request)
    if form.get("grant_type") != JWT_GRANT:
        return oauth_error("unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}")
    try:
        token = jwt.parse(form.get("assertion", ""))
    except jwt.MalformedJwt:
        return oauth_error("invalid_grant", "Invalid JWT: could not decode the assertion.")
    problem = _verified(state, token)
    if problem:
        return oauth_error("invalid_grant", problem)
    audiences = (*GOOGLE_TOKEN_AUDIENCES, str(request.base_url).rstrip("/") + "/token")
    if token.claims.get("aud") not in audiences:
        return oauth_error(
            "invalid_grant", f"Invalid JWT: Failed audience check. The right audience is {audiences[0]}"
        )
    if not _timeframe_ok(token.claims, time.time()):
        return oauth_error("invalid_grant", _TIMEFRAME)
    scopes = tuple(str(token.claims.get("scope", "")).split())
    if not scopes:
        return oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    access, lifetime = state.issue_token(str(token.claims["iss"]), scopes)
    return JSONResponse({"access_token": access, "expires_in": lifetime, "token_type": "Bearer"})


def _self_signed_ok(state: EmulatorState, value: str) -> bool:
    """AIP-4111 self-signed JWTs are accepted as bearer tokens when signed by a trusted key."""
    try:
        token = jwt.parse(value)
    except jwt.MalformedJwt:
        return False
    return _verified(state, token) is None and _timeframe_ok(token.claims, time.time())


API_KEY_INVALID = "API key not valid. Please pass a valid API key."


def api_key(request: Request) -> str | None:
    """The API key of a request: the ``x-goog-api-key`` header (google-genai) or the ``key`` query parameter."""
    return request.headers.get("x-goog-api-key") or request.query_params.get("key") or None


def unauthenticated(request: Request, state: EmulatorState) -> Response | None:
    """The 401 Google sends when the bearer token is missing or unknown (400 for a bad API key), else None.

    An API key the emulator issued (``POST /emulator/api-keys``) stands in for a token, as an
    express-mode key does on Vertex; Google's answer to any other key is a 400 ``API_KEY_INVALID``.
    """
    key = api_key(request)
    if key is not None and "authorization" not in request.headers:
        if state.api_key_valid(key):
            return None
        info = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "aiplatform.googleapis.com"},
        }
        return google_error(400, API_KEY_INVALID, status="INVALID_ARGUMENT", details=[info])
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value and (state.token_valid(value) or _self_signed_ok(state, value)):
        return None
    return google_error(401, headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
