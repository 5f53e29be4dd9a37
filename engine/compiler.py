"""Turn validated spec data into compiled, ready-to-run objects.

Everything expensive happens here, once per process: Jinja2 templates are
compiled, JMESPath expressions parsed, model-name patterns turned into regular
expressions, named transforms looked up. The per-request path only renders,
searches and looks up. Compilation also is the deepest check of a spec: a template
that does not compile or a transform that does not exist is reported with the
file, line and key, and collected rather than raised one at a time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jmespath.exceptions

from engine import transforms, url_template
from engine.codegen import section_function
from engine.errors import APIError, InternalServerError, error_class
from engine.jmes import compile_expression, guard_of
from engine.loader import SpecDocument, where
from engine.redact import short

# Body and header templates insert values as they are; URL templates encode them (engine/url_template.py).
_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
_URL_JINJA = url_template.environment()
_GLOBALS = frozenset(_JINJA.globals)

# The names every template may use (specs/README.md, "Template variables"), besides the
# family's and model's ``vars``, the model pattern's captures, the operation's ``url_var``
# parameters and what its request finalize transforms add; ``fetch.url`` also sees ``item``.
BASE_VARIABLES = frozenset({"model", "project", "location", "caps"})
_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^}]+))?\}")


class Problems:
    """Collects compile problems with their location instead of stopping at the first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, keys: list[Any], message: str) -> None:
        self.items.append(f"{where(self.path, keys)}: {message}")


# --------------------------------------------------------------------------- compiled pieces


@dataclass
class Template:
    source: str
    compiled: jinja2.Template
    variables: frozenset[str]
    keys: tuple[Any, ...] = ()  # where the template sits in its spec, for errors
    origin: str = ""  # the spec file's name

    def render(self, context: dict[str, Any]) -> str:
        """Render; a failure is a typed engine error naming the template, never a jinja2 exception."""
        try:
            return self.compiled.render(context)
        except APIError:
            raise  # e.g. a URL value refused by the URL template language
        except Exception as exc:
            place = f"{self.origin}: {'.'.join(map(str, self.keys))}"
            raise InternalServerError(
                f"spec template {place} could not be rendered ({type(exc).__name__}: "
                f"{short(str(exc), 200)}); `vertexlate validate` checks templates"
            ) from None


@dataclass
class Extractor:
    """A JMESPath expression plus the small post-processing a spec can ask for."""

    path: Expression
    join: str | None = None
    table: dict[str, Any] | None = None
    default: Any = None
    transform: Callable[[Any], Any] | None = None
    keeps_null: bool = False  # the transform maps null to null (registered ``keeps_null=True``)

    def __post_init__(self) -> None:
        # Most extractors are a bare path: they skip the checks below (they run per stream event).
        self._plain = (
            self.join is None and self.table is None and self.default is None and self.transform is None
        )
        self.fn = self._specialized()

    def _specialized(self) -> Callable[[Any], Any]:
        """One closure doing only the steps this extractor has (no per-call attribute checks)."""
        search, join, table, default, transform = (
            self.path.search,
            self.join,
            self.table,
            self.default,
            self.transform,
        )
        if self._plain:
            return search
        if join is None and table is None and default is None and transform is not None:

            def transformed(data: Any) -> Any:
                return transform(search(data))

            return transformed
        if join is not None and table is None and default is None and transform is None:

            def joined(data: Any) -> Any:
                value = search(data)
                if isinstance(value, list):
                    return join.join(str(v) for v in value if v is not None) if value else None
                return value

            return joined
        if table is not None and join is None and transform is None:

            def mapped(data: Any) -> Any:
                value = search(data)
                if value is not None:
                    value = table.get(value, default)
                return default if value is None else value  # a null map value takes the default too

            return mapped
        return self._steps

    def __call__(self, data: Any) -> Any:
        return self.fn(data)

    def _steps(self, data: Any) -> Any:
        value = self.path.search(data)
        if self.join is not None and isinstance(value, list):
            value = self.join.join(str(v) for v in value if v is not None) if value else None
        if self.table is not None and value is not None:
            value = self.table.get(value, self.default)
        if value is None:
            value = self.default
        if self.transform is not None:
            value = self.transform(value)
        return value

    @property
    def expression(self) -> str:
        return self.path.expression

    @property
    def guard(self) -> tuple[str, ...]:
        """A field chain whose absence makes this extractor's value null (``()``: none known).

        Extractors with a ``default`` have none, nor those whose transform may turn null into a
        value; a transform registered ``keeps_null=True`` (engine/transforms) does not.
        """
        if self.default is not None or (self.transform is not None and not self.keeps_null):
            return ()
        return guard_of(self.path.expression)


class Section:
    """Several extractors run together on one object, as one call: the non-null values by name.

    Why: a stream event runs every extractor of its spec (about 30 for a Gemini event), most of
    them on parts the event lacks. Extractors sharing a guard (engine/jmes.py ``guard_of``: a
    field chain without which they are null) are skipped together after one lookup of it; the
    rest call their compiled path directly. Values come in the spec's order; a null one is left
    out (every reader treats a missing name as null).
    """

    __slots__ = ("_checks", "_plan", "function")

    def __init__(self, extractors: dict[str, Extractor]) -> None:
        guards = {name: ex.guard for name, ex in extractors.items()}
        prefixes: dict[tuple[str, ...], int] = {}
        for guard in guards.values():
            for end in range(1, len(guard) + 1):
                prefixes[guard[:end]] = prefixes.get(guard[:end], 0) + 1
        checks: list[tuple[str, ...]] = []
        plan: list[tuple[str, Callable[[Any], Any], int]] = []
        for name, ex in extractors.items():
            guard = guards[name]
            # The longest prefix of its guard that other extractors share: one lookup skips them all.
            shared = next((guard[:end] for end in range(len(guard), 0, -1) if prefixes[guard[:end]] > 1), ())
            if shared and shared not in checks:
                checks.append(shared)
            plan.append((name, ex.fn, checks.index(shared) if shared else -1))
        self._checks = tuple(checks)
        self._plan = tuple(plan)
        # The same work as one generated function (engine/codegen.py): what the stream path calls.
        generated = section_function(extractors, self._checks, tuple(check for _, _, check in plan))
        self.function: Callable[[Any], dict[str, Any]] = generated if generated is not None else self.__call__

    def __call__(self, data: Any) -> dict[str, Any]:
        """The reference form (the generated :attr:`function` must agree: tests/core/test_codegen.py)."""
        present = []
        for chain in self._checks:
            value = data
            for key in chain:
                value = value.get(key) if isinstance(value, dict) else None
            present.append(value is not None)
        out = {}
        for name, fn, check in self._plan:
            if check >= 0 and not present[check]:
                continue
            value = fn(data)
            if value is not None:
                out[name] = value
        return out


@dataclass
class Items:
    """``each`` selects a list; ``fields`` are extracted from every element."""

    each: Any
    fields: dict[str, Extractor]
    when_empty: tuple[Any, str | None] | None = None
    on_tool_calls: str | None = None

    section: Callable[[Any], dict[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.section = Section(self.fields).function  # built with the spec, never on a request


@dataclass
class ResponseSpec:
    format: str = "json"
    id: Extractor | None = None
    model: Extractor | None = None
    created: Extractor | None = None
    choices: Items | None = None
    data: Items | None = None
    usage: dict[str, Extractor] = field(default_factory=dict)
    hidden: dict[str, Extractor] = field(default_factory=dict)
    finalize: list[Callable[..., Any]] = field(default_factory=list)
    fields: dict[str, Extractor] = field(
        default_factory=dict
    )  # top-level fields of a plain object (jobs, files)
    echo: dict[str, str] = field(default_factory=dict)  # object field -> caller's parameter copied onto it

    # ``usage`` and ``hidden`` as one :class:`Section` each (stream events run them per event),
    # built with the spec, never on a request.
    usage_section: Callable[[Any], dict[str, Any]] = field(init=False, repr=False, compare=False)
    hidden_section: Callable[[Any], dict[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.usage_section = Section(self.usage).function
        self.hidden_section = Section(self.hidden).function


@dataclass
class StreamSpec:
    format: str
    done: str | None
    event_key: Any | None
    events: dict[str, ResponseSpec]
    chunk: ResponseSpec
    error_key: Any | None
    body: dict[str, Any] = field(default_factory=dict)  # static fields only streamed requests carry
    finalize: list[Callable[..., Any]] = field(default_factory=list)  # run on the whole streamed answer
    error_status: Extractor | None = None  # the HTTP status an in-stream error event stands for
    chunk_finalize: list[Callable[..., Any]] = field(default_factory=list)  # fn(chunk, ctx) on every chunk


@dataclass
class Fetch:
    """Follow-up downloads: one GET per element ``each`` selects from the first reply, at ``url``."""

    each: Expression
    url: Template


@dataclass
class Param:
    name: str
    to: tuple[str, ...] | None = None
    type: str | None = None
    min: float | None = None
    max: float | None = None
    min_from: str | None = None
    max_from: str | None = None
    enum: list[Any] | None = None
    unsupported_values: list[Any] | None = None
    table: dict[str, Any] | None = None
    map_by: str | None = None
    maps: dict[str, dict[str, Any]] | None = None
    transform: Callable[..., Any] | None = None
    default: Any = None
    default_setting: str | None = None
    requires: str | None = None
    required: bool = False
    url_var: bool = False  # the value feeds the URL template (e.g. a job id), not the body
    default_env: str | None = None
    ignore: list[Any] | None = None  # values that count as not passed (e.g. OpenAI's "auto")
    unwrap: str | None = None  # an object ``{<unwrap>: value}`` stands for ``value`` (e.g. {"effort": "low"})
    pattern: re.Pattern[str] | None = None  # the documented form of a string value (full match)
    form: str | None = None  # that form in words, for errors
    same_as: str | None = None  # the parameter this one is an alias of
    shares_target_with: tuple[
        str, ...
    ] = ()  # parameters writing the same path on purpose (both passed: refused)
    overrides: tuple[str, ...] = ()  # parameters writing the same path whose values this one's win over

    @property
    def has_default(self) -> bool:
        """Whether an absent value still needs work (a default, a setting, or a required check)."""
        return (
            self.default is not None
            or self.default_setting is not None
            or self.default_env is not None
            or self.required
        )


@dataclass
class ErrorSpec:
    message: Any | None
    status: Any | None
    by_status: dict[int, type]
    by_message: list[tuple[re.Pattern[str], type]]


@dataclass(eq=False)
class Operation:
    name: str
    method: str
    url: Template
    stream_url: Template | None
    auth: str
    headers: dict[str, Template]
    body: dict[str, Any]
    params: dict[str, Param]
    finalize: list[Callable[..., Any]]
    response: ResponseSpec
    stream: StreamSpec | None
    batch: dict[str, Any] | None
    then: str | None = None  # operation run with the same arguments after this one; its result is returned
    credentials_env: str | None = None  # env var naming a key file, used when the call passes no credentials
    expand: tuple[str, ...] = ()  # object parameters whose keys are parameters `<name>.<key>`
    url_vars: tuple[str, ...] = ()  # parameters that feed the URL template
    body_vars: frozenset[str] = frozenset()  # template variables the static body uses
    fetch: Fetch | None = None  # downloads named by the reply; their bodies are what `response` reads
    schemas: tuple[tuple[tuple[str, ...], Any], ...] = ()  # body path -> google_schema.SchemaCheck
    finalize_url_vars: frozenset[str] = frozenset()  # URL variables the request finalize transforms add
    shared_targets: tuple[tuple[str, ...], ...] = ()  # parameters writing the same `to` path, per path

    @cached_property
    def order(self) -> dict[str, int]:
        """Position of each parameter in the spec's table: the order they are applied in."""
        return {name: i for i, name in enumerate(self.params)}

    @cached_property
    def with_defaults(self) -> frozenset[str]:
        """Parameters that need work even when the caller passes nothing."""
        return frozenset(name for name, p in self.params.items() if p.has_default)

    @cached_property
    def grouped(self) -> dict[str, tuple[str, ...]]:
        """For each parameter sharing a target path, the others writing that path."""
        return {n: tuple(o for o in group if o != n) for group in self.shared_targets for n in group}

    @cached_property
    def requiring(self) -> tuple[Param, ...]:
        """Parameters accepted only when a model capability says so."""
        return tuple(p for p in self.params.values() if p.requires)


@dataclass(eq=False)
class ModelEntry:
    pattern: str
    regex: re.Pattern[str] | None  # None for an exact name
    specificity: int  # literal characters: a more specific pattern wins
    capabilities: dict[str, Any]
    vars: dict[str, Template]
    operations: frozenset[str] | None
    family: Family

    def supports(self, operation: str) -> bool:
        return operation in self.family.operations and (
            self.operations is None or operation in self.operations
        )


@dataclass(eq=False)
class Family:
    name: str
    path: Expression
    description: str
    docs: str | None
    operations: dict[str, Operation]
    models: list[ModelEntry]
    aliases: dict[str, str]
    errors: ErrorSpec
    prices: Any = None  # engine.cost.PriceTable: the spec's ``prices:`` block, compiled once


# --------------------------------------------------------------------------- compile functions


def compile_template(source: str, keys: list[Any], problems: Problems, url: bool = False) -> Template | None:
    """A compiled template; ``url``: a URL template, whose substituted values are encoded."""
    env = _URL_JINJA if url else _JINJA
    try:
        parsed = env.parse(source)
        variables = frozenset(jinja2.meta.find_undeclared_variables(parsed)) - _GLOBALS
        return Template(source, env.from_string(source), variables, tuple(keys), problems.path.name)
    except jinja2.TemplateSyntaxError as exc:
        problems.add(keys, f"template does not compile: {exc.message}")
        return None


class Expression:
    """A JMESPath expression compiled to a Python closure (engine/jmes.py)."""

    __slots__ = ("expression", "search")

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.search = compile_expression(expression)


def compile_jmespath(expr: str, keys: list[Any], problems: Problems) -> Expression | None:
    try:
        return Expression(expr)
    except jmespath.exceptions.JMESPathError as exc:
        problems.add(keys, f"JMESPath does not compile: {str(exc).splitlines()[0]}")
        return None


def lookup_transform(name: str, keys: list[Any], problems: Problems, kind: str) -> Callable[..., Any] | None:
    """The transform ``name``, which must be registered with ``kind`` (the kind of this place)."""
    fn = transforms.get(name)
    if fn is None:
        known = ", ".join(sorted(transforms.names(kind)))
        problems.add(keys, f"unknown transform {name!r} (known {kind} transforms: {known})")
        return None
    declared = transforms.kind_of(name)
    if declared != kind:
        needed = f"this place needs {_a(kind)} transform, {transforms.KINDS[kind]}"
        if declared is None:
            problems.add(keys, f"transform {name!r} declares no kind (register(..., kind=...)); {needed}")
        else:
            problems.add(
                keys,
                f"transform {name!r} is {_a(declared)} transform, {transforms.KINDS[declared]}; {needed}",
            )
        return None
    return fn


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def compile_extractor(raw: Any, keys: list[Any], problems: Problems) -> Extractor | None:
    if isinstance(raw, str):
        raw = {"path": raw}
    path = compile_jmespath(raw["path"], [*keys, "path"] if "path" in raw else keys, problems)
    fn = (
        lookup_transform(raw["transform"], [*keys, "transform"], problems, transforms.EXTRACTOR)
        if "transform" in raw
        else None
    )
    if path is None:
        return None
    keeps_null = fn is not None and transforms.keeps_null(raw["transform"])
    return Extractor(path, raw.get("join"), raw.get("map"), raw.get("default"), fn, keeps_null)


def compile_extractors(raw: dict[str, Any], keys: list[Any], problems: Problems) -> dict[str, Extractor]:
    out = {}
    for name, value in raw.items():
        ex = compile_extractor(value, [*keys, name], problems)
        if ex is not None:
            out[name] = ex
    return out


def compile_items(raw: dict[str, Any] | None, keys: list[Any], problems: Problems) -> Items | None:
    if raw is None:
        return None
    special = {"each", "when_empty", "on_tool_calls"}
    each = compile_jmespath(raw["each"], [*keys, "each"], problems)
    fields = compile_extractors({k: v for k, v in raw.items() if k not in special}, keys, problems)
    when_empty = None
    if "when_empty" in raw:
        we = raw["when_empty"]
        when_empty = (
            compile_jmespath(we["path"], [*keys, "when_empty", "path"], problems),
            we.get("finish_reason"),
        )
    return Items(each, fields, when_empty, raw.get("on_tool_calls"))


def compile_response(raw: dict[str, Any], keys: list[Any], problems: Problems) -> ResponseSpec:
    single = {
        name: compile_extractor(raw[name], [*keys, name], problems)
        for name in ("id", "model", "created")
        if name in raw
    }
    return ResponseSpec(
        format=raw.get("format", "json"),
        choices=compile_items(raw.get("choices"), [*keys, "choices"], problems),
        data=compile_items(raw.get("data"), [*keys, "data"], problems),
        usage=compile_extractors(raw.get("usage", {}), [*keys, "usage"], problems),
        hidden=compile_extractors(raw.get("hidden", {}), [*keys, "hidden"], problems),
        finalize=[
            f
            for i, n in enumerate(raw.get("finalize", []))
            if (f := lookup_transform(n, [*keys, "finalize", i], problems, transforms.RESPONSE_FINALIZE))
        ],
        fields=compile_extractors(raw.get("fields", {}), [*keys, "fields"], problems),
        echo=dict(raw.get("echo", {})),
        **single,
    )


def compile_stream(
    raw: dict[str, Any] | None, response: ResponseSpec, keys: list[Any], problems: Problems
) -> StreamSpec | None:
    if raw is None:
        return None
    events = {
        name: compile_response(r, [*keys, "events", name], problems)
        for name, r in raw.get("events", {}).items()
    }
    chunk = compile_response(raw["chunk"], [*keys, "chunk"], problems) if "chunk" in raw else response
    event_key = (
        compile_jmespath(raw["event_key"], [*keys, "event_key"], problems) if "event_key" in raw else None
    )
    error_key = (
        compile_jmespath(raw["error_key"], [*keys, "error_key"], problems) if "error_key" in raw else None
    )
    if events and event_key is None:
        problems.add([*keys, "events"], "`events` needs `event_key` to choose among them")
    body = compile_body(raw.get("body", {}), [*keys, "body"], problems)
    finalize = [
        fn
        for i, name in enumerate(raw.get("finalize", []))
        if (fn := lookup_transform(name, [*keys, "finalize", i], problems, transforms.RESPONSE_FINALIZE))
    ]
    error_status = (
        compile_extractor(raw["error_status"], [*keys, "error_status"], problems)
        if "error_status" in raw
        else None
    )
    chunk_finalize = [
        fn
        for i, name in enumerate(raw.get("chunk_finalize", []))
        if (fn := lookup_transform(name, [*keys, "chunk_finalize", i], problems, transforms.CHUNK_FINALIZE))
    ]
    return StreamSpec(
        raw["format"],
        raw.get("done"),
        event_key,
        events,
        chunk,
        error_key,
        body,
        finalize,
        error_status=error_status,
        chunk_finalize=chunk_finalize,
    )


def compile_body(raw: Any, keys: list[Any], problems: Problems) -> Any:
    """Static body: strings with ``{{`` become templates, everything else stays literal."""
    if isinstance(raw, dict):
        return {k: compile_body(v, [*keys, k], problems) for k, v in raw.items()}
    if isinstance(raw, list):
        return [compile_body(v, [*keys, i], problems) for i, v in enumerate(raw)]
    if isinstance(raw, str) and "{{" in raw:
        return compile_template(raw, keys, problems)
    return raw


def compile_params(raw: dict[str, Any], keys: list[Any], problems: Problems) -> dict[str, Param]:
    params: dict[str, Param] = {}
    for name, spec in raw.items():
        pkeys = [*keys, name]
        alias_of = spec.get("same_as")
        if "same_as" in spec:
            target = raw.get(spec["same_as"])
            if target is None or "same_as" in target:
                problems.add(
                    [*pkeys, "same_as"],
                    f"same_as names {spec['same_as']!r}, which is not a plain parameter here",
                )
                continue
            spec = {**target, **{k: v for k, v in spec.items() if k != "same_as"}}
        fn = (
            lookup_transform(spec["transform"], [*pkeys, "transform"], problems, transforms.PARAM)
            if "transform" in spec
            else None
        )
        if "map_by" in spec and "maps" not in spec:
            problems.add(pkeys, "map_by needs maps")
        pattern = None
        if "pattern" in spec:
            try:
                pattern = re.compile(spec["pattern"])
            except re.error as exc:
                problems.add([*pkeys, "pattern"], f"regular expression does not compile: {exc}")
        params[name] = Param(
            name=name,
            to=tuple(spec["to"].split(".")) if "to" in spec else None,
            type=spec.get("type"),
            min=spec.get("min"),
            max=spec.get("max"),
            min_from=spec.get("min_from"),
            max_from=spec.get("max_from"),
            enum=spec.get("enum"),
            unsupported_values=spec.get("unsupported_values"),
            table=spec.get("map"),
            map_by=spec.get("map_by"),
            maps=spec.get("maps"),
            transform=fn,
            default=spec.get("default"),
            default_setting=spec.get("default_setting"),
            requires=spec.get("requires"),
            required=spec.get("required", False),
            url_var=spec.get("url_var", False),
            default_env=spec.get("default_env"),
            ignore=spec.get("ignore"),
            unwrap=spec.get("unwrap"),
            pattern=pattern,
            form=spec.get("form"),
            same_as=alias_of,
            shares_target_with=tuple(spec.get("shares_target_with", ())),
            overrides=tuple(spec.get("overrides", ())),
        )
    return params


def shared_targets(params: dict[str, Param]) -> tuple[tuple[str, ...], ...]:
    """Groups of parameters that write the same ``to`` path (e.g. max_tokens, max_completion_tokens)."""
    by_path: dict[tuple[str, ...], list[str]] = {}
    for p in params.values():
        if p.to is not None and not p.url_var:
            by_path.setdefault(p.to, []).append(p.name)
    return tuple(tuple(names) for names in by_path.values() if len(names) > 1)


def check_shared_targets(params: dict[str, Param], keys: list[Any], problems: Problems) -> None:
    """Parameters writing one path must say so (``same_as`` or ``shares_target_with``): no silent overwrite."""
    for group in shared_targets(params):
        component = {name: name for name in group}  # union-find over the declared links

        def root(name: str, component: dict[str, str] = component) -> str:
            while component[name] != name:
                name = component[name]
            return name

        for name in group:
            for other in (params[name].same_as, *params[name].shares_target_with, *params[name].overrides):
                if other in component:
                    component[root(name)] = root(other)
            order = list(params)
            for other in params[name].overrides:
                if other in component and order.index(other) > order.index(name):
                    problems.add(
                        [*keys, name, "overrides"],
                        f"{name} overrides {other}, so it must come after {other} in the table (applied in order)",
                    )
        for other in group[1:]:
            if root(other) != root(group[0]):
                problems.add(
                    [*keys, other],
                    f"parameters {group[0]}, {other} both write {'.'.join(params[other].to or ())}; declare "
                    f"one `same_as` the other, or list the other in `shares_target_with` (a call passing both "
                    f"with different values is refused)",
                )


def compile_operation(
    name: str, raw: dict[str, Any], keys: list[Any], problems: Problems
) -> Operation | None:
    url = compile_template(raw["url"], [*keys, "url"], problems, url=True)
    stream_url = (
        compile_template(raw["stream_url"], [*keys, "stream_url"], problems, url=True)
        if "stream_url" in raw
        else None
    )
    request = raw.get("request", {})
    response = compile_response(raw["response"], [*keys, "response"], problems)
    stream = compile_stream(raw.get("stream"), response, [*keys, "stream"], problems)
    if stream is not None and stream_url is None:
        problems.add([*keys, "stream"], "a stream section needs stream_url")
    headers = {
        h: t
        for h, v in raw.get("headers", {}).items()
        if (t := compile_template(v, [*keys, "headers", h], problems))
    }
    finalize_names = request.get("finalize", [])
    finalize = [
        f
        for i, n in enumerate(finalize_names)
        if (
            f := lookup_transform(n, [*keys, "request", "finalize", i], problems, transforms.REQUEST_FINALIZE)
        )
    ]
    fetch = compile_fetch(raw.get("fetch"), [*keys, "fetch"], problems)
    schemas = compile_schemas(request.get("schemas", {}), [*keys, "request", "schemas"], problems)
    if url is None:
        return None
    params = compile_params(request.get("params", {}), [*keys, "request", "params"], problems)
    check_shared_targets(params, [*keys, "request", "params"], problems)
    body = compile_body(request.get("body", {}), [*keys, "request", "body"], problems)
    return Operation(
        name=name,
        method=raw.get("method", "POST"),
        url=url,
        stream_url=stream_url,
        auth=raw.get("auth", "google"),
        headers=headers,
        body=body,
        params=params,
        finalize=finalize,
        response=response,
        stream=stream,
        batch=raw.get("batch"),
        then=raw.get("then"),
        credentials_env=raw.get("credentials_env"),
        expand=tuple(p.name for name, p in params.items() if request["params"][name].get("expand")),
        url_vars=tuple(p.name for p in params.values() if p.url_var),
        body_vars=_template_variables(body) | _template_variables(stream.body if stream else {}),
        fetch=fetch,
        schemas=schemas,
        finalize_url_vars=frozenset(v for n in finalize_names for v in transforms.url_vars_of(n)),
        shared_targets=shared_targets(params),
    )


def compile_schemas(
    raw: dict[str, str], keys: list[Any], problems: Problems
) -> tuple[tuple[tuple[str, ...], Any], ...]:
    """Body path -> compiled check of Google's discovery schema (engine/google_schema.py)."""
    from engine import google_schema

    out = []
    for path, ref in raw.items():
        if not google_schema.known(ref):
            problems.add(
                [*keys, path], f"{ref!r} is not in specs/google_schemas.json (tools/google_schemas.py ROOTS)"
            )
            continue
        out.append((tuple(path.split(".")), google_schema.SchemaCheck(ref)))
    return tuple(out)


def compile_fetch(raw: dict[str, Any] | None, keys: list[Any], problems: Problems) -> Fetch | None:
    if raw is None:
        return None
    each = compile_jmespath(raw["each"], [*keys, "each"], problems)
    url = compile_template(raw["url"], [*keys, "url"], problems, url=True)
    return Fetch(each, url) if each is not None and url is not None else None


def _template_variables(body: Any) -> frozenset[str]:
    """Variables the static body's templates use (so project/location are resolved first when needed)."""
    if isinstance(body, Template):
        return body.variables
    values = body.values() if isinstance(body, dict) else body if isinstance(body, list) else ()
    return frozenset().union(*(_template_variables(v) for v in values))


def pattern_regex(pattern: str) -> re.Pattern[str] | None:
    """``gemini-*`` and ``gemini/{endpoint_id}`` style patterns; None for an exact name."""
    if "*" not in pattern and "{" not in pattern:
        return None
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]).replace(r"\*", ".*"))
        out.append(f"(?P<{m.group(1)}>{m.group(2) or '[^/]+'})")
        pos = m.end()
    out.append(re.escape(pattern[pos:]).replace(r"\*", ".*"))
    return re.compile("".join(out) + r"\Z")


def compile_errors(raw: dict[str, Any], keys: list[Any], problems: Problems) -> ErrorSpec:
    by_message = []
    for i, rule in enumerate(raw.get("by_message", [])):
        try:
            by_message.append((re.compile(rule["pattern"]), error_class(rule["error"])))
        except re.error as exc:
            problems.add([*keys, "by_message", i, "pattern"], f"regular expression does not compile: {exc}")
    return ErrorSpec(
        message=compile_jmespath(raw["message"], [*keys, "message"], problems) if "message" in raw else None,
        status=compile_jmespath(raw["status"], [*keys, "status"], problems) if "status" in raw else None,
        by_status={int(code): error_class(name) for code, name in raw.get("by_status", {}).items()},
        by_message=by_message,
    )


def compile_family(doc: SpecDocument, problems: Problems) -> Family:
    data = doc.data
    operations = {}
    for name, raw in data.get("operations", {}).items():
        op = compile_operation(name, raw, ["operations", name], problems)
        if op is not None:
            if "auth" not in raw:
                op.auth = data.get("auth", "google")
            operations[name] = op
    family = Family(
        name=data["name"],
        path=doc.path,
        description=data.get("description", ""),
        docs=data.get("docs"),
        operations=operations,
        models=[],
        aliases={},
        errors=compile_errors(data.get("errors", {}), ["errors"], problems),
    )
    family_vars = {
        k: t
        for k, v in data.get("vars", {}).items()
        if (t := compile_template(v, ["vars", k], problems, url=True))
    }
    family_caps = data.get("capabilities", {})
    if not data.get("models"):
        problems.add(["models"], "a family needs at least one model entry")
    for i, raw in enumerate(data.get("models", [])):
        model_vars = {
            k: t
            for k, v in raw.get("vars", {}).items()
            if (t := compile_template(v, ["models", i, "vars", k], problems, url=True))
        }
        ops = raw.get("operations")
        for op_name in ops or []:
            if op_name not in operations:
                problems.add(
                    ["models", i, "operations"],
                    f"model names operation {op_name!r}, which this family does not define",
                )
        regex = pattern_regex(raw["name"])
        family.models.append(
            ModelEntry(
                pattern=raw["name"],
                regex=regex,
                specificity=len(_PLACEHOLDER.sub("", raw["name"]).replace("*", "")),
                capabilities={**family_caps, **raw.get("capabilities", {})},
                vars={**family_vars, **model_vars},
                operations=frozenset(ops) if ops is not None else None,
                family=family,
            )
        )
        for alias in raw.get("aliases", []):
            family.aliases[alias] = raw["name"]
    if "prices" in data:
        from engine.cost import compile_prices

        family.prices = compile_prices(data["prices"], problems)
    _check_references(family, problems)
    check_template_variables(family, problems)
    return family


def _captures(pattern: str) -> set[str]:
    return {m.group(1) for m in _PLACEHOLDER.finditer(pattern)}


def _body_templates(body: Any) -> list[Template]:
    if isinstance(body, Template):
        return [body]
    values = body.values() if isinstance(body, dict) else body if isinstance(body, list) else ()
    return [t for v in values for t in _body_templates(v)]


def check_template_variables(family: Family, problems: Problems) -> None:
    """Every template uses only names the engine supplies in its place, for every model entry.

    Without this, a typo (``{{ hoste }}``) passes validation and fails every call at render
    time. Checked per model entry and operation, since captures, ``vars`` and ``url_var``
    parameters differ between them; each (template, name) is reported once.
    """
    reported: set[tuple[tuple[Any, ...], str]] = set()

    def check(template: Template | None, supplied: set[str], entry: ModelEntry, op: str) -> None:
        if template is None:
            return
        for name in sorted(template.variables - supplied):
            if (template.keys, name) in reported:
                continue
            reported.add((template.keys, name))
            close = difflib.get_close_matches(name, supplied, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            problems.add(
                list(template.keys),
                f"undefined template variable {name!r}{hint} (model {entry.pattern!r}, {op}: "
                f"the engine supplies {', '.join(sorted(supplied))})",
            )

    for entry in family.models:
        for op in family.operations.values():
            if not entry.supports(op.name):
                continue
            base = set(BASE_VARIABLES) | _captures(entry.pattern) | set(op.url_vars)
            supplied = base | op.finalize_url_vars
            for name, template in entry.vars.items():  # rendered in order: a var sees the earlier ones
                check(template, supplied, entry, op.name)
                supplied.add(name)
                base.add(name)
            check(op.url, supplied, entry, op.name)
            check(op.stream_url, supplied, entry, op.name)
            for template in op.headers.values():
                check(template, supplied, entry, op.name)
            if op.fetch is not None:
                check(op.fetch.url, supplied | {"item"}, entry, op.name)
            # The static bodies are rendered before request finalize transforms run.
            for template in _body_templates(op.body):
                check(template, base, entry, op.name)
            for template in _body_templates(op.stream.body if op.stream else {}):
                check(template, base, entry, op.name)


def _check_references(family: Family, problems: Problems) -> None:
    """Capabilities that parameters name must be known capability keys."""
    known = set(_capability_keys())
    for op in family.operations.values():
        for p in op.params.values():
            for cap in (p.requires, p.map_by, p.min_from, p.max_from):
                if cap is not None and cap not in known:
                    problems.add(
                        ["operations", op.name, "request", "params", p.name], f"unknown capability {cap!r}"
                    )
        if op.batch and op.batch["max_from"] not in known:
            problems.add(
                ["operations", op.name, "batch", "max_from"], f"unknown capability {op.batch['max_from']!r}"
            )
        if op.then is not None and op.then not in family.operations:
            problems.add(
                ["operations", op.name, "then"],
                f"then names operation {op.then!r}, which this family does not define",
            )


def _capability_keys() -> list[str]:
    from engine.loader import spec_schema

    return list(spec_schema()["$defs"]["capabilities"]["properties"])
