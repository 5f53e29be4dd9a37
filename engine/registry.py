"""The compiled specs of this process and the lookup from a model name to its family.

Resolution order for ``vertex_ai/<name>`` and an operation: an exact model name or
alias, then patterns, most specific (most literal characters) first; at equal literal
characters a pattern whose captures carry their own regex (``openai/{endpoint_id:[0-9]+}``)
comes before one with bare captures (``openai/{name}``). Only entries whose family defines
the operation take part, so ``vertex_ai/`` alone can mean the speech service for
``speech()`` without clashing with chat models.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.compiler import _PLACEHOLDER, Family, ModelEntry, Problems, compile_family
from engine.errors import NotFoundError, SpecError
from engine.loader import load_documents, spec_dirs

PROVIDER_PREFIXES = ("vertex_ai/", "vertex_ai_beta/")

log = logging.getLogger("vertexlate")


def constrained(entry: ModelEntry) -> int:
    """Captures with their own regex (``{endpoint_id:[0-9]+}``): they narrow a pattern beyond its literals."""
    return sum(1 for m in _PLACEHOLDER.finditer(entry.pattern) if m.group(2))


def rank(entry: ModelEntry) -> tuple[int, int]:
    """How specific a pattern is: literal characters first, then constrained captures."""
    return entry.specificity, constrained(entry)


def is_catch_all(entry: ModelEntry) -> bool:
    """A pattern with nothing that narrows it (``*``, ``{name}``): it accepts any name, so proves nothing."""
    return entry.regex is not None and rank(entry) == (0, 0)


@dataclass(frozen=True)
class Resolved:
    """A model name bound to its spec entry: what the request builder needs to know."""

    entry: ModelEntry
    name: str  # the name the caller used, without the provider prefix
    model_id: str  # the id sent upstream
    captures: tuple[tuple[str, str], ...]

    @property
    def family(self) -> Family:
        return self.entry.family

    @property
    def capabilities(self) -> dict[str, Any]:
        return self.entry.capabilities


class Registry:
    """All families found along a search path, compiled once."""

    def __init__(self, dirs: Iterable[str | Path] = (), strict: bool = True) -> None:
        self.dirs = spec_dirs(dirs)
        documents, problems = load_documents(self.dirs)
        self.families: list[Family] = []
        for doc in documents:
            collected = Problems(doc.path)
            family = compile_family(doc, collected)
            problems += collected.items
            self.families.append(family)
        self._exact: dict[str, list[ModelEntry]] = {}
        self._patterns: list[ModelEntry] = []
        for family in self.families:
            for entry in family.models:
                if entry.regex is None:
                    self._exact.setdefault(entry.pattern, []).append(entry)
                else:
                    self._patterns.append(entry)
            for alias, target in family.aliases.items():
                self._exact.setdefault(alias, []).extend(e for e in family.models if e.pattern == target)
        self._patterns.sort(key=lambda e: (-e.specificity, -constrained(e)))
        problems += self._ambiguities()
        self.problems = problems
        if strict and problems:
            raise SpecError(problems)
        self.resolve = lru_cache(maxsize=4096)(self._resolve)

    def _ambiguities(self) -> list[str]:
        problems = []
        for name, entries in self._exact.items():
            _check_pair_list(name, entries, problems)
        for i, a in enumerate(self._patterns):
            for b in self._patterns[i + 1 :]:
                if a.family is b.family or rank(a) != rank(b):
                    continue
                shared = _shared_operations(a, b)
                if shared and (a.regex.match(_example(b.pattern)) or b.regex.match(_example(a.pattern))):
                    problems.append(
                        f"{a.family.path}: model pattern {a.pattern!r} and {b.pattern!r} in {b.family.path} "
                        f"can claim the same names for {', '.join(sorted(shared))} with equal specificity"
                    )
        return problems

    def _resolve(self, model: str, operation: str) -> Resolved:
        name = strip_provider(model)
        for entry in self._exact.get(name, ()):
            if entry.supports(operation):
                return Resolved(entry, name, entry.capabilities.get("upstream_model", entry.pattern), ())
        for entry in self._patterns:
            if entry.supports(operation) and (m := entry.regex.match(name)):
                captures = tuple(m.groupdict().items())
                return Resolved(entry, name, entry.capabilities.get("upstream_model", name), captures)
        raise NotFoundError(
            f"no spec serves model {model!r} for {operation}; known families: "
            + ", ".join(f.name for f in self.families if operation in f.operations),
            model=model,
            status_code=404,
        )

    def models(self) -> list[ModelEntry]:
        return [entry for family in self.families for entry in family.models]


_warned: set[tuple[str, str]] = set()


def warn_if_retired(resolved: Resolved) -> None:
    """Log once per model that the spec marks it retired: old projects may still reach it, new ones get a 404."""
    caps = resolved.capabilities
    if not caps.get("retired"):
        return
    key = (resolved.family.name, resolved.name)
    if key in _warned:
        return
    _warned.add(key)
    note = caps.get("retired_note")
    log.warning(
        "%s is marked retired in the %s spec%s; calls may fail with 404 (see `vertexlate models`)",
        resolved.name,
        resolved.family.name,
        f" ({note})" if note else "",
    )


def _shared_operations(a: ModelEntry, b: ModelEntry) -> set[str]:
    ops_a = {o for o in a.family.operations if a.supports(o)}
    return {o for o in b.family.operations if b.supports(o)} & ops_a


def _check_pair_list(name: str, entries: list[ModelEntry], problems: list[str]) -> None:
    for i, a in enumerate(entries):
        for b in entries[i + 1 :]:
            shared = _shared_operations(a, b)
            if shared:
                problems.append(
                    f"{a.family.path}: model {name!r} is claimed for {', '.join(sorted(shared))} "
                    f"by both {a.family.name} and {b.family.name} ({b.family.path})"
                )


_SAMPLES = ("x1", "123", "20260101")  # capture values to try: a bare one, digits, a date


def _example(pattern: str) -> str:
    """A concrete name a pattern matches, to test whether another pattern matches it too.

    A capture with its own regex gets the first sample value it accepts, so two ``{id:[0-9]+}``
    patterns of different families are still found to overlap.
    """

    def fill(match: re.Match[str]) -> str:
        regex = match.group(2)
        return next((v for v in _SAMPLES if regex is None or re.fullmatch(regex, v)), "x1")

    return _PLACEHOLDER.sub(fill, pattern).replace("*", "x")


def strip_provider(model: str) -> str:
    for prefix in PROVIDER_PREFIXES:
        if model.startswith(prefix):
            return model[len(prefix) :]
    return model


_default: Registry | None = None
_extra_dirs: list[Path] = []
_lock = threading.Lock()


def default_registry() -> Registry:
    """The process-wide registry, built on first use (never at import)."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = Registry(_extra_dirs)
    return _default


def add_spec_dir(path: str | Path) -> None:
    """Add a directory of user specs ahead of the built-in ones; takes effect on the next call."""
    global _default
    with _lock:
        _extra_dirs.insert(0, Path(path))
        _default = None


def reset() -> None:
    """Forget the compiled specs and user directories (tests, long-running tools)."""
    global _default
    with _lock:
        _extra_dirs.clear()
        _default = None
