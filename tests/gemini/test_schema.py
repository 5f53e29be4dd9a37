"""JSON Schema → Vertex ``Schema`` sanitizer: golden conversions and hypothesis properties.

Every output is validated against ``GoogleCloudAiplatformV1Schema`` from the Vertex AI v1
discovery document (unknown fields rejected), the contract Vertex enforces on
``functionDeclarations[].parameters`` and ``generationConfig.responseSchema``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.transforms.gemini_schema import VertexSchemaError, to_vertex_schema
from tests.conformance import assert_valid_request
from tests.examples import examples

SCHEMA = "GoogleCloudAiplatformV1Schema"


def convert(schema: Any, ordering: bool = False) -> dict[str, Any]:
    out = to_vertex_schema(schema, ordering=ordering)
    assert_valid_request(out, schema=SCHEMA)
    return out


def test_pydantic_style_schema_with_refs_and_optional_fields() -> None:
    """The shape pydantic v2 emits for a model with a nested model and Optional fields."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {
            "Address": {
                "type": "object",
                "title": "Address",
                "properties": {
                    "city": {"type": "string"},
                    "zip": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
                },
                "required": ["city"],
                "additionalProperties": False,
            }
        },
        "type": "object",
        "title": "Person",
        "properties": {
            "name": {"type": "string", "description": "Full name"},
            "age": {"type": ["integer", "null"], "minimum": 0},
            "address": {"$ref": "#/$defs/Address", "description": "Home"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        },
        "required": ["name", "address"],
        "additionalProperties": False,
        "strict": True,
    }
    assert convert(schema) == {
        "title": "Person",
        "type": "OBJECT",
        "properties": {
            "name": {"description": "Full name", "type": "STRING"},
            "age": {"type": "INTEGER", "minimum": 0, "nullable": True},
            "address": {
                "title": "Address",
                "description": "Home",
                "type": "OBJECT",
                "properties": {"city": {"type": "STRING"}, "zip": {"type": "STRING", "nullable": True}},
                "required": ["city"],
            },
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "maxItems": 5},
        },
        "required": ["name", "address"],
    }


def test_seed_response_schema_gets_property_ordering() -> None:
    """The seed's cookie-recipe schema, as a responseSchema (ordering keeps the declared order)."""
    schema = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "recipe_name": {"type": "string"},
                "rating": {"type": "number", "format": "float"},
            },
            "required": ["recipe_name"],
        },
    }
    assert convert(schema, ordering=True) == {
        "type": "ARRAY",
        "items": {
            "type": "OBJECT",
            "properties": {
                "recipe_name": {"type": "STRING"},
                "rating": {"type": "NUMBER", "format": "float"},
            },
            "required": ["recipe_name"],
            "propertyOrdering": ["recipe_name", "rating"],
        },
    }


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"type": "string", "enum": ["a", "b", None]},
            {"type": "STRING", "enum": ["a", "b"], "nullable": True},
        ),
        ({"type": "integer", "enum": [1, 2]}, {"type": "INTEGER", "enum": ["1", "2"], "format": "enum"}),
        ({"const": "fixed"}, {"type": "STRING", "enum": ["fixed"]}),
        (
            {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]},
        ),
        ({"type": ["string", "number"]}, {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]}),
        ({"type": "null"}, {"type": "NULL"}),
        ({"type": "string", "format": "email"}, {"type": "STRING"}),
        ({"type": "string", "format": "date-time"}, {"type": "STRING", "format": "date-time"}),
        ({"type": "integer", "format": "int64", "maxLength": 3}, {"type": "INTEGER", "format": "int64"}),
        ({"type": "object", "properties": {}}, {"type": "OBJECT"}),
        ({"type": "string", "default": 3}, {"type": "STRING"}),
        ({"type": "string", "default": "x"}, {"type": "STRING", "default": "x"}),
        (
            {"type": "object", "properties": {"a": {}}, "required": ["a", "b"]},
            {"type": "OBJECT", "properties": {"a": {}}, "required": ["a"]},
        ),
        (
            {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "string"}}},
                    {"properties": {"b": {"type": "boolean"}}},
                ]
            },
            {"type": "OBJECT", "properties": {"a": {"type": "STRING"}, "b": {"type": "BOOLEAN"}}},
        ),
        ({"type": "array", "items": [{"type": "string"}]}, {"type": "ARRAY", "items": {"type": "STRING"}}),
        (True, {}),
    ],
)
def test_keyword_rules(schema: Any, expected: dict[str, Any]) -> None:
    assert convert(schema) == expected


def test_recursive_reference_is_a_clear_error() -> None:
    tree = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            }
        },
        "$ref": "#/$defs/Node",
    }
    with pytest.raises(VertexSchemaError, match=r"recursive \$ref #/\$defs/Node -> #/\$defs/Node"):
        to_vertex_schema(tree)


def test_dangling_reference_is_a_clear_error() -> None:
    with pytest.raises(VertexSchemaError, match="does not point into"):
        to_vertex_schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}})


def test_vertex_style_input_is_kept() -> None:
    """A schema already in Vertex's spelling passes through unchanged."""
    vertex = {
        "type": "OBJECT",
        "properties": {"d": {"type": "STRING", "format": "enum", "enum": ["EAST", "WEST"], "nullable": True}},
        "required": ["d"],
        "propertyOrdering": ["d"],
    }
    assert convert(vertex) == vertex


# --------------------------------------------------------------------------- properties

_NAMES = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=4)
)
_TYPE_NAMES = st.sampled_from(
    ["string", "number", "integer", "boolean", "array", "object", "null", "STRING", "OBJECT", "bogus"]
)


def _keywords(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(_TYPE_NAMES, st.lists(_TYPE_NAMES, max_size=3)),
            "description": st.one_of(st.text(max_size=5), st.integers()),
            "title": st.text(max_size=5),
            "properties": st.dictionaries(_NAMES, children, max_size=3),
            "required": st.lists(st.one_of(_NAMES, st.integers()), max_size=3),
            "items": st.one_of(children, st.lists(children, max_size=2)),
            "anyOf": st.lists(children, max_size=3),
            "oneOf": st.lists(children, max_size=2),
            "allOf": st.lists(children, max_size=2),
            "enum": st.lists(_SCALARS, max_size=3),
            "const": _SCALARS,
            "format": st.sampled_from(["email", "date-time", "enum", "int64", "float", "uuid"]),
            "default": _SCALARS,
            "nullable": st.booleans(),
            "minimum": st.one_of(st.integers(), st.floats()),
            "maxLength": st.one_of(st.integers(-2, 9), st.booleans()),
            "minItems": st.integers(-1, 3),
            "pattern": st.text(max_size=3),
            "additionalProperties": st.one_of(st.booleans(), children),
            "$schema": st.just("https://json-schema.org/draft/2020-12/schema"),
            "strict": st.booleans(),
            "examples": st.lists(_SCALARS, max_size=2),
            "propertyOrdering": st.lists(st.one_of(_NAMES, st.integers()), max_size=3),
            "$ref": st.sampled_from(["#/$defs/A", "#/$defs/B"]),
        },
    )


_LEAF = st.one_of(
    st.booleans(),
    st.fixed_dictionaries({}, optional={"type": _TYPE_NAMES, "enum": st.lists(_SCALARS, max_size=2)}),
)
SCHEMAS = st.recursive(_LEAF, _keywords, max_leaves=12)
# Definitions refer to nothing themselves, so any $ref in the generated schema terminates.
DEFS = st.fixed_dictionaries(
    {"A": _keywords(_LEAF).map(lambda d: {k: v for k, v in d.items() if k != "$ref"}), "B": _LEAF}
)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=SCHEMAS, defs=DEFS, ordering=st.booleans())
def test_any_json_schema_converts_to_a_valid_vertex_schema(
    schema: Any, defs: dict[str, Any], ordering: bool
) -> None:
    root = {**schema, "$defs": defs} if isinstance(schema, dict) else schema
    convert(root, ordering=ordering)


@settings(max_examples=examples(200), deadline=None)
@given(schema=SCHEMAS, defs=DEFS)
def test_conversion_is_idempotent(schema: Any, defs: dict[str, Any]) -> None:
    """Converting a converted schema changes nothing: the output is already in Vertex's subset."""
    root = {**schema, "$defs": defs} if isinstance(schema, dict) else schema
    once = to_vertex_schema(root, ordering=True)
    assert to_vertex_schema(once, ordering=True) == once


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        # found by test_conversion_is_idempotent: the enum came from the branch, the type from outside
        ({"type": "number", "anyOf": [{"enum": [""]}]}, {"type": "NUMBER", "enum": [""], "format": "enum"}),
        (
            {"type": "integer", "oneOf": [{"enum": ["a"]}]},
            {"type": "INTEGER", "enum": ["a"], "format": "enum"},
        ),
        ({"type": "string", "anyOf": [{"enum": [1]}]}, {"type": "STRING", "enum": ["1"], "format": "enum"}),
    ],
)
def test_an_enum_from_a_single_branch_is_normalized_under_the_outer_type(
    schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    once = convert(schema)
    assert once == expected
    assert to_vertex_schema(once) == once


@settings(max_examples=examples(100), deadline=None)
@given(name=_NAMES, child=SCHEMAS)
def test_a_self_reference_anywhere_is_refused_not_looped(name: str, child: Any) -> None:
    schema = {
        "$defs": {"R": {"type": "object", "properties": {name: {"$ref": "#/$defs/R"}, "x": child}}},
        "$ref": "#/$defs/R",
    }
    with pytest.raises(VertexSchemaError, match="recursive"):
        to_vertex_schema(schema)


def test_a_merged_branch_keeps_its_required_property() -> None:
    """Found by test_conversion_is_idempotent: a single anyOf branch's ``required`` named a property
    that the parent's ``properties`` replaced, and the second conversion dropped it."""
    schema = {
        "properties": {"b": {}},
        "anyOf": [{"required": ["a"], "properties": {"a": {"type": "string"}}}],
    }
    once = to_vertex_schema(schema, ordering=True)
    assert once == {
        "properties": {"a": {"type": "STRING"}, "b": {}},
        "required": ["a"],
        "propertyOrdering": ["a", "b"],
    }
    assert to_vertex_schema(once, ordering=True) == once
    assert to_vertex_schema({"properties": {"abc": {}, "a": {}}, "required": "abc"}) == {
        "properties": {"abc": {}, "a": {}}
    }


def test_required_entries_that_are_not_names_are_dropped() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": [{"x": 1}, ["a"], "a", "zz"],
    }
    assert to_vertex_schema(schema)["required"] == ["a"]
