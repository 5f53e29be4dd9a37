"""The GCE metadata server and the Application Default Credentials path of google-auth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from engine.emulator import Emulator

from .helpers import model_path, user

FLAVOR = {"Metadata-Flavor": "Google"}

# Runs in a fresh interpreter because google-auth reads GCE_METADATA_HOST at import time.
ADC_PROGRAM = """
import json, sys
import google.auth, google.auth.transport.requests, requests
creds, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
creds.refresh(google.auth.transport.requests.Request())
url = sys.argv[1]
body = {"contents": [{"role": "user", "parts": [{"text": "from ADC"}]}]}
answer = requests.post(url, json=body, headers={"Authorization": "Bearer " + creds.token}, timeout=10)
print(json.dumps({"kind": type(creds).__module__, "project": project, "email": creds.service_account_email,
                  "status": answer.status_code, "text": answer.json()["candidates"][0]["content"]["parts"][0]["text"]}))
"""


def test_metadata_requires_flavor_header_and_answers_it(emulator: Emulator) -> None:
    url = f"{emulator.url}/computeMetadata/v1/project/project-id"
    assert httpx.get(url).status_code == 403
    response = httpx.get(url, headers=FLAVOR)
    assert response.status_code == 200
    assert response.headers["metadata-flavor"] == "Google"
    assert response.text == "emulator-project"


def test_ping_root_answers_with_flavor(emulator: Emulator) -> None:
    assert httpx.get(f"{emulator.url}/").status_code == 403
    response = httpx.get(f"{emulator.url}/", headers=FLAVOR)
    assert response.status_code == 200 and response.headers["metadata-flavor"] == "Google"


def test_service_account_paths(emulator: Emulator) -> None:
    base = f"{emulator.url}/computeMetadata/v1/instance/service-accounts/default"
    info = httpx.get(f"{base}/", params={"recursive": "true"}, headers=FLAVOR).json()
    assert info["email"].endswith(".iam.gserviceaccount.com") and "default" in info["aliases"]
    assert httpx.get(f"{base}/email", headers=FLAVOR).text == info["email"]
    token = httpx.get(f"{base}/token", headers=FLAVOR).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] > 0
    call = httpx.post(
        emulator.url + model_path("gemini-2.0-flash", "generateContent"),
        json=user("x"),
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert call.status_code == 200
    assert httpx.get(f"{emulator.url}/computeMetadata/v1/instance/nothing", headers=FLAVOR).status_code == 404


def test_google_auth_default_uses_metadata_server(emulator: Emulator, tmp_path: Path) -> None:
    host = emulator.url.removeprefix("http://")
    hidden = ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "NO_GCE_CHECK")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env.update(
        GCE_METADATA_HOST=host,
        GCE_METADATA_IP=host,
        HOME=str(tmp_path),
        CLOUDSDK_CONFIG=str(tmp_path),
        GCE_METADATA_DETECT_RETRIES="1",
    )
    url = emulator.url + model_path("gemini-2.0-flash", "generateContent")
    done = subprocess.run(
        [sys.executable, "-c", ADC_PROGRAM, url], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["kind"] == "google.auth.compute_engine.credentials"
    assert result["project"] == "emulator-project"
    assert result["status"] == 200 and result["text"] == "Echo: from ADC"
    paths = [entry["path"] for entry in emulator.requests()]
    assert "/computeMetadata/v1/instance/service-accounts/default/token" in paths
