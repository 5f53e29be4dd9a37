"""Find spec files, parse them, resolve ``extends`` and check them against the JSON Schema.

Like botocore's loaders, specs are found along a search path: the caller's own
directories first (``VERTEXLATE_SPEC_PATH`` and ``engine.add_spec_dir``), then the
specs shipped with the package. A spec in an earlier directory wins over a spec of
the same name in a later one, so users can replace or extend any family without
touching the package.

The engine parses with ruamel's fast safe loader; only when a spec is invalid are
files parsed again with the round-trip loader to report line numbers.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SPEC_PATH_ENV = "VERTEXLATE_SPEC_PATH"
SCHEMA_FILE = "spec.schema.json"


@dataclass
class SpecDocument:
    """One parsed spec file; ``data`` has ``extends`` already resolved."""

    path: Path
    data: dict[str, Any]


def builtin_spec_dir() -> Path:
    """The specs shipped with the package (``engine/_specs`` in a wheel, ``specs/`` in a checkout)."""
    here = Path(__file__).resolve().parent
    packaged = here / "_specs"
    return packaged if packaged.is_dir() else here.parent / "specs"


def spec_dirs(extra: Iterable[str | Path] = ()) -> list[Path]:
    """The search path: explicit directories, then ``$VERTEXLATE_SPEC_PATH``, then the built-in specs."""
    dirs = [Path(d) for d in extra]
    env = os.environ.get(SPEC_PATH_ENV, "")
    dirs += [Path(d) for d in env.split(os.pathsep) if d]
    dirs.append(builtin_spec_dir())
    return dirs


def spec_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for directory in dirs:
        if directory.is_file():
            files.append(directory)
        elif directory.is_dir():
            files += sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    return files


def parse_yaml(path: Path) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=False).load(path.read_text(encoding="utf-8"))


@cache
def spec_schema() -> dict[str, Any]:
    return json.loads((builtin_spec_dir() / SCHEMA_FILE).read_text(encoding="utf-8"))


@cache
def _schema_validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(spec_schema())


def line_of(path: Path, keys: Iterable[Any]) -> int | None:
    """1-based line of the value at ``keys`` in a YAML file (round-trip parse, errors only)."""
    from ruamel.yaml import YAML

    try:
        node = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except Exception:
        return None
    line = None
    for key in keys:
        try:
            line = (node.lc.item(key) if isinstance(key, int) else node.lc.key(key))[0] + 1
            node = node[key]
        except (AttributeError, KeyError, IndexError, TypeError):
            break
    return line


def where(path: Path, keys: Iterable[Any]) -> str:
    """``file:line: a.b.c`` for error messages."""
    keys = list(keys)
    line = line_of(path, keys)
    dotted = ".".join(str(k) for k in keys) or "(top level)"
    return f"{path}:{line or 1}: {dotted}"


def schema_problems(path: Path, data: Any, partial: bool = False, required_only: bool = False) -> list[str]:
    """Every JSON-Schema violation in one parsed file, each naming file, line and key.

    ``partial``: the file ``extends`` another, so it may leave out required keys its
    parent supplies (e.g. override only an operation's URL); the merged result is
    checked again for them (``required_only``) after ``extends`` is resolved.
    """
    if not isinstance(data, dict):
        return [f"{path}:1: a spec must be a mapping, got {type(data).__name__}"]
    problems = []
    for err in sorted(_schema_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        if (partial and err.validator == "required") or (required_only and err.validator != "required"):
            continue
        problems.append(f"{where(path, err.absolute_path)}: {_short(err)}")
    return problems


def _short(err: Any) -> str:
    if err.validator == "additionalProperties":
        return err.message.replace("Additional properties are not allowed", "unknown key")
    if err.validator == "oneOf" and isinstance(err.instance, dict):
        best = min(err.context, key=lambda e: len(e.message), default=None) if err.context else None
        return best.message if best else err.message
    return err.message


def deep_merge(base: Any, over: Any) -> Any:
    """Dicts merge key by key; anything else in ``over`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(over)


def load_documents(dirs: Iterable[Path]) -> tuple[list[SpecDocument], list[str]]:
    """Parse, schema-check and resolve ``extends``; return the families and every problem found."""
    problems: list[str] = []
    by_name: dict[str, SpecDocument] = {}
    for path in spec_files(dirs):
        try:
            data = parse_yaml(path)
        except Exception as exc:  # ruamel raises many types; all mean "not YAML"
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            problems.append(f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}")
            continue
        found = schema_problems(path, data, partial=isinstance(data, dict) and "extends" in data)
        if found:
            problems += found
            continue
        if data["name"] in by_name:
            continue  # an earlier directory in the search path overrides this one
        by_name[data["name"]] = SpecDocument(path, data)

    families: list[SpecDocument] = []
    for doc in by_name.values():
        resolved = _resolve_extends(doc, by_name, problems)
        if resolved is not None and resolved.get("kind", "family") == "family" and "extends" in doc.data:
            found = schema_problems(doc.path, resolved, required_only=True)
            problems += found
            resolved = None if found else resolved
        if resolved is not None and resolved.get("kind", "family") == "family":
            families.append(SpecDocument(doc.path, resolved))
    return families, problems


def _resolve_extends(doc: SpecDocument, by_name: dict[str, SpecDocument], problems: list[str]) -> dict | None:
    chain = [doc]
    seen = {doc.data["name"]}
    while "extends" in chain[-1].data:
        parent = chain[-1].data["extends"]
        if parent not in by_name:
            problems.append(f"{where(chain[-1].path, ['extends'])}: extends unknown spec {parent!r}")
            return None
        if parent in seen:
            problems.append(f"{where(chain[-1].path, ['extends'])}: circular extends through {parent!r}")
            return None
        seen.add(parent)
        chain.append(by_name[parent])
    merged: dict[str, Any] = {}
    for part in reversed(chain):
        merged = deep_merge(merged, part.data)
    merged["name"] = doc.data["name"]
    merged["kind"] = doc.data.get("kind", "family")
    merged.pop("extends", None)
    return merged
