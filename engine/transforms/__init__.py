"""Named transforms: the few translations that data alone cannot say.

Each transform is a small pure function registered under a name and a *kind* and
referenced from a spec (``transform: gemini_contents``). Keeping them here, in one place,
means family-specific code never leaks into the generic engine. The kind says where a
spec may use the transform, and the compiler refuses any other place (a response
finalize named as a parameter transform would otherwise fail on every call, looking
like an upstream fault). Kinds and signatures:

- ``param`` (``params.<name>.transform``): ``fn(value, ctx) -> value`` placed at the
  parameter's ``to`` path, or a body fragment deep-merged into the body when the
  parameter has no ``to``;
- ``request_finalize`` (``request.finalize``): ``fn(body, ctx) -> body``;
- ``extractor`` (``response.*.transform``, ``{path, transform}`` extractors): ``fn(value) -> value``;
- ``response_finalize`` (``response.finalize`` and ``stream.finalize``): ``fn(obj, raw, ctx) -> obj``
  (``raw`` is ``None`` for a stream, whose answer is assembled from its chunks);
- ``chunk_finalize`` (``stream.chunk_finalize``): ``fn(chunk, ctx) -> chunk`` on every streamed chunk.

A request finalize that adds URL template variables to ``ctx.url_vars`` declares their
names (``url_vars=("object",)``), so the compiler knows URL templates may use them.
``ctx`` is an :class:`engine.request.RequestContext`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any, TypeVar

PARAM = "param"
REQUEST_FINALIZE = "request_finalize"
EXTRACTOR = "extractor"
RESPONSE_FINALIZE = "response_finalize"
CHUNK_FINALIZE = "chunk_finalize"

# Kind -> the signature it is called with (for messages).
KINDS: dict[str, str] = {
    PARAM: "fn(value, ctx)",
    REQUEST_FINALIZE: "fn(body, ctx)",
    EXTRACTOR: "fn(value)",
    RESPONSE_FINALIZE: "fn(obj, raw, ctx)",
    CHUNK_FINALIZE: "fn(chunk, ctx)",
}

_REGISTRY: dict[str, Callable[..., Any]] = {}
_KIND: dict[str, str | None] = {}
_URL_VARS: dict[str, tuple[str, ...]] = {}
_KEEPS_NULL: set[str] = set()
_loaded = False

F = TypeVar("F", bound=Callable[..., Any])


def register(
    name: str, kind: str | None = None, url_vars: tuple[str, ...] = (), keeps_null: bool = False
) -> Callable[[F], F]:
    """Decorator: make ``fn`` available to specs under ``name``, for places of ``kind``.

    A transform registered without a kind is reported by the spec validator wherever a
    spec names it (declare one of :data:`KINDS`). An extractor transform that returns null
    for null declares ``keeps_null=True``: extractor sections then skip it, with its path,
    on events lacking the path's parts (engine/compiler.py ``Section``; checked for every such
    transform by tests/core/test_codegen.py).
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"transform {name!r}: unknown kind {kind!r} (known: {', '.join(KINDS)})")

    def decorate(fn: F) -> F:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"transform {name!r} registered twice")
        _REGISTRY[name] = fn
        _KIND[name] = kind
        _URL_VARS[name] = tuple(url_vars)
        if keeps_null:
            _KEEPS_NULL.add(name)
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


def kind_of(name: str) -> str | None:
    """The declared kind of transform ``name`` (None: unknown transform or no kind declared)."""
    _load_all()
    return _KIND.get(name)


def url_vars_of(name: str) -> tuple[str, ...]:
    """URL template variables transform ``name`` adds to ``ctx.url_vars``."""
    _load_all()
    return _URL_VARS.get(name, ())


def keeps_null(name: str) -> bool:
    """Whether transform ``name`` declared that it maps null to null."""
    _load_all()
    return name in _KEEPS_NULL


def names(kind: str | None = None) -> list[str]:
    """Registered names, optionally only those of one kind."""
    _load_all()
    return [n for n in _REGISTRY if kind is None or _KIND.get(n) == kind]
