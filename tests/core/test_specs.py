"""The spec format: the built-in specs validate; broken specs are rejected with file, line and key."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import engine
from engine import registry
from engine.errors import NotFoundError, SpecError
from engine.registry import Registry
from engine.validation import validate

ROOT = Path(__file__).resolve().parents[2]
BROKEN = sorted((Path(__file__).parent / "broken_specs").glob("*.yaml"))


def test_builtin_specs_are_valid() -> None:
    assert validate() == []


def test_validator_command_passes_on_builtin_specs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "validate_specs.py")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: ")


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_spec_is_rejected_with_the_right_message(path: Path) -> None:
    text = path.read_text()
    expected = re.findall(r"^# expect: (.+)$", text, re.M)
    lines = re.findall(r"^# expect-line: (\d+)$", text, re.M)
    problems = validate([path])
    mine = [p for p in problems if str(path) in p]
    assert mine, f"{path.name} was not rejected; problems: {problems}"
    for needle in expected:
        assert any(needle in p for p in mine), f"expected {needle!r} in {mine}"
    for line in lines:
        assert any(f"{path}:{line}:" in p for p in mine), f"expected line {line} in {mine}"


def test_broken_specs_fail_the_command_and_list_every_problem() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "validate_specs.py"), *map(str, BROKEN)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    for path in BROKEN:
        assert path.name in result.stdout


def test_engine_refuses_to_start_on_an_invalid_spec(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        (Path(__file__).parent / "broken_specs" / "bad_template.yaml").read_text()
    )
    with pytest.raises(SpecError, match="template does not compile"):
        Registry([tmp_path])


def test_patterns_and_captures_resolve() -> None:
    reg = registry.default_registry()
    tuned = reg.resolve("vertex_ai/gemini/4965075652664360960", "chat")
    assert dict(tuned.captures) == {"endpoint_id": "4965075652664360960"}
    assert reg.resolve("gemini-pro", "chat").name == "gemini-pro"  # bare names work as in the seed
    newer = reg.resolve("vertex_ai/gemini-9.9-ultra", "chat")
    assert newer.entry.pattern == "gemini-*"
    exact = reg.resolve("vertex_ai/gemini-2.5-flash", "chat")
    assert exact.entry.pattern == "gemini-2.5-flash" and exact.capabilities["thinking"] == "budget"


def test_unknown_model_names_the_families() -> None:
    with pytest.raises(NotFoundError, match="no spec serves model 'vertex_ai/unknown-thing' for chat"):
        registry.default_registry().resolve("vertex_ai/unknown-thing", "chat")


USER_SPEC = """
name: my-gemini
extends: gemini
models:
  - name: my-private-gemini
    capabilities: {upstream_model: gemini-2.5-flash, thinking: budget, thinking_budget_min: 0, thinking_budget_max: 1000}
"""


def test_user_spec_directory_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine.yaml").write_text(USER_SPEC)
    monkeypatch.setenv("VERTEXLATE_SPEC_PATH", str(tmp_path))
    reg = Registry()
    resolved = reg.resolve("vertex_ai/my-private-gemini", "chat")
    assert resolved.family.name == "my-gemini" and resolved.model_id == "gemini-2.5-flash"


def test_user_spec_directory_by_function(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(USER_SPEC)
    engine.add_spec_dir(tmp_path)
    try:
        assert registry.default_registry().resolve("my-private-gemini", "chat").family.name == "my-gemini"
    finally:
        registry.reset()


def test_loading_is_cached_once_per_process() -> None:
    assert registry.default_registry() is registry.default_registry()
