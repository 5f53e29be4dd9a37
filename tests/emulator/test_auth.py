"""OAuth 2.0 token endpoint and bearer checks, driven by google-auth's real flows."""

from __future__ import annotations

import base64
import json
import time

import google.auth.exceptions
import google.auth.transport.requests
import httpx
import pytest
from google.auth import crypt
from google.auth import jwt as google_jwt
from google.oauth2 import service_account

from engine.emulator import Emulator

from .helpers import model_path, user

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _assertion(info: dict[str, str], **overrides: object) -> str:
    """A JWT assertion signed with the key file's private key, like google-auth builds it."""
    now = int(time.time())
    claims = {
        "iss": info["client_email"],
        "aud": "https://oauth2.googleapis.com/token",
        "iat": now,
        "exp": now + 3600,
        "scope": SCOPES[0],
        **overrides,
    }
    signer = crypt.RSASigner.from_service_account_info(info)
    return google_jwt.encode(signer, claims).decode("ascii")


def _exchange(emulator: Emulator, assertion: str) -> httpx.Response:
    return httpx.post(f"{emulator.url}/token", data={"grant_type": JWT_GRANT, "assertion": assertion})


def test_issued_key_file_has_googles_fields(emulator: Emulator) -> None:
    info = emulator.issue_service_account(project_id="my-proj")
    assert info["type"] == "service_account"
    assert info["token_uri"] == f"{emulator.url}/token"
    assert info["project_id"] == "my-proj"
    assert info["client_email"].endswith("@my-proj.iam.gserviceaccount.com")
    assert info["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert len(info["private_key_id"]) == 40


def test_google_auth_service_account_refresh_gets_a_working_token(emulator: Emulator) -> None:
    creds = service_account.Credentials.from_service_account_info(
        emulator.issue_service_account(), scopes=SCOPES
    )
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.valid and creds.token.startswith("ya29.")
    response = httpx.post(
        emulator.url + model_path("gemini-2.0-flash", "generateContent"),
        json=user("hi"),
        headers={"Authorization": f"Bearer {creds.token}"},
    )
    assert response.status_code == 200


def test_authorized_session_calls_vertex(emulator: Emulator) -> None:
    creds = service_account.Credentials.from_service_account_info(
        emulator.issue_service_account(), scopes=SCOPES
    )
    session = google.auth.transport.requests.AuthorizedSession(creds)
    response = session.post(
        emulator.url + model_path("gemini-2.0-flash", "generateContent"), json=user("via session")
    )
    assert response.status_code == 200
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == "Echo: via session"


def test_signature_from_another_key_is_rejected(emulator: Emulator) -> None:
    real = emulator.issue_service_account()
    other = emulator.issue_service_account()
    forged = {**other, "client_email": real["client_email"], "private_key_id": real["private_key_id"]}
    response = _exchange(emulator, _assertion(forged))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}


def test_google_auth_surfaces_invalid_grant_as_refresh_error(emulator: Emulator) -> None:
    info = emulator.issue_service_account()
    stranger = {**info, "client_email": "nobody@elsewhere.iam.gserviceaccount.com"}
    creds = service_account.Credentials.from_service_account_info(stranger, scopes=SCOPES)
    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
        creds.refresh(google.auth.transport.requests.Request())


@pytest.mark.parametrize(
    ("overrides", "error", "fragment"),
    [
        ({"aud": "https://example.com/token"}, "invalid_grant", "Failed audience check"),
        (
            {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
            "invalid_grant",
            "short-lived token",
        ),
        ({"exp": int(time.time()) + 7200}, "invalid_grant", "short-lived token"),
        ({"scope": ""}, "invalid_scope", "Invalid OAuth scope"),
    ],
)
def test_claims_are_checked(
    emulator: Emulator, overrides: dict[str, object], error: str, fragment: str
) -> None:
    info = emulator.issue_service_account()
    response = _exchange(emulator, _assertion(info, **overrides))
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert fragment in response.json()["error_description"]


def test_audience_may_be_the_emulators_own_token_uri(emulator: Emulator) -> None:
    info = emulator.issue_service_account()
    response = _exchange(emulator, _assertion(info, aud=info["token_uri"]))
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
    assert response.json()["expires_in"] > 0


def test_wrong_grant_type_and_garbage_assertion(emulator: Emulator) -> None:
    wrong = httpx.post(f"{emulator.url}/token", data={"grant_type": "password", "assertion": "x"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "unsupported_grant_type"
    garbage = _exchange(emulator, "not-a-jwt")
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_grant"


def test_externally_provided_key_can_be_trusted_via_control_api(emulator: Emulator) -> None:
    source = Emulator()  # a different emulator generates the key; only this one is told to trust it
    info = source.issue_service_account()
    assert _exchange(emulator, _assertion(info)).status_code == 400
    registered = httpx.post(f"{emulator.url}/emulator/service-accounts", json=info)
    assert registered.status_code == 200
    assert _exchange(emulator, _assertion(info)).status_code == 200


def test_service_account_via_control_api_works_with_google_auth(emulator: Emulator) -> None:
    info = httpx.post(f"{emulator.url}/emulator/service-accounts", json={"project_id": "ctl"}).json()
    assert info["token_uri"] == f"{emulator.url}/token"
    creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.token.startswith("ya29.")


def test_missing_or_unknown_token_gets_googles_401(emulator: Emulator) -> None:
    url = emulator.url + model_path("gemini-2.0-flash", "generateContent")
    for headers in ({}, {"Authorization": "Bearer ya29.not-issued"}, {"Authorization": "Basic abc"}):
        response = httpx.post(url, json=user("hi"), headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["status"] == "UNAUTHENTICATED"
        assert response.json()["error"]["code"] == 401
        assert "invalid authentication credentials" in response.json()["error"]["message"]


def test_self_signed_jwt_is_accepted_as_bearer(emulator: Emulator) -> None:
    # AIP-4111: google-auth can send a self-signed JWT instead of an access token.
    info = emulator.issue_service_account()
    creds = service_account.Credentials.from_service_account_info(
        info, scopes=SCOPES, always_use_jwt_access=True
    )
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.token.count(".") == 2
    response = httpx.post(
        emulator.url + model_path("gemini-2.0-flash", "generateContent"),
        json=user("jwt"),
        headers={"Authorization": f"Bearer {creds.token}"},
    )
    assert response.status_code == 200


def test_tampered_self_signed_jwt_is_rejected(emulator: Emulator) -> None:
    info = emulator.issue_service_account()
    header, claims, signature = _assertion(info).split(".")
    payload = json.loads(base64.urlsafe_b64decode(claims + "=="))
    payload["iss"] = "someone-else@x.iam.gserviceaccount.com"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    response = httpx.post(
        emulator.url + model_path("gemini-2.0-flash", "generateContent"),
        json=user("jwt"),
        headers={"Authorization": f"Bearer {header}.{forged}.{signature}"},
    )
    assert response.status_code == 401
