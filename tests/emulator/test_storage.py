"""The built-in Cloud Storage (JSON API subset) and batch jobs writing predictions.jsonl into it.

In-process here; tests/emulator/test_cli_batch.py runs the same flow against ``vertexlate emulator``
as a subprocess with the engine as the client.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx

from engine.emulator import Emulator

from .helpers import parent_path, user

BUCKET = "bkt"


def _media(emulator: Emulator, name: str, data: bytes, content_type: str = "application/jsonl") -> dict:
    answer = httpx.post(
        f"{emulator.url}/upload/storage/v1/b/{BUCKET}/o",
        params={"uploadType": "media", "name": name},
        content=data,
        headers={"content-type": content_type},
    )
    assert answer.status_code == 200
    return answer.json()


def test_media_upload_get_download_list_delete(emulator: Emulator) -> None:
    stored = _media(emulator, "dir/a b.jsonl", b'{"x": 1}\n')
    assert stored["name"] == "dir/a b.jsonl" and stored["bucket"] == BUCKET and stored["size"] == "9"
    assert stored["contentType"] == "application/jsonl" and stored["md5Hash"]
    obj = f"{emulator.url}/storage/v1/b/{BUCKET}/o/{quote('dir/a b.jsonl', safe='')}"
    assert httpx.get(obj).json()["generation"] == stored["generation"]
    assert httpx.get(obj, params={"alt": "media"}).content == b'{"x": 1}\n'
    assert httpx.get(stored["mediaLink"]).content == b'{"x": 1}\n'
    _media(emulator, "other/b.jsonl", b"{}\n")
    listed = httpx.get(f"{emulator.url}/storage/v1/b/{BUCKET}/o", params={"prefix": "dir/"}).json()
    assert [item["name"] for item in listed["items"]] == ["dir/a b.jsonl"]
    assert httpx.delete(obj).status_code == 204
    missing = httpx.get(obj)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"No such object: {BUCKET}/dir/a b.jsonl"
    assert httpx.get(f"{emulator.url}/storage/v1/b/nobucket/o").status_code == 404


def test_multipart_upload(emulator: Emulator) -> None:
    boundary = "==boundary=="
    body = (
        f"--{boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n"
        + json.dumps({"name": "m/part.txt", "contentType": "text/plain"})
        + f"\r\n--{boundary}\r\ncontent-type: text/plain\r\n\r\nhello multipart\r\n--{boundary}--\r\n"
    ).encode()
    answer = httpx.post(
        f"{emulator.url}/upload/storage/v1/b/{BUCKET}/o",
        params={"uploadType": "multipart"},
        content=body,
        headers={"content-type": f'multipart/related; boundary="{boundary}"'},
    )
    assert answer.status_code == 200 and answer.json()["contentType"] == "text/plain"
    got = httpx.get(f"{emulator.url}/download/storage/v1/b/{BUCKET}/o/m/part.txt")
    assert got.content == b"hello multipart"
    bad = httpx.post(
        f"{emulator.url}/upload/storage/v1/b/{BUCKET}/o", params={"uploadType": "resumable"}, content=b"x"
    )
    assert bad.status_code == 400


def test_batch_job_writes_predictions_into_built_in_storage(emulator: Emulator, client: httpx.Client) -> None:
    _media(emulator, "in/requests.jsonl", (json.dumps({"request": user("hello batch")}) + "\n").encode())
    job = client.post(
        f"{parent_path()}/batchPredictionJobs",
        json={
            "displayName": "built-in",
            "model": "publishers/google/models/gemini-2.5-flash",
            "inputConfig": {
                "instancesFormat": "jsonl",
                "gcsSource": {"uris": [f"gs://{BUCKET}/in/requests.jsonl"]},
            },
            "outputConfig": {
                "predictionsFormat": "jsonl",
                "gcsDestination": {"outputUriPrefix": f"gs://{BUCKET}/out"},
            },
        },
    ).json()
    emulator.advance(2 * emulator.state.job_step_seconds)
    done = client.get(f"/v1/{job['name']}").json()
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    folder = done["outputInfo"]["gcsOutputDirectory"].removeprefix(f"gs://{BUCKET}/")
    got = httpx.get(
        f"{emulator.url}/storage/v1/b/{BUCKET}/o/{quote(folder + '/predictions.jsonl', safe='')}",
        params={"alt": "media"},
    )
    (line,) = [json.loads(raw) for raw in got.text.splitlines()]
    assert line["status"] == "" and line["request"] == user("hello batch")
    assert line["response"]["candidates"][0]["content"]["parts"][0]["text"] == "Echo: hello batch"
