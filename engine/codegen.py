"""Extractor sections generated as one Python function each, with ``compile()``, at spec load.

Why: a stream event runs every extractor of its spec's sections (about 30 for a Gemini event).
As closures (engine/jmes.py) each JMESPath node is a Python call, and a section adds one more
call per extractor and per post-processing step; those calls were most of the CPU spent
normalizing an event. Here a section's extractors become the straight-line body of one
function: field chains are inline ``dict.get`` lookups, projections and filters inline loops,
a guard chain shared by several extractors (engine/jmes.py ``guard_of``) is looked up once and
its value is where their paths start, and ``join``/``map``/``default``/``transform`` are inline.

Every node is translated to exactly what its closure in engine/jmes.py does (which follows the
reference interpreter); node types without a translation here (slices, most functions,
ordering comparisons...) call that closure, so every valid expression still works. The
source is built from the spec's expressions only (field names and literals go in as ``repr``
or as bound constants, never as code). tests/core/test_codegen.py checks generated against
closures over every fixture and generated documents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import jmespath

from engine import jmes

Node = dict[str, Any]


class ExtractorLike(Protocol):
    """What :func:`section_function` needs of an extractor (engine/compiler.py ``Extractor``)."""

    join: str | None
    table: dict[str, Any] | None
    default: Any
    transform: Callable[[Any], Any] | None
    keeps_null: bool  # the transform maps null to null, so it need not be called on null

    @property
    def expression(self) -> str: ...


_MAX_DEPTH = 60  # indentation levels; deeper nesting calls the closure instead (Python's parser stops at 100)
_MAX_LOOPS = 12  # nested ``for`` loops; deeper ones call the closure (CPython allows 20 nested blocks)


class _Source:
    """Lines of the function being generated, its constants, and fresh variable names."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {"_is_false": jmes._is_false, "_equals": jmes._equals}
        self.count = 0
        self.bound: dict[tuple[str, ...], str] = {}  # field chains from the root already in a variable
        self.loops = 0  # ``for`` loops open around the line being generated

    def var(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def constant(self, value: Any) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def add(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)


ROOT = "data"


def _falsy(name: str) -> str:
    """JMESPath falsiness of variable ``name`` (engine/jmes.py ``_is_false``), as an expression."""
    return f'({name} is None or {name} is False or {name} == "" or {name} == [] or {name} == {{}})'


def _chain(src: _Source, names: tuple[str, ...], start: str, out: str, depth: int) -> None:
    """``out = start.a.b...``: ``dict.get`` while the value is a dict, else null (``_subexpression``'s chain)."""
    if start == ROOT:
        for end in range(len(names), 0, -1):
            bound = src.bound.get(names[:end])
            if bound is not None:
                start, names = bound, names[end:]
                break
    if not names:
        src.add(depth, f"{out} = {start}")
        return
    test = "data_is_dict" if start == ROOT else f"isinstance({start}, dict)"  # the root's type: tested once
    src.add(depth, f"{out} = {start}.get({names[0]!r}) if {test} else None")
    for name in names[1:]:
        src.add(depth, f"{out} = {out}.get({name!r}) if isinstance({out}, dict) else None")


def _closure(src: _Source, node: Node, data: str, out: str, depth: int) -> None:
    src.add(depth, f"{out} = {src.constant(jmes._compile(node))}({data})")


def emit(src: _Source, node: Node, data: str, out: str, depth: int) -> None:
    """Lines at ``depth`` that set variable ``out`` to ``node`` evaluated on variable ``data``."""
    kind = node["type"]
    loops = kind in ("projection", "filter_projection", "flatten", "function_expression")
    if depth > _MAX_DEPTH or (loops and src.loops >= _MAX_LOOPS):
        return _closure(src, node, data, out, depth)
    if loops:
        src.loops += 2  # a projection over a flatten opens two
        try:
            return _emit(src, node, data, out, depth)
        finally:
            src.loops -= 2
    return _emit(src, node, data, out, depth)


def _emit(src: _Source, node: Node, data: str, out: str, depth: int) -> None:
    kind, children = node["type"], node["children"]
    if kind == "field":
        return _chain(src, (node["value"],), data, out, depth)
    if kind == "subexpression":
        if all(child["type"] == "field" for child in children):
            return _chain(src, tuple(child["value"] for child in children), data, out, depth)
        emit(src, children[0], data, out, depth)
        for child in children[1:]:  # each step only while the result is not null
            src.add(depth, f"if {out} is not None:")
            depth += 1
            step = src.var()
            emit(src, child, out, step, depth)
            src.add(depth, f"{out} = {step}")
        return None
    if kind in ("current", "identity"):
        return src.add(depth, f"{out} = {data}")
    if kind == "literal":
        return src.add(depth, f"{out} = {src.constant(node['value'])}")
    if kind == "projection":
        return _projection(src, children[0], children[1], None, data, out, depth)
    if kind == "filter_projection":
        return _projection(src, children[0], children[1], children[2], data, out, depth)
    if kind == "flatten":
        items, item = src.var(), src.var()
        emit(src, children[0], data, items, depth)
        src.add(depth, f"if isinstance({items}, list):")
        src.add(depth + 1, f"{out} = []")
        src.add(depth + 1, f"for {item} in {items}:")
        src.add(depth + 2, f"if isinstance({item}, list):")
        src.add(depth + 3, f"{out}.extend({item})")
        src.add(depth + 2, "else:")
        src.add(depth + 3, f"{out}.append({item})")
        src.add(depth, "else:")
        return src.add(depth + 1, f"{out} = None")
    if kind == "comparator":
        if node["value"] not in ("eq", "ne"):
            return _closure(src, node, data, out, depth)  # ordering: the reference type rules
        return src.add(depth, f"{out} = {_truth(src, node, data, depth)}")
    if kind == "not_expression":
        return src.add(depth, f"{out} = not ({_truth(src, children[0], data, depth)})")
    if kind in ("and_expression", "or_expression"):
        first = src.var()
        emit(src, children[0], data, first, depth)
        src.add(depth, f"if {'not ' if kind == 'and_expression' else ''}{_falsy(first)}:")
        emit(src, children[1], data, out, depth + 1)
        src.add(depth, "else:")
        return src.add(depth + 1, f"{out} = {first}")
    if kind in ("multi_select_hash", "multi_select_dict", "multi_select_list"):
        src.add(depth, f"if {data} is None:")
        src.add(depth + 1, f"{out} = None")
        src.add(depth, "else:")
        parts = []
        for child in children:
            value = src.var()
            emit(src, child["children"][0] if kind != "multi_select_list" else child, data, value, depth + 1)
            parts.append(f"{child['value']!r}: {value}" if kind != "multi_select_list" else value)
        opened, closed = ("[", "]") if kind == "multi_select_list" else ("{", "}")
        return src.add(depth + 1, f"{out} = {opened}{', '.join(parts)}{closed}")
    if kind == "pipe":
        left = src.var()
        emit(src, children[0], data, left, depth)
        return emit(src, children[1], left, out, depth)
    if kind == "index":
        return _index(src, node["value"], data, out, depth)
    if kind == "index_expression":
        left = src.var()
        if children[1]["type"] == "index":
            if children[0]["type"] in ("identity", "current"):
                return _index(src, children[1]["value"], data, out, depth)
            emit(src, children[0], data, left, depth)
            return _index(src, children[1]["value"], left, out, depth)
        emit(src, children[0], data, left, depth)
        return emit(src, children[1], left, out, depth)
    if (
        kind == "function_expression"
        and node["value"] == "map"
        and len(children) == 2
        and children[0]["type"] == "expref"
    ):
        items, item, value = src.var(), src.var(), src.var()
        emit(src, children[1], data, items, depth)
        src.add(depth, f"if not isinstance({items}, list):")
        call = src.constant(jmes._INTERPRETER._functions.call_function)
        src.add(depth + 1, f"{out} = {call}('map', [None, {items}])")  # the reference's type error
        src.add(depth, "else:")
        src.add(depth + 1, f"{out} = []")
        src.add(depth + 1, f"for {item} in {items}:")
        emit(src, children[0]["children"][0], item, value, depth + 2)
        return src.add(depth + 2, f"{out}.append({value})")  # map keeps nulls
    return _closure(src, node, data, out, depth)


def _projection(
    src: _Source, base: Node, project: Node, keep: Node | None, data: str, out: str, depth: int
) -> None:
    """``base[*].project`` / ``base[?keep].project``: the non-null results over a list, else null."""
    items, item = src.var(), src.var()
    flat = base["type"] == "flatten"
    if flat:  # ``x[]`` then a projection (``candidates[].field``): one loop over the flattened elements
        emit(src, base["children"][0], data, items, depth)
        element = src.var()
        each = f"({element} if isinstance({element}, list) else ({element},))"
        loops = [f"for {element} in {items}:", f"for {item} in {each}:"]
    else:
        emit(src, base, data, items, depth)
        loops = [f"for {item} in {items}:"]
    src.add(depth, f"if isinstance({items}, list):")
    if keep is None and project["type"] in ("identity", "current"):
        comprehension = " ".join(loop[:-1] for loop in loops)
        src.add(depth + 1, f"{out} = [{item} {comprehension} if {item} is not None]")
    else:
        src.add(depth + 1, f"{out} = []")
        for number, loop in enumerate(loops):
            src.add(depth + 1 + number, loop)
        inner = depth + 1 + len(loops)
        if keep is not None:
            src.add(inner, f"if {_truth(src, keep, item, inner)}:")
            inner += 1
        value = src.var()
        emit(src, project, item, value, inner)
        src.add(inner, f"if {value} is not None:")
        src.add(inner + 1, f"{out}.append({value})")
    src.add(depth, "else:")
    src.add(depth + 1, f"{out} = None")


def _truth(src: _Source, node: Node, data: str, depth: int) -> str:
    """An expression whose Python truth is the JMESPath truth of ``node`` on ``data`` (lines first)."""
    kind, children = node["type"], node["children"]
    if kind == "comparator" and node["value"] in ("eq", "ne"):
        left, literal = children
        value = src.var()
        emit(src, left, data, value, depth)
        if literal["type"] == "literal" and isinstance(literal["value"], (str, bool)):
            # A string or boolean literal: Python's == for a string, identity for a boolean (true != 1).
            op = ("is" if node["value"] == "eq" else "is not") if isinstance(literal["value"], bool) else None
            if op is None:
                op = "==" if node["value"] == "eq" else "!="
            return f"({value} {op} {literal['value']!r})"
        right = src.var()
        emit(src, literal, data, right, depth)
        return f"({'' if node['value'] == 'eq' else 'not '}_equals({value}, {right}))"
    if kind == "not_expression":
        return f"(not {_truth(src, children[0], data, depth)})"
    value = src.var()
    emit(src, node, data, value, depth)
    return f"(not {_falsy(value)})"


def _index(src: _Source, position: int, data: str, out: str, depth: int) -> None:
    """``data[position]`` of a list (negative from the end), null when out of range or not a list."""
    bound = f"len({data}) > {position}" if position >= 0 else f"len({data}) >= {-position}"
    src.add(depth, f"{out} = {data}[{position}] if isinstance({data}, list) and {bound} else None")


def _post(src: _Source, ex: ExtractorLike, value: str, depth: int) -> None:
    """The extractor's ``join``, ``map``, ``default`` and ``transform`` (engine/compiler.py ``Extractor._steps``)."""
    join, table, default, transform = ex.join, ex.table, ex.default, ex.transform
    if join is not None:
        item = src.var()
        src.add(depth, f"if isinstance({value}, list):")
        src.add(depth + 1, f"if not {value}:")
        src.add(depth + 2, f"{value} = None")
        src.add(depth + 1, "else:")
        src.add(depth + 2, "try:")  # all strings, the usual case: joined as they are (no str() per item)
        src.add(depth + 3, f"{value} = {join!r}.join({value})")
        src.add(depth + 2, "except TypeError:")
        src.add(
            depth + 3, f"{value} = {join!r}.join([str({item}) for {item} in {value} if {item} is not None])"
        )
    if table is not None:
        src.add(depth, f"if {value} is not None:")
        src.add(depth + 1, f"{value} = {src.constant(table)}.get({value}, {src.constant(default)})")
    if default is not None:
        src.add(depth, f"if {value} is None:")
        src.add(depth + 1, f"{value} = {src.constant(default)}")
    if transform is not None:
        call = f"{value} = {src.constant(transform)}({value})"
        if ex.keeps_null:
            src.add(depth, f"if {value} is not None:")
            src.add(depth + 1, call)
        else:
            src.add(depth, call)


def section_function(
    extractors: dict[str, ExtractorLike], checks: tuple[tuple[str, ...], ...], plan: tuple[int, ...]
) -> Callable[[Any], dict[str, Any]] | None:
    """One function doing what engine/compiler.py ``Section.__call__`` does for these extractors.

    ``checks`` are the guard chains looked up once; ``plan[i]`` the check the i-th extractor
    needs present (-1: none). The function returns the non-null values by name, in order.
    None when CPython cannot compile the source (the caller keeps the closures).
    """
    src = _Source()
    depth = 1
    src.add(depth, f"data_is_dict = isinstance({ROOT}, dict)")
    for number, chain in enumerate(checks):
        name = f"g{number}"
        _chain(src, chain, ROOT, name, depth)
        src.bound[chain] = name
    src.add(depth, "out = {}")
    previous = -1
    for (key, ex), check in zip(extractors.items(), plan, strict=True):
        inner = depth
        if check >= 0:
            if check != previous:  # neighbours under the same guard share its test
                src.add(depth, f"if g{check} is not None:")
            inner += 1
        previous = check
        value = src.var()
        emit(src, jmespath.compile(ex.expression).parsed, ROOT, value, inner)
        _post(src, ex, value, inner)
        src.add(inner, f"if {value} is not None:")
        src.add(inner + 1, f"out[{key!r}] = {value}")
    src.add(depth, "return out")
    text = "def section(data):\n" + "\n".join(src.lines) + "\n"
    namespace = dict(src.constants)
    try:
        code = compile(text, "<extractor section>", "exec")
    except (SyntaxError, RecursionError, MemoryError):
        return None  # beyond what CPython compiles (the limits above make this unlikely): the closures run
    exec(code, namespace)  # noqa: S102 - source built from the spec above
    function: Callable[[Any], dict[str, Any]] = namespace["section"]
    function.source = text  # type: ignore[attr-defined]  # for tests and for reading what a spec became
    return function
