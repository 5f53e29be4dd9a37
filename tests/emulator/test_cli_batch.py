"""``vertexlate emulator`` as a subprocess, with its built-in Cloud Storage: a batch job run through the
engine (create_file → create_batch → retrieve_batch → file_content) writes and returns predictions.jsonl."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import engine

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"^Vertex AI emulator listening on (http://127\.0\.0\.1:\d+)$")
LINES = [
    {
        "custom_id": f"request-{n}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": f"Hello {n}"}]},
    }
    for n in (1, 2)
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "emulator", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        match = READY.match(line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        url = match.group(1)
        assert process.stdout.readline().strip() == f"Cloud Storage: {url} (built-in, in memory)"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_batch_from_the_command_line_writes_predictions(served: str) -> None:
    account = httpx.post(f"{served}/emulator/service-accounts", json={}).json()
    vx = {"api_base": served, "vertex_credentials": account, "vertex_location": "us-central1"}
    storage = {"storage_api_base": served, "vertex_credentials": account}
    lines = "".join(json.dumps(line) + "\n" for line in LINES).encode()
    uploaded = engine.create_file(file=lines, purpose="batch", gcs_bucket_name="cli-bucket", **storage)
    batch = engine.create_batch(
        completion_window="24h", endpoint="/v1/chat/completions", input_file_id=uploaded.id, **vx
    )
    httpx.post(f"{served}/emulator/advance", json={"seconds": 1})  # the default job step is 0.2 s
    done = engine.retrieve_batch(batch_id=batch.id, **vx)
    assert done.status == "completed"
    content = engine.file_content(file_id=done.output_file_id, **storage)
    got = [json.loads(line) for line in content.text.splitlines()]
    assert [line["custom_id"] for line in got] == ["request-1", "request-2"]
    answers = [line["response"]["body"]["choices"][0]["message"]["content"] for line in got]
    assert answers == ["Echo: Hello 1", "Echo: Hello 2"]
