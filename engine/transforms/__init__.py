"""Named transforms: the few translations that data alone cannot say.

Each transform is a small pure function registered under a name and referenced
from a spec (``transform: gemini_contents``). Keeping them here, in one place,
means family-specific code never leaks into the generic engine. Signatures by use:

- parameter (``params.<name>.transform``): ``fn(value, ctx) -> value`` placed at the
  parameter's ``to`` path, or a body fragment deep-merged into the body when the
  parameter has no ``to``;
- request ``finalize``: ``fn(body, ctx) -> body``;
- extractor (``response.*.transform``): ``fn(value) -> value``;
- response ``finalize``: ``fn(obj, raw, ctx) -> obj``.

``ctx`` is an :class:`engine.request.RequestContext`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any, TypeVar

_REGISTRY: dict[str, Callable[..., Any]] = {}
_loaded = False

F = TypeVar("F", bound=Callable[..., Any])


def register(name: str) -> Callable[[F], F]:
    """Decorator: make ``fn`` available to specs under ``name``."""

    def decorate(fn: F) -> F:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"transform {name!r} registered twice")
        _REGISTRY[name] = fn
        return fn

    return decorate


def _load_all() -> None:
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True


def get(name: str) -> Callable[..., Any] | None:
    _load_all()
    return _REGISTRY.get(name)


def names() -> list[str]:
    _load_all()
    return list(_REGISTRY)
