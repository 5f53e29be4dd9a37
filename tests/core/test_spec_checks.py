"""What `vertexlate validate` now catches before any call, and what happens at call time instead of raw crashes."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

import engine
from engine import registry, transforms
from engine.api import prepare
from engine.errors import InternalServerError
from engine.validation import validate
from tests.credentials import StaticToken

ROOT = Path(__file__).resolve().parents[2]
BASE = {"vertex_credentials": StaticToken(), "vertex_project": "p", "vertex_location": "us-central1"}


def test_every_shipped_template_uses_only_supplied_variables_and_a_typo_is_caught(tmp_path: Path) -> None:
    # The built-in specs pass the variable check (a future typo fails CI) ...
    assert validate() == []
    # ... and the check is live on the real specs: the same file with one typo is rejected at its line.
    text = (ROOT / "specs" / "gemini.yaml").read_text()
    typo = text.replace(
        'url: "{{ prefix }}/{{ resource }}:generateContent"',
        'url: "{{ prefx }}/{{ resource }}:generateContent"',
    )
    assert typo != text
    (tmp_path / "gemini.yaml").write_text(typo)
    line = next(i for i, row in enumerate(typo.splitlines(), 1) if "prefx" in row)
    problems = [p for p in validate([tmp_path]) if "gemini.yaml" in p]
    assert (
        problems
        == [
            p
            for p in problems
            if f"gemini.yaml:{line}: operations.chat.url: undefined template variable 'prefx'" in p
        ]
        and problems
    )
    assert "did you mean 'prefix'?" in problems[0]


def test_a_transform_without_a_kind_is_reported(tmp_path: Path) -> None:
    name = "probe_kindless_transform"
    if transforms.get(name) is None:
        transforms.register(name)(lambda value, ctx: value)
    (tmp_path / "probe.yaml").write_text(
        f"""
name: probe-kindless
extends: vertex
models: [{{name: probe-kindless-1}}]
operations:
  chat:
    url: "{{{{ prefix }}}}/x"
    request: {{params: {{messages: {{transform: {name}}}}}}}
    response: {{choices: {{each: candidates}}}}
"""
    )
    problems = [p for p in validate([tmp_path]) if "probe.yaml" in p]
    assert any(f"transform {name!r} declares no kind" in p and "fn(value, ctx)" in p for p in problems)


def test_every_registered_transform_declares_its_kind() -> None:
    undeclared = [
        n for n in transforms.names() if transforms.kind_of(n) is None and not n.startswith("probe_")
    ]
    assert undeclared == []
    with pytest.raises(ValueError, match="unknown kind"):
        transforms.register("probe_bad_kind", kind="sometimes")


def test_a_render_time_template_failure_is_a_typed_engine_error(tmp_path: Path) -> None:
    # Names the validator can check are all supplied; what a value does at render time cannot be checked.
    (tmp_path / "probe.yaml").write_text(
        """
name: probe-render
extends: vertex
models: [{name: probe-render-1}]
operations:
  chat:
    url: "{{ prefix }}/{{ model.no_such_method() }}"
    request: {params: {messages: {type: list}}}
    response: {choices: {each: candidates}}
"""
    )
    assert not [p for p in validate([tmp_path]) if "probe.yaml" in p]
    engine.add_spec_dir(tmp_path)
    try:
        with pytest.raises(InternalServerError) as info:
            prepare("chat", {"model": "vertex_ai/probe-render-1", "messages": [], **BASE})
    finally:
        registry.reset()
    assert "spec template probe.yaml: operations.chat.url could not be rendered" in info.value.message
    assert info.value.__cause__ is None and "jinja2" not in type(info.value).__module__


def test_strict_openai_compliance_keeps_openai_fields_only(emulator: Any, vx: dict[str, Any]) -> None:
    model = "gemini-3-pro-preview"
    reply = [
        {"thought": "Think.", "function_calls": [{"name": "f", "args": {}}], "thought_signature": "c2ln"}
    ]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    kwargs = {
        "model": f"vertex_ai/{model}",
        "messages": [{"role": "user", "content": "?"}],
        "tools": tools,
        **vx,
    }

    emulator.script(model, reply)
    default = engine.completion(reasoning_effort="high", **kwargs)
    message = default.choices[0].message
    assert message.reasoning_content == "Think." and message.thinking_blocks  # the default: kept
    assert message.tool_calls[0].provider_specific_fields == {"thought_signature": "c2ln"}

    emulator.script(model, reply)
    strict = engine.completion(reasoning_effort="high", strict_openai_compliance=True, **kwargs)
    data = json.loads(strict.model_dump_json()) if hasattr(strict, "model_dump_json") else dict(strict)
    message = data["choices"][0]["message"]
    assert set(message) <= {
        "role",
        "content",
        "refusal",
        "annotations",
        "audio",
        "function_call",
        "tool_calls",
    }
    assert message["tool_calls"][0]["function"]["name"] == "f"
    assert set(message["tool_calls"][0]) == {"id", "type", "function"}

    emulator.script(model, reply)
    chunks = list(
        engine.completion(reasoning_effort="high", stream=True, strict_openai_compliance=True, **kwargs)
    )
    for chunk in chunks:
        for choice in chunk["choices"]:
            assert set(choice["delta"]) <= {"role", "content", "refusal", "function_call", "tool_calls"}
            for call in choice["delta"].get("tool_calls") or []:
                assert set(call) <= {"index", "id", "type", "function"}
    assert any(choice["delta"].get("tool_calls") for c in chunks for choice in c["choices"])


_FAMILY = re.compile(r"gemini|claude|anthropic|palm|imagen|llama|mistral|ai21|codestral|thought", re.I)


def test_engine_core_code_names_no_family() -> None:
    """Identifiers and non-docstring strings of engine/*.py and engine/proxy name no family or family field."""
    found = []
    for path in [*ROOT.glob("engine/*.py"), *ROOT.glob("engine/proxy/*.py")]:
        if path.name == "demo.py":  # the demo's example calls name real models on purpose
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.arg):
                names = [node.arg]
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif (
                isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            ):
                # example model names in messages are fine; field names of one family are not
                names = [w for w in re.findall(r"[A-Za-z_]+", node.value) if "_" in w or w[:1].islower()]
                names = [w for w in names if not w.startswith("vertex_ai") and "gemini-" not in node.value]
            found += [f"{path.name}:{getattr(node, 'lineno', '?')}: {n}" for n in names if _FAMILY.search(n)]
    assert found == []
