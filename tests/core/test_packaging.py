"""The built wheel ships the specs and the installed package finds them and makes a call.

Built without network (``--no-build-isolation`` with the hatchling already installed),
installed into a fresh target directory, imported from there in a subprocess whose
working directory is not the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (path,) = out.glob("vertexlate-*.whl")
    return path


def test_wheel_contains_specs_schema_and_console_script(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "engine/_specs/gemini.yaml" in names
    assert "engine/_specs/spec.schema.json" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "vertexlate = engine.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_makes_a_call(
    wheel: Path, tmp_path: Path, emulator: Any, service_account: dict[str, Any]
) -> None:
    target = tmp_path / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    code = (
        "import engine, json, sys\n"
        "from engine.loader import builtin_spec_dir\n"
        f"r = engine.completion(model='vertex_ai/gemini-2.5-flash', messages=[{{'role':'user','content':'from the wheel'}}],"
        f" api_base={emulator.url!r}, vertex_credentials=json.loads(sys.stdin.read()), vertex_location='us-central1')\n"
        "print(json.dumps([engine.__file__, str(builtin_spec_dir()), r.choices[0].message.content]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(service_account),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    module_file, spec_dir, content = json.loads(run.stdout.strip().splitlines()[-1])
    assert module_file.startswith(str(target)) and spec_dir == str(target / "engine" / "_specs")
    assert content == "Echo: from the wheel"
