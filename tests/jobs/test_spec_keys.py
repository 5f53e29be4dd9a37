"""The generic spec keys the resource operations added, checked on specs written here.

``url_var``, ``default_env``, ``expand``, ``ignore``, ``echo``, ``then`` and
``credentials_env`` are exercised end to end by the other tests in this directory;
these cases pin what a spec author sees when using them wrongly or alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.registry import Registry
from engine.request import build_body, expand_params

SPEC = """
name: probe
extends: vertex
models:
  - name: "probe-*"
operations:
  retrieve_batch:
    method: GET
    url: "{{{{ prefix }}}}/things/{{{{ thing_id }}}}"
    request:
      params:
        thing_id: {{url_var: true, type: string, required: true}}
        size: {{to: size, type: string, ignore: [auto], default_env: PROBE_SIZE}}
        options: {{type: object, expand: true}}
        options.depth: {{to: depth, type: integer}}
    response: {{}}
  cancel_batch:
    url: "{{{{ prefix }}}}/things/{{{{ thing_id }}}}:cancel"
    then: {then}
    request: {{params: {{thing_id: {{url_var: true, type: string}}}}}}
    response: {{}}
"""


def registry(tmp_path: Path, then: str = "retrieve_batch") -> Registry:
    (tmp_path / "probe.yaml").write_text(SPEC.format(then=then))
    return Registry([tmp_path], strict=False)


def test_then_must_name_an_operation_of_the_family(tmp_path: Path) -> None:
    assert not [p for p in registry(tmp_path).problems if "probe.yaml" in p]
    problems = [p for p in registry(tmp_path, then="retrieve_thing").problems if "probe.yaml" in p]
    assert any("then names operation 'retrieve_thing'" in p for p in problems)


def _build(tmp_path: Path, params: dict[str, Any], drop: bool = False) -> Any:
    resolved = registry(tmp_path).resolve("vertex_ai/probe-1", "retrieve_batch")
    return build_body(resolved, resolved.family.operations["retrieve_batch"], params, None, drop)


def test_url_var_feeds_the_url_not_the_body(tmp_path: Path) -> None:
    ctx = _build(tmp_path, {"thing_id": "42"})
    assert ctx.url_vars == {"thing_id": "42"} and ctx.body == {}


def test_ignored_value_counts_as_absent_and_default_env_fills_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _build(tmp_path, {"thing_id": "1", "size": "auto"}).body == {}
    monkeypatch.setenv("PROBE_SIZE", "7")
    assert _build(tmp_path, {"thing_id": "1", "size": "auto"}).body == {"size": "7"}
    assert _build(tmp_path, {"thing_id": "1", "size": "3"}).body == {"size": "3"}  # the caller's value wins


def test_expanded_object_keys_are_parameters(tmp_path: Path) -> None:
    assert _build(tmp_path, {"thing_id": "1", "options": {"depth": 2}}).body == {"depth": 2}
    assert expand_params({"options": {"a": 1}, "x": 2}, ("options",)) == {"options.a": 1, "x": 2}
    assert expand_params({"options": "not an object"}, ("options",)) == {"options": "not an object"}


def test_litellm_positional_arguments(vx: dict[str, Any]) -> None:
    import engine

    batch = engine.create_batch(
        "24h", "/v1/chat/completions", "gs://b/publishers/google/models/gemini-2.5-flash/x", **vx
    )
    assert engine.retrieve_batch(batch.id, **vx).id == batch.id
    with pytest.raises(TypeError, match="at most 1 positional"):
        engine.retrieve_batch(batch.id, "extra", **vx)


def test_fetch_expressions_are_compiled_with_the_spec(tmp_path: Path) -> None:
    """``fetch`` (file_content's listing -> downloads) is checked at load time like every other key."""
    spec = SPEC.format(then="retrieve_batch").replace(
        "    response: {}\n  cancel_batch:",
        "    fetch: {each: 'items[?', url: '{{ item }'}\n    response: {format: binary}\n  cancel_batch:",
    )
    (tmp_path / "probe.yaml").write_text(spec)
    problems = [p for p in Registry([tmp_path], strict=False).problems if "probe.yaml" in p]
    assert any("fetch.each" in p and "JMESPath" in p for p in problems), problems
    assert any("fetch.url" in p and "template" in p for p in problems), problems
