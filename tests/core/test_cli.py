"""The ``vertexlate`` command: demo, validate, models, usage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def vertexlate(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def test_demo_runs_every_step_against_the_emulator() -> None:
    result = vertexlate("demo")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "All steps ran." in result.stdout
    for heading in ("Chat", "Streaming", "Function calling", "Structured output", "Thinking", "Claude", "Embeddings", "Image", "Text-to-Speech", "Errors"):
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
