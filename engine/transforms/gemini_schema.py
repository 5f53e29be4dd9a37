"""JSON Schema (what OpenAI clients send) → the OpenAPI subset Vertex AI accepts as ``Schema``.

Why a converter and not a pass-through: Vertex answers 400 to many everyday JSON
Schema keywords (``$ref``/``$defs``, ``additionalProperties`` on older models,
``type: [T, "null"]``, ``oneOf``, ``const``, non-string enums, ``$schema``,
``strict``...). Pydantic and zod emit exactly those, so function parameters and
response schemas are rewritten into ``GoogleCloudAiplatformV1Schema`` (Vertex AI v1
discovery document): references inlined, nullability folded into ``nullable``,
keywords Vertex rejects dropped, the rest kept with Vertex's spelling.

The converter is total: any JSON value yields a valid Vertex schema, except a
recursive ``$ref``, which Vertex's ``Schema`` cannot express (a clear error).
"""

from __future__ import annotations

import json
from typing import Any

TYPES = {
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
    "null": "NULL",
}

# Keywords valid only for some types (Vertex's Schema documents each "If type is ...").
_FOR_TYPE = {
    "OBJECT": {"properties", "required", "propertyOrdering", "minProperties", "maxProperties"},
    "ARRAY": {"items", "minItems", "maxItems"},
    "STRING": {"minLength", "maxLength", "pattern"},
    "NUMBER": {"minimum", "maximum"},
    "INTEGER": {"minimum", "maximum"},
}
_TYPED_KEYS = frozenset().union(*_FOR_TYPE.values())

# Formats Vertex accepts per type (function-calling and controlled-generation references).
FORMATS = {"STRING": {"enum", "date-time"}, "NUMBER": {"float", "double"}, "INTEGER": {"int32", "int64"}}

_COUNTS = ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties")
_DEFAULT_TYPES = {
    "STRING": str,
    "BOOLEAN": bool,
    "INTEGER": int,
    "NUMBER": (int, float),
    "ARRAY": list,
    "OBJECT": dict,
}


class VertexSchemaError(ValueError):
    """The schema cannot be expressed as a Vertex ``Schema`` (e.g. a recursive ``$ref``)."""


def to_vertex_schema(schema: Any, ordering: bool = False) -> dict[str, Any]:
    """Convert ``schema``; ``ordering`` adds ``propertyOrdering`` so output keeps the declared order."""
    root = schema if isinstance(schema, dict) else {}
    return _Converter(root, ordering).node(schema, ())


class _Converter:
    def __init__(self, root: dict[str, Any], ordering: bool) -> None:
        self.root = root
        self.ordering = ordering

    def node(self, schema: Any, refs: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(schema, dict):
            return {}
        if isinstance(schema.get("$ref"), str):
            return self._reference(schema, refs)
        out: dict[str, Any] = {}
        types, nullable = _types(schema.get("type"))
        nullable = nullable or schema.get("nullable") is True
        for text in ("title", "description", "pattern"):
            if isinstance(schema.get(text), str):
                out[text] = schema[text]
        branches, null_branch = self._branches(schema, refs)
        nullable = nullable or null_branch
        if len(branches) == 1:
            for key, value in branches[0].items():
                out.setdefault(key, value)
        elif branches:
            out["anyOf"] = branches
        elif null_branch and not types:
            types = ["NULL"]
        if len(types) > 1:
            rest = {
                k: v
                for k, v in schema.items()
                if k not in ("type", "title", "description", "nullable", "anyOf", "oneOf", "allOf")
            }
            out = {k: v for k, v in out.items() if k in ("title", "description", "pattern")}
            out["anyOf"] = [self.node({**rest, "type": t.lower()}, refs) for t in types]
            if any([branch.pop("nullable", False) for branch in out["anyOf"]]):
                nullable = True
            if nullable:
                out["nullable"] = True
            return out  # each branch carries the keywords of its own type
        if types:
            out["type"] = types[0]
        kind = out.get("type")
        # An enum merged in from a single anyOf branch is normalized again under the final type,
        # so converting the output once more changes nothing (idempotence).
        source = schema if "enum" in schema or "const" in schema else out
        nullable = self._enum(source, out, kind) or nullable
        if isinstance(schema.get("properties"), dict) and out.get("type") in (None, "OBJECT"):
            self._properties(schema, out, refs)
        if "items" in schema and kind in (None, "ARRAY"):
            items = schema["items"]
            if isinstance(items, list):
                items = {"anyOf": items} if len(items) != 1 else items[0]
            out["items"] = self.node(items, refs)
        self._scalars(schema, out, out.get("type"))
        if out.get("type") is not None:
            for key in _TYPED_KEYS - _FOR_TYPE.get(out["type"], set()):
                out.pop(key, None)
            _fit_to_type(out, out["type"])
        if nullable and out.get("type") != "NULL":
            out["nullable"] = True
        return out

    def _properties(self, schema: dict[str, Any], out: dict[str, Any], refs: tuple[str, ...]) -> None:
        # A single anyOf branch merged into ``out`` first (an allOf, in effect): its properties and
        # required names are united with this schema's own, so no required name outlives its property.
        merged = out.get("properties") if isinstance(out.get("properties"), dict) else {}
        own = {str(name): self.node(sub, refs) for name, sub in schema["properties"].items()}
        props = {**merged, **own}
        if not props:
            return
        out["properties"] = props
        own_required = schema.get("required")
        required = [*(out.get("required") or ()), *(own_required if isinstance(own_required, list) else ())]
        names = [r for r in dict.fromkeys(r for r in required if isinstance(r, str)) if r in props]
        if names:
            out["required"] = names
        else:
            out.pop("required", None)
        order = [p for p in schema.get("propertyOrdering") or [] if isinstance(p, str) and p in props]
        if order or (self.ordering and len(props) > 1):
            out["propertyOrdering"] = list(dict.fromkeys(order)) if order else list(props)

    def _reference(self, schema: dict[str, Any], refs: tuple[str, ...]) -> dict[str, Any]:
        """Inline a ``$ref``, refusing cycles; sibling keywords (``description``...) override the target."""
        ref = schema["$ref"]
        if ref in refs:
            chain = " -> ".join([*refs[refs.index(ref) :], ref])
            raise VertexSchemaError(f"recursive $ref {chain} cannot be expressed as a Vertex AI Schema")
        target = _pointer(self.root, ref)
        if target is None:
            raise VertexSchemaError(f"$ref {ref!r} does not point into this schema's $defs/definitions")
        out = self.node(target, (*refs, ref))
        siblings = {k: v for k, v in schema.items() if k not in ("$ref", "$defs", "definitions")}
        if siblings:  # both sides are converted already; one more pass normalizes their union
            out = self.node({**out, **self.node(siblings, refs)}, refs)
        return out

    def _branches(self, schema: dict[str, Any], refs: tuple[str, ...]) -> tuple[list[dict[str, Any]], bool]:
        """``anyOf``/``oneOf`` (and a merged ``allOf``) as converted non-null branches, and whether null was one."""
        raw = [b for key in ("anyOf", "oneOf") if isinstance(schema.get(key), list) for b in schema[key]]
        if isinstance(schema.get("allOf"), list) and (merged := _merge_all(self, schema["allOf"], refs)):
            raw.append(merged)
        converted = [self.node(b, refs) for b in raw]
        kept = [c for c in converted if c.get("type") != "NULL"]
        null = len(kept) < len(converted) or any(c.get("nullable") for c in kept)
        return [{k: v for k, v in c.items() if k != "nullable"} for c in kept], null

    def _enum(self, schema: dict[str, Any], out: dict[str, Any], kind: str | None) -> bool:
        """Vertex enums are strings (``format: enum`` marks non-string ones); returns whether null was allowed."""
        values = schema["enum"] if isinstance(schema.get("enum"), list) else None
        if values is None and "const" in schema:
            values = [schema["const"]]
        if values is None:
            return False
        present = [v for v in values if v is not None]
        texts = list(dict.fromkeys(v if isinstance(v, str) else json.dumps(v) for v in present))
        if texts:
            out["enum"] = texts
            if kind is None:
                out["type"] = "STRING"
            if out["type"] != "STRING" or not all(isinstance(v, str) for v in present):
                out["format"] = "enum"
        return len(present) < len(values)

    def _scalars(self, schema: dict[str, Any], out: dict[str, Any], kind: str | None) -> None:
        fmt = schema.get("format")
        if "format" not in out and isinstance(fmt, str) and fmt in FORMATS.get(kind or "", ()):
            out["format"] = fmt
        if out.get("format") == "enum" and "enum" not in out:
            out.pop("format")
        for key in ("minimum", "maximum"):
            value = schema.get(key)
            if (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and abs(value) != float("inf")
                and value == value
            ):
                out[key] = value
        for key in _COUNTS:
            value = schema.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                out[key] = value
        default = schema.get("default")
        expected = _DEFAULT_TYPES.get(kind or "")
        if (
            default is not None
            and expected is not None
            and isinstance(default, expected)
            and not _bool_as_number(default, kind)
        ):
            out["default"] = default
        if "example" in schema:
            out["example"] = schema["example"]


def _fit_to_type(out: dict[str, Any], kind: str) -> None:
    """Drop a ``default`` or ``format`` merged in from a branch of another type than the final one."""
    expected = _DEFAULT_TYPES.get(kind)
    if "default" in out and (
        expected is None or not isinstance(out["default"], expected) or _bool_as_number(out["default"], kind)
    ):
        del out["default"]
    fmt = out.get("format")
    if fmt is not None and fmt != "enum" and fmt not in FORMATS.get(kind, ()):
        del out["format"]


def _bool_as_number(value: Any, kind: str | None) -> bool:
    return isinstance(value, bool) and kind in ("INTEGER", "NUMBER")


def _types(raw: Any) -> tuple[list[str], bool]:
    """Vertex types named by ``type`` (a string or a list), and whether null was among them."""
    names = raw if isinstance(raw, list) else [raw]
    found = [TYPES.get(n.lower()) if isinstance(n, str) else None for n in names]
    null = "NULL" in found
    kinds = list(dict.fromkeys(t for t in found if t and t != "NULL"))
    if null and not kinds:
        kinds = ["NULL"]
    return kinds, null and kinds != ["NULL"]


def _merge_all(conv: _Converter, branches: list[Any], refs: tuple[str, ...]) -> dict[str, Any]:
    """``allOf``: the converted branches merged into one schema (properties and required united)."""
    merged: dict[str, Any] = {}
    for branch in (conv.node(raw, refs) for raw in branches):
        for key, value in branch.items():
            if key == "properties" and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            elif key == "required" and isinstance(merged.get(key), list):
                merged[key] = [*merged[key], *value]
            else:
                merged.setdefault(key, value)
    return merged


def _pointer(root: dict[str, Any], ref: str) -> dict[str, Any] | None:
    """Resolve a local JSON pointer (``#/$defs/Name``) inside ``root``."""
    if not ref.startswith("#"):
        return None
    node: Any = root
    for step in [s for s in ref[1:].split("/") if s]:
        step = step.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    if isinstance(
        node, bool
    ):  # a boolean schema: true accepts anything; false cannot be expressed, so treat alike
        return {}
    return node if isinstance(node, dict) else None
