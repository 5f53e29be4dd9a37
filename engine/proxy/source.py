"""Read a config file into plain data while remembering where every key was written.

Why a separate step: a config error must name the file, the line and the key, and
``os.environ/NAME`` references must be resolved before anything is type-checked. The
round-trip YAML parser keeps line numbers; everything after this module works on
plain dicts and lists and asks :meth:`Source.where` for a position.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "os.environ/"
# Keys whose values must never appear in a message (they hold keys or credentials).
SECRET_KEYS = frozenset(
    {"master_key", "key", "vertex_credentials", "gcs_path_service_account", "api_key", "private_key"}
)


class ConfigError(Exception):
    """The proxy config is invalid; ``problems`` each name file, line and key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid proxy config:\n  " + "\n  ".join(problems))


Keys = tuple[Any, ...]


@dataclass
class Source:
    """A parsed config file: plain ``data`` plus the round-trip tree for line lookups."""

    path: Path
    tree: Any
    data: Any
    problems: list[str] = field(default_factory=list)

    def line(self, keys: Iterable[Any]) -> int:
        """1-based line of the deepest key of ``keys`` that exists in the file."""
        node, line = self.tree, 1
        for key in keys:
            try:
                position = node.lc.item(key) if isinstance(key, int) else node.lc.key(key)
                line = position[0] + 1
                node = node[key]
            except (AttributeError, KeyError, IndexError, TypeError):
                break
        return line

    def where(self, keys: Iterable[Any]) -> str:
        """``file:line: model_list[1].litellm_params.rpm`` for messages."""
        keys = list(keys)
        return f"{self.path}:{self.line(keys)}: {dotted(keys)}"

    def problem(self, keys: Iterable[Any], message: str) -> None:
        self.problems.append(f"{self.where(keys)}: {message}")


def dotted(keys: Iterable[Any]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(top level)"


def is_secret(keys: Iterable[Any]) -> bool:
    return any(isinstance(k, str) and k in SECRET_KEYS for k in keys)


def read(path: str | Path) -> Source:
    """Parse ``path``; a missing file or a YAML syntax error raises :class:`ConfigError` at once."""
    from ruamel.yaml import YAML

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc.strerror or exc}"]) from None
    try:
        tree = YAML(typ="rt").load(text)
    except Exception as exc:  # ruamel raises several types; all mean "not YAML"
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(
            [f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]
        ) from None
    if tree is None:
        raise ConfigError([f"{path}:1: the config file is empty (it needs at least a model_list)"])
    return Source(path, tree, plain(tree))


def plain(node: Any) -> Any:
    """ruamel's round-trip node types as builtin dicts, lists and scalars."""
    if isinstance(node, Mapping):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def resolve_env(source: Source, extra: Mapping[str, str]) -> None:
    """Replace every ``os.environ/NAME`` string in ``source.data`` by the variable's value.

    ``extra`` (the config's own ``environment_variables``) is consulted before the process
    environment, as LiteLLM does. A missing variable is a problem naming the key.
    """

    def walk(node: Any, keys: Keys) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, (*keys, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*keys, i)) for i, v in enumerate(node)]
        if isinstance(node, str) and node.startswith(ENV_PREFIX):
            name = node[len(ENV_PREFIX) :]
            value = extra.get(name, os.environ.get(name))
            if value is None:
                source.problem(keys, f"environment variable {name!r} is not set")
                return node
            return value
        return node

    source.data = walk(source.data, ())


def schema_problems(source: Source, schema: Mapping[str, Any]) -> None:
    """Add one problem per JSON-Schema violation, never quoting a secret value."""
    from jsonschema import Draft202012Validator

    if not isinstance(source.data, dict):
        source.problem(
            (), f"the config must be a mapping with a model_list, got {type(source.data).__name__}"
        )
        return
    errors = Draft202012Validator(schema).iter_errors(source.data)
    for err in sorted(errors, key=lambda e: [str(k) for k in e.absolute_path]):
        keys = list(err.absolute_path)
        source.problem(keys, _message(err, keys))


def _message(err: Any, keys: list[Any]) -> str:
    if err.validator == "required":
        missing = [name for name in err.validator_value if name not in err.instance]
        return f"missing required key {missing[0]!r}" if missing else err.message
    if err.validator == "additionalProperties":
        return err.message.replace("Additional properties are not allowed", "unknown key")
    if is_secret(keys):
        return f"invalid value (schema rule {err.validator}: {err.validator_value!r})"
    return err.message
