"""Google discovery-document schemas as JSON Schema (Draft 2020-12) validators.

Why: the emulator must reject a request body the way Vertex AI would, and the
project's conformance tests must check the engine's output against the same
published contract. Both read the discovery documents that ship inside
google-api-python-client (never the network), so the contract is pinned by the
installed package version.

Conversion rules (proto3 JSON as Google's front end accepts it):
- every object schema gets ``additionalProperties: false`` unless the discovery
  schema declares ``additionalProperties`` itself (maps, ``Struct``);
- ``$ref: Name`` becomes ``$ref: #/$defs/Name``;
- 64-bit integers accept JSON numbers and numeric strings, 32-bit ones accept
  integers and integer strings;
- enums stay case-sensitive exactly as the document spells them;
- ``type: any`` becomes ``{}``.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

APIS = ("aiplatform.v1", "aiplatform.v1beta1", "texttospeech.v1")

_INT64_PATTERN = r"^-?[0-9]+$"
_NUMBER_PATTERN = r"^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$|^(?:NaN|-?Infinity)$"
_FORMAT_TYPES = {
    "int32": "TYPE_INT32",
    "uint32": "TYPE_UINT32",
    "int64": "TYPE_INT64",
    "uint64": "TYPE_UINT64",
    "float": "TYPE_FLOAT",
    "double": "TYPE_DOUBLE",
    "byte": "TYPE_BYTES",
}
_PLAIN_TYPES = {
    "string": "TYPE_STRING",
    "boolean": "TYPE_BOOL",
    "integer": "TYPE_INT32",
    "number": "TYPE_DOUBLE",
}


@functools.cache
def document(api: str) -> dict[str, Any]:
    """The raw discovery document of ``api``, read from the installed googleapiclient."""
    if api not in APIS:
        raise KeyError(f"unknown API {api!r}; expected one of {APIS}")
    package = resources.files("googleapiclient") / "discovery_cache" / "documents"
    return json.loads((package / f"{api}.json").read_text(encoding="utf-8"))


def _convert(node: dict[str, Any]) -> dict[str, Any]:
    """Translate one discovery schema node into its JSON Schema equivalent."""
    if "$ref" in node:
        return {"$ref": f"#/$defs/{node['$ref']}"}
    kind = node.get("type")
    fmt = node.get("format")
    out: dict[str, Any]
    if kind == "any" or kind is None:
        out = {}
    elif kind == "object":
        out = {"type": "object"}
        if "properties" in node:
            out["properties"] = {name: _convert(sub) for name, sub in node["properties"].items()}
        if "additionalProperties" in node:
            out["additionalProperties"] = _convert(node["additionalProperties"])
        else:
            out["additionalProperties"] = False
    elif kind == "array":
        out = {"type": "array", "items": _convert(node.get("items", {"type": "any"}))}
    elif kind == "integer" or (kind == "string" and fmt in ("int64", "uint64")):
        out = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": _INT64_PATTERN}]}
    elif kind == "number":
        out = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": _NUMBER_PATTERN}]}
    else:
        out = {"type": kind}
    if "enum" in node:
        out["enum"] = list(node["enum"])
    # Remembered for error messages in Google's style ("(TYPE_FLOAT)").
    out["x-proto-type"] = _proto_type(node)
    return out


def _proto_type(node: dict[str, Any]) -> str:
    """Google's name for a field's wire type, as printed in its 400 messages."""
    if "enum" in node:
        return "TYPE_ENUM"
    if node.get("format") in _FORMAT_TYPES:
        return _FORMAT_TYPES[node["format"]]
    if node.get("type") in ("object", "array") or "$ref" in node:
        return "TYPE_MESSAGE"
    return _PLAIN_TYPES.get(node.get("type", ""), "TYPE_MESSAGE")


@functools.cache
def definitions(api: str) -> dict[str, Any]:
    """All schemas of ``api`` converted, keyed by schema id (shared by every validator)."""
    return {name: _convert(schema) for name, schema in document(api)["schemas"].items()}


@functools.cache
def validator(api: str, schema: str) -> Validator:
    """A cached Draft 2020-12 validator for ``schema`` of ``api``."""
    defs = definitions(api)
    if schema not in defs:
        raise KeyError(f"{api} has no schema {schema!r}")
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": defs,
        "$ref": f"#/$defs/{schema}",
    }
    return jsonschema.Draft202012Validator(root)


def json_path(path: list[str | int]) -> str:
    """``['contents', 0, 'parts']`` → ``contents[0].parts`` (camelCase, as sent)."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _google_path(api: str, schema: str, body: Any, path: list[str | int]) -> str:
    """The field location as Google prints it: proto (snake_case) names, map entries by index.

    Why: Vertex reports ``tools[0].function_declarations[0].parameters.properties[2].value``;
    reproducing it lets client error handling be tested offline.
    """
    defs = definitions(api)
    node: dict[str, Any] = defs[schema]
    value = body
    text = ""
    for step in path:
        while "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[1]]
        if isinstance(step, int):
            text += f"[{step}]"
            node = node.get("items", {})
        elif step in node.get("properties", {}):
            text += ("." if text else "") + _snake(step)
            node = node["properties"][step]
        else:
            index = list(value).index(step) if isinstance(value, dict) and step in value else 0
            text += f"[{index}].value"
            extra = node.get("additionalProperties")
            node = extra if isinstance(extra, dict) else {}
        value = value[step] if isinstance(value, (dict, list)) else None
    return text


def _describe(api: str, schema: str, body: Any, error: jsonschema.ValidationError) -> tuple[str, str, str]:
    """(json path, google field location, google-style message) for one error."""
    path = list(error.absolute_path)
    where = _google_path(api, schema, body, path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        unknown = [key for key in error.instance if key not in known]
        name = unknown[0] if unknown else "?"
        at = f" at '{where}'" if where else ""
        message = f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
        return json_path([*path, name]), where, message
    proto = error.schema.get("x-proto-type") or "TYPE_MESSAGE"
    if error.validator in ("anyOf", "type", "enum", "pattern"):
        value = json.dumps(error.instance, ensure_ascii=False)
        return json_path(path), where, f"Invalid value at '{where}' ({proto}), {value}"
    return json_path(path), where, f"Invalid value at '{where}': {error.message}"


def _sorted_errors(api: str, schema: str, body: Any) -> list[jsonschema.ValidationError]:
    """Errors in path order, so the messages read like Google's (one per offending field)."""
    found = list(validator(api, schema).iter_errors(body))
    return sorted(found, key=lambda e: [str(p) for p in e.absolute_path])


def violations(api: str, schema: str, body: Any) -> list[dict[str, str]]:
    """Google ``BadRequest.fieldViolations`` entries for ``body`` (empty when valid)."""
    result: list[dict[str, str]] = []
    for error in _sorted_errors(api, schema, body):
        _, where, message = _describe(api, schema, body, error)
        entry = {"description": message}
        if where:
            entry["field"] = where
        if entry not in result:  # one value can fail two keywords (type and enum): Google lists it once
            result.append(entry)
    return result


def errors(api: str, schema: str, body: Any) -> list[str]:
    """Readable messages, each prefixed with the JSON path (camelCase, as sent)."""
    messages: list[str] = []
    for error in _sorted_errors(api, schema, body):
        path, _, message = _describe(api, schema, body, error)
        if (line := f"{path or '$'}: {message}") not in messages:
            messages.append(line)
    return messages
