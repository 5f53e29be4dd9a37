"""Service-account credentials the emulator issues or is told to trust.

Why: google-auth's real service-account flow signs a JWT with the private key
from a JSON key file and posts it to ``token_uri``. Issuing a genuine key file
(fresh RSA key, Google's field names) lets that flow run unchanged offline.
"""

from __future__ import annotations

import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from engine.emulator.state import DEFAULT_PROJECT, EmulatorState, ServiceAccount


def issue_service_account(
    state: EmulatorState, base_url: str, project_id: str = DEFAULT_PROJECT
) -> dict[str, Any]:
    """A complete service-account key file whose ``token_uri`` points at this emulator."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = secrets.token_hex(20)
    name = f"emulator-{secrets.token_hex(4)}"
    email = f"{name}@{project_id}.iam.gserviceaccount.com"
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    state.trust(ServiceAccount(email, key_id, key.public_key(), project_id))
    client_id = str(100_000_000_000_000_000_000 + secrets.randbelow(10**20))
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": key_id,
        "private_key": pem,
        "client_email": email,
        "client_id": client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": f"{base_url}/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email.replace('@', '%40')}",
        "universe_domain": "googleapis.com",
    }


def trust_service_account(state: EmulatorState, info: dict[str, Any]) -> ServiceAccount:
    """Trust an existing key file (``private_key``) or public key (``public_key``, PEM).

    Why: a user's own test credentials can be registered without the emulator
    generating them; only the public half is retained.
    """
    if "private_key" in info:
        private = serialization.load_pem_private_key(info["private_key"].encode("ascii"), password=None)
        public = private.public_key()
    else:
        public = serialization.load_pem_public_key(info["public_key"].encode("ascii"))
    if not isinstance(public, rsa.RSAPublicKey):
        raise ValueError("only RSA keys are supported")
    account = ServiceAccount(
        email=info["client_email"],
        key_id=info.get("private_key_id") or secrets.token_hex(20),
        public_key=public,
        project_id=info.get("project_id", DEFAULT_PROJECT),
    )
    state.trust(account)
    return account
