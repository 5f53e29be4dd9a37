"""The README tells the truth: CI runs its test command, and its demo command names real extras."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quick_start_commands() -> list[str]:
    return re.findall(r"^(python3 -m venv .+)$", (ROOT / "README.md").read_text(), re.M)


def test_two_quick_start_commands() -> None:
    demo, tests = quick_start_commands()
    assert demo.endswith("vertexlate demo")
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = quick_start_commands()
    assert tests in (ROOT / ".ci" / "run").read_text().splitlines()


def test_extras_named_in_the_readme_exist() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    for extra in re.findall(r"-e '\.\[(\w+)\]'", (ROOT / "README.md").read_text()):
        assert f"\n{extra} = [" in pyproject, extra


def test_model_table_is_current() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "model_table.py"), "--check", str(ROOT / "README.md")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
