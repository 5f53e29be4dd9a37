"""Generated extractor sections (engine/codegen.py) give what the closures give.

The stream path calls one generated function per section; the reference is the closure form
(engine/jmes.py expressions, engine/compiler.py ``Section.__call__``). Checked for every
section of every built-in spec on the published fixtures (and those documents with parts
removed), and for every spec expression alone on fixtures and generated documents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import transforms
from engine.codegen import section_function
from engine.compiler import Extractor, Section
from engine.jmes import compile_expression
from engine.registry import default_registry
from tests.core.test_jmes import EXPRESSIONS, EXTRA, KEYS, outcome
from tests.core.test_jmes import documents as fixture_documents
from tests.core.test_sections import DOCS, SECTIONS
from tests.examples import examples

MORE = [
    "a.b[0].c",
    "a[?b].c[]",
    "a[?!b]",
    "a[?b && c].d",
    "a[?b || c].d",
    "a[?b == c]",
    "a[?b != `1`]",
    "a[?b < `2`]",
    "a[1:]",
    "a[*][0]",
    "a.b | c.d",
    "[a, b][0]",
    "{x: a.b, y: `[1]`}.x",
    "a.[b, c]",
    "a.{b: b}",
    "a[-2]",
    "@.a",
    "!a.b",
    "a == `true`",
    "a != 'x'",
    "length(a)",
    "map(&a.b, c)",
]


@dataclass
class Plain:
    """A bare path, for checking single expressions through :func:`section_function`."""

    expression: str
    join: str | None = None
    table: dict[str, Any] | None = None
    default: Any = None
    transform: Any = None
    keeps_null: bool = False


def generated(expression: str) -> Any:
    return section_function({"x": Plain(expression)}, (), (-1,))


def test_stream_specs_call_generated_functions() -> None:
    for family in default_registry().families:
        for op in family.operations.values():
            if op.response.choices is not None:
                assert "def section(data):" in op.response.choices.section.source
            assert "def section(data):" in op.response.usage_section.source


@pytest.mark.parametrize(("label", "extractors"), SECTIONS, ids=[label for label, _ in SECTIONS])
def test_generated_section_agrees_with_reference(label: str, extractors: dict[str, Extractor]) -> None:
    section = Section(extractors)
    for doc in DOCS:
        try:
            expected = section(doc)
        except Exception as exc:  # a transform refusing a document: the generated form raises alike
            with pytest.raises(type(exc)):
                section.function(doc)
            continue
        got = section.function(doc)
        assert got == expected, (label, json.dumps(doc)[:200])
        assert list(got) == list(expected), label  # the spec's order


@pytest.mark.parametrize("expression", EXPRESSIONS + EXTRA + MORE)
def test_generated_expression_agrees_on_fixtures(expression: str) -> None:
    reference, function = compile_expression(expression), generated(expression)
    for doc in fixture_documents():
        expected = outcome(lambda doc=doc: reference(doc))
        value = outcome(lambda doc=doc: function(doc).get("x"))
        assert value == expected, (expression, json.dumps(doc)[:200])


ALL_KEYS = sorted({*KEYS, "a", "b", "c", "d", "x", "y"})
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.sampled_from(["", "x", "TEXT"]))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(ALL_KEYS), inner, max_size=4)
    ),
    max_leaves=20,
)
GENERATED = {expression: generated(expression) for expression in EXPRESSIONS + EXTRA + MORE}


@settings(max_examples=examples(150), deadline=None)
@given(doc=st.dictionaries(st.sampled_from(ALL_KEYS), values, max_size=6))
def test_generated_expressions_agree_with_the_reference_interpreter(doc: dict[str, Any]) -> None:
    for expression, function in GENERATED.items():
        expected = outcome(lambda expression=expression: jmespath.search(expression, doc))
        assert outcome(lambda function=function: function(doc).get("x")) == expected, expression


@settings(max_examples=examples(100), deadline=None)
@given(doc=st.dictionaries(st.sampled_from(ALL_KEYS), values, max_size=6))
def test_post_processing_agrees(doc: dict[str, Any]) -> None:
    """``join``, ``map`` with ``default`` and transforms, inline, as ``Extractor`` does them."""
    extractors = {
        "joined": Extractor(compile_expression_holder("a[*].b"), join="-"),
        "mapped": Extractor(compile_expression_holder("a.b"), table={"x": "X", "TEXT": "T"}, default="d"),
        "table": Extractor(compile_expression_holder("b"), table={"x": "X"}),
        "defaulted": Extractor(compile_expression_holder("c.d"), default=0),
        "transformed": Extractor(compile_expression_holder("d"), transform=lambda v: [v]),
        "kept": Extractor(compile_expression_holder("d.a"), transform=_listed, keeps_null=True),
        "all": Extractor(compile_expression_holder("x[*].y"), join="", table={"": "e"}, default="n"),
        "nulled": Extractor(compile_expression_holder("b"), table={"x": None, "TEXT": "T"}, default="d"),
    }
    section = Section(extractors)
    try:
        expected = section(doc)
    except TypeError:  # an unhashable value looked up in a table: both forms raise
        with pytest.raises(TypeError):
            section.function(doc)
        return
    assert section.function(doc) == expected
    assert list(section.function(doc)) == list(expected)


def _listed(value: Any) -> Any:
    return None if value is None else [value]


def compile_expression_holder(expression: str) -> Any:
    from engine.compiler import Expression

    return Expression(expression)


@pytest.mark.parametrize(
    "name", sorted(n for n in transforms.names(transforms.EXTRACTOR) if transforms.keeps_null(n))
)
def test_transforms_declared_null_keeping_keep_null(name: str) -> None:
    """Sections skip a ``keeps_null`` transform (and its guard) on null: it must give null for null."""
    fn = transforms.get(name)
    assert fn is not None and fn(None) is None


def test_shared_guard_is_looked_up_once() -> None:
    extractors = {
        "p": Extractor(compile_expression_holder("u.p")),
        "q": Extractor(compile_expression_holder("u.q[0]")),
        "r": Extractor(compile_expression_holder("r")),
    }
    source = Section(extractors).function.source  # type: ignore[attr-defined]
    assert source.count("'u'") == 1 and "g0.get('p')" in source
    assert Section(extractors).function({"u": {"p": 1, "q": [2]}, "r": None}) == {"p": 1, "q": 2}


@pytest.mark.parametrize("depth", [5, 21, 40])
def test_deep_nesting_still_agrees(depth: int) -> None:
    """Projections nest loops; past CPython's limit on nested blocks the closures take over."""
    expression = ".".join(["a[*]"] * depth) + " | [0]"
    doc: Any = {"a": [1, None]}
    for _ in range(depth):
        doc = {"a": [doc, {"b": 1}]}
    function = generated(expression)
    assert function(doc).get("x") == jmespath.search(expression, doc)
    many = ".".join(["a[?b || c][]"] * depth)
    assert generated(many)({"a": []}).get("x") == jmespath.search(many, {"a": []})


def test_a_null_map_value_takes_the_default_in_every_form() -> None:
    extractor = Extractor(compile_expression_holder("a"), table={"X": None}, default="d")
    doc = {"a": "X"}
    assert extractor(doc) == extractor._steps(doc) == "d"
    section = Section({"k": extractor})
    assert section(doc) == section.function(doc) == {"k": "d"}
