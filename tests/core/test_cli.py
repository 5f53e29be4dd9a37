"""The ``vertexlate`` command: demo, validate, models, usage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def vertexlate(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


def test_demo_runs_every_step_against_the_emulator() -> None:
    result = vertexlate("demo")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "All steps ran." in result.stdout
    for heading in (
        "Chat",
        "Streaming",
        "Function calling",
        "Structured output",
        "Thinking",
        "Claude",
        "Embeddings",
        "Image",
        "Text-to-Speech",
        "Errors",
    ):
        assert heading in result.stdout, heading
    assert "FAILED" not in result.stdout


def test_validate_and_models() -> None:
    result = vertexlate("validate")
    assert result.returncode == 0 and result.stdout.startswith("ok:")
    models = vertexlate("models").stdout
    assert "vertex_ai/gemini-2.5-flash" in models and "chat" in models


def test_unknown_command_prints_usage() -> None:
    result = vertexlate("frobnicate")
    assert result.returncode == 2 and "usage: vertexlate" in result.stdout


def test_vertexlate_emulator_console_script_serves_the_engine_and_stops_cleanly() -> None:
    """`vertexlate emulator` as users run it: readiness line, a real engine call, SIGTERM, no leftover process."""
    import re
    import signal

    import engine

    script = Path(sys.executable).parent / "vertexlate"
    assert script.exists(), "the console script is installed by `pip install -e .` (README's commands)"
    process = subprocess.Popen(
        [str(script), "emulator", "--port", "0", "--strict"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line + (process.stderr.read() if process.poll() is not None else "")  # type: ignore[union-attr]
        url = match.group(1)
        import httpx

        account = httpx.post(f"{url}/emulator/service-accounts", json={}).json()
        resp = engine.completion(
            model="vertex_ai/gemini-2.5-flash",
            messages=[{"role": "user", "content": "over the console script"}],
            api_base=url,
            vertex_credentials=account,
            vertex_location="us-central1",
        )
        assert resp.choices[0].message.content == "Echo: over the console script"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
