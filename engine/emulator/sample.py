"""A minimal instance of a response schema, for JSON-mode answers.

Why: with ``responseMimeType: application/json`` (Gemini) or ``response_format``
(OpenAI style) a client parses the answer as JSON and often validates it; the
default echo must therefore be valid JSON of the requested shape. Strings carry
the echo text so tests still see what arrived. Handles both Google's OpenAPI
subset (``type: OBJECT``) and JSON Schema (``type: object``, ``$ref``/``$defs``).
"""

from __future__ import annotations

from typing import Any


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for step in ref[2:].split("/"):
            node = node.get(step, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}
    return schema


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    if kind is None:
        return "object" if "properties" in schema else "string"
    return str(kind).lower()


def example(schema: Any, text: str, root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A value valid for ``schema`` (first enum value, first anyOf branch, all properties)."""
    if not isinstance(schema, dict) or depth > 8:
        return text
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example(schema[key][0], text, root, depth + 1)
    if schema.get("enum"):
        return schema["enum"][0]
    kind = _kind(schema)
    if kind == "object":
        props = schema.get("properties", {})
        return {name: example(sub, text, root, depth + 1) for name, sub in props.items()}
    if kind == "array":
        return [example(schema.get("items", {}), text, root, depth + 1)]
    return {"integer": 0, "number": 0.0, "boolean": False, "null": None}.get(kind, text)
