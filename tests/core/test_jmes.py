"""engine/jmes.py compiles JMESPath to closures: it must agree with the reference interpreter.

Checked for every expression in every built-in spec, on every published fixture and on
generated documents built from the keys those expressions use.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.jmes import compile_expression, guard_of
from engine.registry import default_registry
from tests.examples import examples

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def spec_expressions() -> list[str]:
    found: set[str] = set()

    def walk(obj: Any, depth: int = 0) -> None:
        if depth > 8 or obj is None:
            return
        expression = getattr(obj, "expression", None)
        if isinstance(expression, str) and hasattr(obj, "search"):
            found.add(expression)
            return
        if isinstance(obj, dict):
            for value in obj.values():
                walk(value, depth + 1)
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                walk(value, depth + 1)
        elif hasattr(obj, "__dataclass_fields__"):
            for name in obj.__dataclass_fields__:
                walk(getattr(obj, name), depth + 1)

    for family in default_registry().families:
        walk(family.operations)
        walk(family.errors)
    return sorted(found)


EXPRESSIONS = spec_expressions()
EXTRA = [
    "a[*].b | [0]",
    "a[?b == 'x'].c | [0]",
    "a[0]",
    "a[-1].b",
    "a.b[1]",
    "a[*].b[0]",
    "a | b",
    "a[] | [0].b",
    "a[?b == `1`].c",
    "a[?b == `true`]",
    "a[?!b].c",
    "a || b",
    "a && b",
    "a[].b[]",
    "a[*].{x: b, y: c}",
    "sum([a || `0`, b || `0`])",
    "a[0].b",
    "a[?b != null && c != `false`]",
    "map(&b, a)",
    "map(&b, a || `[]`)",
    "sum(a)",
    "sum(a[].b)",
]


def documents() -> list[Any]:
    docs = []
    for path in FIXTURES.rglob("*.json"):
        wrapper = json.loads(path.read_text())
        if "body" in wrapper:
            docs.append(wrapper["body"])
        docs += wrapper.get("events", [])
    return docs


def test_there_are_expressions_to_check() -> None:
    assert len(EXPRESSIONS) > 20


@pytest.mark.parametrize("expression", EXPRESSIONS + EXTRA)
def test_agrees_with_reference_on_fixtures(expression: str) -> None:
    compiled = compile_expression(expression)
    for doc in documents():
        expected = outcome(lambda doc=doc: jmespath.search(expression, doc))
        assert outcome(lambda doc=doc: compiled(doc)) == expected, (expression, json.dumps(doc)[:200])


def outcome(fn: Any) -> tuple[str, Any]:
    """A value, or the fact that JMESPath raised a type error (both sides must agree)."""
    try:
        return ("value", fn())
    except jmespath.exceptions.JMESPathError as exc:
        return ("error", type(exc).__name__)


KEYS = sorted({k for e in EXPRESSIONS + EXTRA for k in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", e)})[:60]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.sampled_from(["", "x", "STOP"]))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=examples(150), deadline=None)
@given(doc=st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_agrees_with_reference_on_generated_documents(doc: dict[str, Any]) -> None:
    for expression in EXPRESSIONS + EXTRA:
        expected = outcome(lambda expression=expression: jmespath.search(expression, doc))
        assert outcome(lambda expression=expression: compile_expression(expression)(doc)) == expected, (
            expression
        )


def _chain(doc: Any, chain: tuple[str, ...]) -> Any:
    for key in chain:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


@settings(max_examples=examples(150), deadline=None)
@given(doc=st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_a_missing_guard_means_null(doc: dict[str, Any]) -> None:
    """guard_of's promise (extractor sections skip on it): when the chain is null, so is the expression."""
    for expression in EXPRESSIONS + EXTRA:
        guard = guard_of(expression)
        if guard and _chain(doc, guard) is None:
            assert outcome(lambda expression=expression: jmespath.search(expression, doc)) in (
                ("value", None),
                ("error", "JMESPathTypeError"),
            ), (expression, guard)


def test_guards_of_common_shapes() -> None:
    assert guard_of("usageMetadata.promptTokensDetails[?modality=='TEXT'].tokenCount | [0]") == (
        "usageMetadata",
        "promptTokensDetails",
    )
    assert guard_of("a.b.c") == ("a", "b", "c")
    assert guard_of("a[0].b") == ("a",)
    for unguarded in ("a || b", "`1`", "map(&b, a || `[]`)", "a | length(@)", "!a", "@"):
        assert guard_of(unguarded) == (), unguarded
