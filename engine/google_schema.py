"""Check (and normalize) dicts passed through to Google against the discovery document's schemas.

Why: ``voice``, ``audioConfig``, ``safety_settings``, built-in tool and grounding configs
are Google's own shapes, sent as the caller wrote them. Without a check, a typo or a
wrong type comes back as Google's terse 400 after a round trip, or worse is silently
ignored. The schemas are generated from the discovery documents by tools/google_schemas.py
into specs/google_schemas.json (google-api-python-client is not a core dependency) and
compiled once per referenced schema, when the specs are compiled (rule 3).

What a check does, field by field (proto3 JSON as Google's front end reads it):
- an unknown field is an error naming it; a snake_case name (``speaking_rate``) is
  rewritten to its camelCase wire name (``speakingRate``, rule 4);
- a number where the schema says number (or int32) may be given as a numeric string
  (the seed's ``"speakingRate": "10"``) and is sent as a number; it must be finite and,
  where Google documents a range, inside it;
- an enum value must be one the document lists (``LINEAR22`` is not an AudioEncoding);
- int64 values may stay strings, as proto3 JSON allows.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from engine.errors import BadRequestError
from engine.redact import short

SCHEMA_FILE_NAME = "google_schemas.json"  # beside the built-in specs (engine/_specs in a wheel)
_NUMBER = re.compile(r"\s*-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*\Z")
_INTEGER = re.compile(r"\s*-?[0-9]+\s*\Z")
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1), "int64": (-(2**63), 2**63 - 1)}
_INT_BOUNDS["uint64"] = (0, 2**64 - 1)

Check = Callable[[Any, str], Any]  # (value, where) -> normalized value; raises _Invalid


class _Invalid(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


@cache
def _schemas() -> dict[str, Any]:
    """The generated schema file (read once, when the first spec referencing it is compiled)."""
    from engine.loader import builtin_spec_dir

    return json.loads((builtin_spec_dir() / SCHEMA_FILE_NAME).read_text(encoding="utf-8"))["schemas"]


def known(ref: str) -> bool:
    """Whether ``ref`` (``api/Schema`` or ``api/Schema[]``) names a generated schema."""
    return ref.removesuffix("[]") in _schemas()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class _Compiler:
    """Turns schema nodes into closures; a schema referenced twice (or recursively) is compiled once."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.named: dict[str, Check] = {}

    def ref(self, name: str) -> Check:
        if name not in self.named:
            slot: list[Check] = []
            self.named[name] = lambda value, where: slot[0](
                value, where
            )  # recursion: Schema.items is a Schema
            slot.append(self.node(_schemas()[f"{self.api}/{name}"]))
        return self.named[name]

    def node(self, node: Any) -> Check:
        if isinstance(node, str):
            return self.scalar(node, None, None)
        if "ref" in node:
            return self.ref(node["ref"])
        if "enum" in node:
            return _enum(frozenset(node["enum"]), node["enum"])
        if "array" in node:
            return _array(self.node(node["array"]))
        if "map" in node:
            return _map(self.node(node["map"]))
        if "fields" in node:
            fields = {name: self.node(sub) for name, sub in node["fields"].items()}
            return _object(fields)
        return self.scalar(node["type"], node.get("min"), node.get("max"))

    def scalar(self, kind: str, low: float | None, high: float | None) -> Check:
        if kind == "any":
            return lambda value, where: value
        if kind == "string" or kind == "bytes":
            return _string
        if kind == "boolean":
            return _boolean
        if kind == "number":
            return _number(low, high)
        return _integer(kind, low, high)


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {short(value, 40)}"


def _string(value: Any, where: str) -> Any:
    if not isinstance(value, str):
        raise _Invalid(where, f"must be a string, got {_describe(value)}")
    return value


def _boolean(value: Any, where: str) -> Any:
    if not isinstance(value, bool):
        raise _Invalid(where, f"must be true or false, got {_describe(value)}")
    return value


def _in_range(number: float, low: float | None, high: float | None, where: str) -> None:
    if (low is not None and number < low) or (high is not None and number > high):
        raise _Invalid(where, f"{short(number, 40)} is outside Google's documented range [{low:g}, {high:g}]")


def _number(low: float | None, high: float | None) -> Check:
    def check(value: Any, where: str) -> Any:
        if isinstance(value, str) and _NUMBER.match(value):
            number = float(value)
            value = int(number) if _INTEGER.match(value) and abs(number) < 2**53 else number
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Invalid(where, f"must be a number, got {_describe(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise _Invalid(where, f"must be a finite number, got {value}")
        _in_range(value, low, high, where)
        return value

    return check


def _integer(kind: str, low: float | None, high: float | None) -> Check:
    floor, ceiling = _INT_BOUNDS.get(kind, _INT_BOUNDS["int64"])
    keep_string = kind in ("int64", "uint64")  # proto3 JSON sends 64-bit integers as strings

    def check(value: Any, where: str) -> Any:
        original = value
        if (
            isinstance(value, str)
            and _INTEGER.match(value)
            or isinstance(value, float)
            and value.is_integer()
        ):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(where, f"must be an integer, got {_describe(original)}")
        if not floor <= value <= ceiling:
            raise _Invalid(where, f"{short(value, 40)} is outside the {kind} range")
        _in_range(value, low, high, where)
        return original.strip() if keep_string and isinstance(original, str) else value

    return check


def _enum(allowed: frozenset[str], ordered: list[str]) -> Check:
    def check(value: Any, where: str) -> Any:
        if not isinstance(value, str) or value not in allowed:
            listed = ", ".join(v for v in ordered if not v.endswith("_UNSPECIFIED"))
            raise _Invalid(where, f"{short(value, 40)} is not one of {listed}")
        return value

    return check


def _array(item: Check) -> Check:
    def check(value: Any, where: str) -> Any:
        if not isinstance(value, list):
            raise _Invalid(where, f"must be a list, got {_describe(value)}")
        return [item(v, f"{where}[{i}]") for i, v in enumerate(value)]

    return check


def _map(item: Check) -> Check:
    def check(value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise _Invalid(where, f"must be an object, got {_describe(value)}")
        return {k: item(v, f"{where}.{k}") for k, v in value.items()}

    return check


def _object(fields: dict[str, Check]) -> Check:
    def check(value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise _Invalid(where, f"must be an object, got {_describe(value)}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if key in fields else _camel(key) if isinstance(key, str) else key
            sub = fields.get(name)
            if sub is None:
                known_names = ", ".join(sorted(fields)) or "none"
                raise _Invalid(
                    f"{where}.{short(key, 40)}", f"unknown field (Google's fields here: {known_names})"
                )
            out[name] = item if item is None else sub(item, f"{where}.{name}")
        return out

    return check


class SchemaCheck:
    """A compiled check of one body field against ``api/Schema`` (``[]``: a list of them)."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        api, _, name = ref.removesuffix("[]").partition("/")
        compiled = _Compiler(api).ref(name)
        self.check = _array(compiled) if ref.endswith("[]") else compiled

    def __call__(self, value: Any, where: str, model: str | None = None) -> Any:
        try:
            return self.check(value, where)
        except _Invalid as exc:
            raise BadRequestError(
                f"{exc} ({self.ref.removesuffix('[]').rsplit('/', 1)[-1]} in Google's discovery document)",
                model=model,
                param=where.split(".", 1)[0].split("[", 1)[0],
            ) from None


def apply(body: Any, checks: tuple[tuple[tuple[str, ...], SchemaCheck], ...], model: str | None) -> None:
    """Check (and normalize in place) each body field that ``checks`` names, when it is present."""
    if not isinstance(body, dict):
        return
    for path, check in checks:
        node = body
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(path[-1]) is not None:
            node[path[-1]] = check(node[path[-1]], ".".join(path), model)
