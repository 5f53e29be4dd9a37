"""JMESPath expressions compiled to Python closures, once, at spec-load time.

``jmespath.compile(expr).search(data)`` walks the parsed tree through a generic
visitor on every call (and builds a new interpreter each time). Response
extraction runs a dozen expressions per reply, so the common node types (fields,
sub-expressions, projections, filters, comparisons, boolean logic, literals,
multi-select hashes, pipes, indexes) are turned into nested closures here, following
the reference interpreter's semantics exactly. Anything else (most functions,
slices...) runs through one shared ``jmespath`` interpreter, so every valid
expression works.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jmespath
import jmespath.visitor

Getter = Callable[[Any], Any]

_INTERPRETER = jmespath.visitor.TreeInterpreter()


def compile_expression(expression: str) -> Getter:
    """Parse (raising ``jmespath.exceptions.JMESPathError`` when invalid) and compile."""
    return _compile(jmespath.compile(expression).parsed)


def _is_false(value: Any) -> bool:
    return value == "" or value == [] or value == {} or value is None or value is False


def _equals(x: Any, y: Any) -> bool:
    # JMESPath: true != 1 even though Python says True == 1.
    if isinstance(x, bool) != isinstance(y, bool) and (
        isinstance(x, (int, float)) or isinstance(y, (int, float))
    ):
        return False
    return x == y


def _fallback(node: dict[str, Any]) -> Getter:
    visit = _INTERPRETER.visit
    return lambda data: visit(node, data)


def _field(node: dict[str, Any]) -> Getter:
    name = node["value"]

    def get(data: Any) -> Any:
        return data.get(name) if isinstance(data, dict) else None

    return get


def _subexpression(node: dict[str, Any]) -> Getter:
    steps = [_compile(child) for child in node["children"]]
    if all(child["type"] == "field" for child in node["children"]):
        names = tuple(child["value"] for child in node["children"])

        def chain(data: Any) -> Any:
            for name in names:
                if not isinstance(data, dict):
                    return None
                data = data.get(name)
            return data

        return chain
    first, rest = steps[0], steps[1:]

    def sub(data: Any) -> Any:
        result = first(data)
        for step in rest:
            if result is None:
                return None
            result = step(result)
        return result

    return sub


def _projection(node: dict[str, Any]) -> Getter:
    base, project = _compile(node["children"][0]), _compile(node["children"][1])

    def proj(data: Any) -> Any:
        items = base(data)
        if not isinstance(items, list):
            return None
        return [v for v in map(project, items) if v is not None]

    return proj


def _filter_projection(node: dict[str, Any]) -> Getter:
    base, project, keep = (_compile(child) for child in node["children"])

    def filt(data: Any) -> Any:
        items = base(data)
        if not isinstance(items, list):
            return None
        out = []
        for item in items:
            if not _is_false(keep(item)):
                value = project(item)
                if value is not None:
                    out.append(value)
        return out

    return filt


def _flatten(node: dict[str, Any]) -> Getter:
    base = _compile(node["children"][0])

    def flat(data: Any) -> Any:
        items = base(data)
        if not isinstance(items, list):
            return None
        out: list[Any] = []
        for item in items:
            if isinstance(item, list):
                out.extend(item)
            else:
                out.append(item)
        return out

    return flat


def _comparator(node: dict[str, Any]) -> Getter:
    left, right = (_compile(child) for child in node["children"])
    literal = node["children"][1]
    if (
        node["value"] in ("eq", "ne")
        and literal["type"] == "literal"
        and isinstance(literal["value"], (str, bool))
    ):
        # A string or boolean literal on the right (``[?thought == `true`]``, ``[?modality=='TEXT']``), the
        # common filter: JMESPath equality with it is Python's ``==`` for a string, identity for a boolean
        # (``true != 1``), so no _equals call per item.
        value, negate = literal["value"], node["value"] == "ne"
        if isinstance(value, bool):
            return (lambda data: left(data) is not value) if negate else (lambda data: left(data) is value)
        return (lambda data: left(data) != value) if negate else (lambda data: left(data) == value)
    if node["value"] == "eq":
        return lambda data: _equals(left(data), right(data))
    if node["value"] == "ne":
        return lambda data: not _equals(left(data), right(data))
    return _fallback(node)  # ordering comparisons: keep the reference type rules


def _and(node: dict[str, Any]) -> Getter:
    left, right = (_compile(child) for child in node["children"])

    def both(data: Any) -> Any:
        first = left(data)
        return first if _is_false(first) else right(data)

    return both


def _or(node: dict[str, Any]) -> Getter:
    left, right = (_compile(child) for child in node["children"])

    def either(data: Any) -> Any:
        first = left(data)
        return right(data) if _is_false(first) else first

    return either


def _not(node: dict[str, Any]) -> Getter:
    inner = _compile(node["children"][0])
    return lambda data: _is_false(inner(data))


def _literal(node: dict[str, Any]) -> Getter:
    value = node["value"]
    return lambda data: value


def _current(node: dict[str, Any]) -> Getter:
    return lambda data: data


def _multi_select_hash(node: dict[str, Any]) -> Getter:
    pairs = [(pair["value"], _compile(pair["children"][0])) for pair in node["children"]]

    def select(data: Any) -> Any:
        if data is None:
            return None
        return {key: get(data) for key, get in pairs}

    return select


def _function(node: dict[str, Any]) -> Getter:
    name, children = node["value"], node["children"]
    call = _INTERPRETER._functions.call_function  # the reference implementation, with its type checks
    if name == "map" and len(children) == 2 and children[0]["type"] == "expref":
        apply, items = _compile(children[0]["children"][0]), _compile(children[1])

        def mapped(data: Any) -> Any:
            values = items(data)
            if not isinstance(values, list):
                return call(name, [None, values])  # the reference's type error
            return [apply(item) for item in values]

        return mapped
    if any(child["type"] == "expref" for child in children):
        return _fallback(node)  # sort_by, max_by, ...: expression references need the interpreter
    args = [_compile(child) for child in children]
    if name == "sum" and len(args) == 1:
        (values,) = args

        def total(data: Any) -> Any:
            items = values(data)
            if isinstance(items, list) and all(type(i) in (int, float) for i in items):
                return sum(items)
            return call(name, [items])  # the reference raises the same type error

        return total
    return lambda data: call(name, [arg(data) for arg in args])


def _multi_select_list(node: dict[str, Any]) -> Getter:
    items = [_compile(child) for child in node["children"]]
    return lambda data: None if data is None else [get(data) for get in items]


_COMPILERS: dict[str, Callable[[dict[str, Any]], Getter]] = {
    "function_expression": _function,
    "multi_select_list": _multi_select_list,
    "field": _field,
    "subexpression": _subexpression,
    "projection": _projection,
    "filter_projection": _filter_projection,
    "flatten": _flatten,
    "comparator": _comparator,
    "and_expression": _and,
    "or_expression": _or,
    "not_expression": _not,
    "literal": _literal,
    "current": _current,
    "identity": _current,
    "multi_select_hash": _multi_select_hash,
    "multi_select_dict": _multi_select_hash,  # jmespath's name for ``{key: expr, ...}``
}


def _pipe(node: dict[str, Any]) -> Getter:
    """``left | right``: the right side sees the left's whole result (a projection ends at the pipe)."""
    left, right = (_compile(child) for child in node["children"])

    def piped(data: Any) -> Any:
        return right(left(data))

    return piped


def _index(node: dict[str, Any]) -> Getter:
    position = node["value"]

    def at(data: Any) -> Any:
        if not isinstance(data, list):
            return None
        try:
            return data[position]
        except IndexError:
            return None

    return at


def _index_expression(node: dict[str, Any]) -> Getter:
    """``left[N]``: the index applied to the left's result (no projection, unlike ``[*]``)."""
    left, right = (_compile(child) for child in node["children"])
    if node["children"][1]["type"] == "index":
        position = node["children"][1]["value"]
        if node["children"][0]["type"] in ("identity", "current"):
            return _index(node["children"][1])

        def left_at(data: Any) -> Any:  # one call instead of two (``x[0]`` is common in specs)
            items = left(data)
            if not isinstance(items, list):
                return None
            try:
                return items[position]
            except IndexError:
                return None

        return left_at

    def indexed(data: Any) -> Any:
        return right(left(data))

    return indexed


_COMPILERS.update({"pipe": _pipe, "index": _index, "index_expression": _index_expression})


def _compile(node: dict[str, Any]) -> Getter:
    compiler = _COMPILERS.get(node["type"])
    return compiler(node) if compiler is not None else _fallback(node)


def guard_of(expression: str) -> tuple[str, ...]:
    """The field chain without which ``expression`` is null: ``()`` when there is none.

    ``usageMetadata.promptTokensDetails[?modality=='TEXT'].tokenCount | [0]`` is null whenever
    ``usageMetadata.promptTokensDetails`` is: a stream event runs dozens of extractors, most of
    them under a few such chains, so one lookup of a missing chain skips them all
    (engine/compiler.py, ``Section``). Only node types whose compiled form above passes a null
    through as null count; anything else (literals, functions, ``||``, ``!``, comparisons) has no guard.
    """
    return _guard(jmespath.compile(expression).parsed)


def _guard(node: dict[str, Any]) -> tuple[str, ...]:
    kind, children = node["type"], node["children"]
    if kind == "field":
        return (node["value"],)
    if kind == "subexpression":
        if all(child["type"] == "field" for child in children):
            return tuple(child["value"] for child in children)
        return _guard(children[0])  # the compiled step chain stops at the first null
    if kind in ("projection", "filter_projection", "flatten", "and_expression"):
        return _guard(children[0])  # a null base projects to null; ``null && x`` is null
    if kind in ("index_expression", "pipe"):
        return _guard(children[0]) if _keeps_null(children[1]) else ()
    return ()


def _keeps_null(node: dict[str, Any]) -> bool:
    """Whether the compiled ``node`` maps a null input to null."""
    kind, children = node["type"], node["children"]
    if kind in ("field", "index", "identity", "current", "multi_select_hash", "multi_select_dict"):
        return True
    if kind == "multi_select_list":
        return True
    if kind in ("subexpression", "projection", "filter_projection", "flatten", "and_expression"):
        return _keeps_null(children[0])
    if kind in ("index_expression", "pipe"):
        return _keeps_null(children[0]) and _keeps_null(children[1])
    return False
