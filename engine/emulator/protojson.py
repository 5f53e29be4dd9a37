"""Proto3 JSON as Google's front end parses it: request bodies brought to one canonical form.

Why: Vertex AI reads request bodies with the proto3 JSON mapping
(https://protobuf.dev/programming-guides/json/, "JSON Mapping"): parsers accept both
the lowerCamelCase JSON name and the original proto field name, an enum value as its
name or its integer, and ``null`` for any field as "not set". Google's SDKs rely on
each of these (google-genai sends snake_case inside some nested configs, the
``vertexai`` REST transport sends integer enums with ``$alt=json;enum-encoding=int``).
The emulator rewrites a body into the canonical spelling (lowerCamel names, enum names,
no nulls) before any handler reads it, so either spelling gets the same answer, and
remembers which non-canonical spellings it saw so strict mode can refuse them.

The schema source is the discovery document (engine/emulator/discovery.py); the
integer of an enum value is its index in the document's ``enum`` list, which follows
the proto's numbering for Vertex's enums (every list starts with the 0 ``*_UNSPECIFIED``
value). Field locations are printed as Google prints them (proto names, map entries by
index) and unknown names in Google's wording:
``Invalid JSON payload received. Unknown name "x" at 'y': Cannot find field.``
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from engine.emulator.discovery import document


@dataclass
class Parsed:
    """A body in canonical form, what was wrong with it, and what was spelled non-canonically."""

    body: Any
    violations: list[dict[str, str]] = field(default_factory=list)
    spellings: list[dict[str, str]] = field(default_factory=list)


def snake(name: str) -> str:
    """The proto field name behind a lowerCamel JSON name (``mimeType`` → ``mime_type``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def _aliases(api: str, schema: str) -> dict[str, str]:
    """Every accepted spelling of ``schema``'s fields → its JSON name (computed once per schema)."""
    names: dict[str, str] = {}
    for name in document(api)["schemas"][schema].get("properties", {}):
        names[name] = name
        names.setdefault(snake(name), name)
    return names


def _resolve(api: str, node: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(schema id, node) with a ``$ref`` followed."""
    ref = node.get("$ref")
    return (ref, document(api)["schemas"][ref]) if ref else (None, node)


def _at(where: str) -> str:
    return f" at '{where}'" if where else ""


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


class _Walk:
    """One pass over one body (collects violations and spellings while rebuilding it)."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.violations: list[dict[str, str]] = []
        self.spellings: list[dict[str, str]] = []

    def _violate(self, where: str, message: str) -> None:
        entry = {"description": message}
        if where:
            entry["field"] = where
        self.violations.append(entry)

    def value(self, node: dict[str, Any], value: Any, where: str) -> Any:
        schema, node = _resolve(self.api, node)
        if "enum" in node:
            return self._enum(node, value, where)
        kind = node.get("type")
        if kind == "array" and isinstance(value, list):
            items = node.get("items", {})
            return [self.value(items, item, f"{where}[{i}]") for i, item in enumerate(value)]
        if kind == "object" and isinstance(value, dict):
            if schema is not None and "properties" in node:
                return self._message(schema, node, value, where)
            extra = node.get("additionalProperties")
            if isinstance(extra, dict) and extra.get("type") != "any":
                return {
                    key: self.value(extra, item, f"{where}[{i}].value")
                    for i, (key, item) in enumerate(value.items())
                }
        return value

    def _enum(self, node: dict[str, Any], value: Any, where: str) -> Any:
        names = node["enum"]
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value < len(names):
                self.spellings.append(
                    {
                        "field": where,
                        "description": f"Invalid value at '{where}' (TYPE_ENUM), {value}: strict mode "
                        f'takes the enum name "{names[value]}", not its number',
                    }
                )
                return names[value]
            self._violate(where, f"Invalid value at '{where}' (TYPE_ENUM), {value}")
        return value

    def _message(
        self, schema: str, node: dict[str, Any], value: dict[str, Any], where: str
    ) -> dict[str, Any]:
        aliases = _aliases(self.api, schema)
        properties = node["properties"]
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = aliases.get(key)
            if name is None:
                message = (
                    f'Invalid JSON payload received. Unknown name "{key}"{_at(where)}: Cannot find field.'
                )
                self._violate(where, message)
                continue
            inner = _join(where, snake(name))
            if name != key:
                self.spellings.append(
                    {
                        "field": inner,
                        "description": f'Invalid JSON payload received. Non-canonical name "{key}"{_at(where)}: '
                        f'strict mode takes the JSON name "{name}"',
                    }
                )
            if name in out:
                self._violate(
                    inner,
                    f'Invalid JSON payload received. Duplicate field "{name}"{_at(where)}: '
                    f'given as "{name}" and "{snake(name)}".',
                )
                continue
            target = properties[name]
            if item is None and _resolve(self.api, target)[1].get("type") != "any":
                continue  # null means "not set" (proto3 JSON), except for google.protobuf.Value
            out[name] = self.value(target, item, inner)
        return out


def schema_id(api: str, schema: str) -> str:
    """``schema`` as named in ``api`` (``GoogleCloudAiplatformV1X`` → ``...V1beta1X`` on v1beta1)."""
    if api == "aiplatform.v1beta1":
        return schema.replace("GoogleCloudAiplatformV1", "GoogleCloudAiplatformV1beta1", 1)
    return schema


def canonical(api: str, schema: str, body: Any) -> Parsed:
    """``body`` in canonical proto3 JSON for ``schema`` of ``api``, with its problems."""
    walk = _Walk(api)
    result = walk.value({"$ref": schema}, body, "")
    return Parsed(result, walk.violations, walk.spellings)


def _numbers(api: str, node: dict[str, Any], value: Any) -> Any:
    schema, node = _resolve(api, node)
    if "enum" in node and isinstance(value, str) and value in node["enum"]:
        return node["enum"].index(value)
    kind = node.get("type")
    if kind == "array" and isinstance(value, list):
        return [_numbers(api, node.get("items", {}), item) for item in value]
    if kind == "object" and isinstance(value, dict):
        properties = node.get("properties")
        if schema is not None and properties:
            return {k: _numbers(api, properties[k], v) if k in properties else v for k, v in value.items()}
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("type") != "any":
            return {k: _numbers(api, extra, v) for k, v in value.items()}
    return value


def int_enums(api: str, schema: str, body: Any) -> Any:
    """``body`` (a response of ``schema``) with enum names as their integers.

    Why: ``$alt=json;enum-encoding=int`` (sent by the ``vertexai`` SDK's REST transport) asks
    Google's front end to write enums as numbers in the reply.
    """
    return _numbers(api, {"$ref": schema}, body)


def wants_int_enums(query: dict[str, str]) -> bool:
    """True when the query's ``$alt`` asks for integer enums (``json;enum-encoding=int``)."""
    alt = query.get("$alt", "")
    return "enum-encoding=int" in alt.replace(" ", "").split(";")
