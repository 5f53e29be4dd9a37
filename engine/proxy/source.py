"""Read a config file into plain data while remembering where every key was written.

Why a separate step: a config error must name the file, the line and the key, and
``os.environ/NAME`` references must be resolved before anything is type-checked. The
round-trip YAML parser keeps line numbers; everything after this module works on
plain dicts and lists and asks :meth:`Source.where` for a position.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.redact import MASK, is_secret_name

ENV_PREFIX = "os.environ/"
PUBLIC_NAMES = frozenset({"key_alias"})  # secret-sounding names whose values are meant to be shown
# Shorter values are not masked inside messages (they would garble them, and guess nothing).
SHORTEST_SECRET = 4


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
    # Values no message may contain: everything under a secret-bearing key, every resolved os.environ/ value.
    secrets: set[str] = field(default_factory=set, repr=False)

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
        self.problems.append(self.scrub(f"{self.where(keys)}: {message}"))

    def scrub(self, message: str) -> str:
        """``message`` with every secret value (also as repr or JSON would quote it) replaced by ``***``.

        The last line of defence: whoever words a problem (schema, specs, credentials,
        settings), no value of a secret-bearing key and no value read from the
        environment reaches the terminal.
        """
        for secret in sorted(self.secrets, key=len, reverse=True):
            for form in {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]}:
                message = message.replace(form, MASK)
        return message

    def add_secrets(self, node: Any, under_secret: bool = False) -> None:
        """Remember the string values under secret-bearing keys (``key``, ``*_key``, credentials, tokens, ...)."""
        if isinstance(node, dict):
            for k, v in node.items():
                self.add_secrets(v, under_secret or (is_secret_name(k) and k not in PUBLIC_NAMES))
        elif isinstance(node, list):  # a list of entries (general_settings.keys) is not secret as a whole
            for v in node:
                self.add_secrets(v, under_secret and not isinstance(v, dict))
        elif under_secret and isinstance(node, str):
            if len(node) >= SHORTEST_SECRET and not node.startswith(ENV_PREFIX):
                self.secrets.add(node)
            if node.lstrip().startswith("{"):  # a credential as a JSON string
                with contextlib.suppress(ValueError, RecursionError):
                    self.add_secrets(json.loads(node), True)


def dotted(keys: Iterable[Any]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(top level)"


def is_secret(keys: Iterable[Any]) -> bool:
    """Whether a value at this key path may hold a secret (any secret-bearing key on the path)."""
    return any(is_secret_name(k) for k in keys)


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
        raise ConfigError([f"{path}:{_yaml_problem(exc, text)}"]) from None
    if tree is None:
        raise ConfigError([f"{path}:1: the config file is empty (it needs at least a model_list)"])
    source = Source(path, tree, plain(tree))
    source.add_secrets(source.data)
    if isinstance(source.data, dict):  # environment_variables feed os.environ/ references: all secret
        source.add_secrets(source.data.get("environment_variables"), True)
    return source


def _yaml_problem(exc: Exception, text: str) -> str:
    """``line: not valid YAML: what``, never quoting a value (ruamel's own text quotes both duplicates).

    Only ruamel's ``problem`` phrase is used, never ``str(exc)``, which prints the
    offending source lines (a private key's, say).
    """
    from ruamel.yaml.constructor import DuplicateKeyError

    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    if isinstance(exc, DuplicateKeyError) and mark is not None:
        lines = text.splitlines()
        written = lines[mark.line][mark.column :] if mark.line < len(lines) else ""
        key = written.split(":", 1)[0].strip().strip("'\"") or "?"
        first = getattr(exc, "context_mark", None)
        since = f" (first written on line {first.line + 1})" if first is not None else ""
        return f"{line}: not valid YAML: duplicate key {key!r}{since}"
    problem = getattr(exc, "problem", None)
    return f"{line}: not valid YAML: {problem if isinstance(problem, str) else type(exc).__name__}"


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
            source.add_secrets(value, True)
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
    if is_secret(keys) or isinstance(err.instance, (dict, list)):  # a container's text would quote its values
        return f"invalid value (schema rule {err.validator}: {_rule(err.validator_value)})"
    return err.message


def _rule(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:80]}…"
