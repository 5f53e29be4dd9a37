"""Build the upstream HTTP request from the caller's parameters and a compiled operation.

The parameter table of the spec drives everything: each OpenAI-side parameter is
type-checked, bounded, looked up in a value table or handed to a named transform,
and written to its target path. A parameter the table does not list is rejected
with an error that names it (architecture rule 5), unless ``drop_params`` is set.

Every problem of a call is collected and reported in one ``BadRequestError`` (as
botocore's parameter validator does), so a caller fixes them all at once.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from engine import google_schema
from engine.compiler import Operation, Param, Template
from engine.errors import BadRequestError, InternalServerError, UnsupportedParamsError
from engine.redact import short
from engine.registry import Resolved
from engine.url_template import Safe

log = logging.getLogger("vertexlate")

# Options the engine itself consumes; they never reach a spec's parameter table.
ENGINE_OPTIONS = frozenset(
    {
        "model",
        "stream",
        "stream_options",
        "timeout",
        "request_timeout",
        "num_retries",
        "max_retries",
        "drop_params",
        "vertex_project",
        "vertex_location",
        "vertex_ai_project",
        "vertex_ai_location",
        "vertex_credentials",
        "api_base",
        "base_url",
        "api_key",
        "extra_headers",
        "extra_body",
        "custom_llm_provider",
        "strict_openai_compliance",
    }
)

INT64_MAX = 2**63 - 1  # the widest integer Google's JSON (int64 as a string or number) carries


class Place(NamedTuple):
    """Where a request goes, besides the model: the project, the location and ``api_base``.

    Project and location are None when no template of the operation names them. A named
    tuple: hashable in C, since it is part of the rendered URL's cache key.
    """

    project: str | None = None
    location: str | None = None
    api_base: str | None = None


@dataclass
class RequestContext:
    """What a transform may look at: the model, its capabilities, all parameters, the body so far."""

    resolved: Resolved
    operation: str
    params: dict[str, Any]
    body: dict[str, Any] = field(default_factory=dict)
    settings: Any = None  # the ``engine`` module: module-level settings
    url_vars: dict[str, Any] = field(
        default_factory=dict
    )  # values of ``url_var`` parameters (and what transforms add)
    headers: dict[str, str] = field(
        default_factory=dict
    )  # request headers a finalize transform adds (anthropic-beta)
    # A conversation prefix to cache before sending (cache_control markers): {"messages", "ttl", "fallback"}
    prefix_cache: dict[str, Any] | None = None

    @property
    def capabilities(self) -> dict[str, Any]:
        return self.resolved.capabilities

    @property
    def model(self) -> str:
        return self.resolved.name


@lru_cache(maxsize=4096)
def render_url(
    resolved: Resolved,
    op: Operation,
    stream: bool,
    place: Place,
    url_vars: tuple[tuple[str, Any], ...] = (),
) -> str:
    """Render the family's vars, then the (stream) URL; ``api_base`` replaces the ``host`` var.

    The URL depends only on these arguments, so it is rendered once per combination.
    ``url_vars`` are the values of ``url_var`` parameters (a job id, a bucket...).
    """
    ctx = url_context(resolved, place, url_vars)
    template = op.stream_url if stream and op.stream_url is not None else op.url
    return template.render(ctx)


@lru_cache(maxsize=4096)
def url_context(
    resolved: Resolved, place: Place, url_vars: tuple[tuple[str, Any], ...] = ()
) -> dict[str, Any]:
    """The variables every template sees (specs/README.md, "Template variables"); do not mutate.

    The model's id, project, location, ``caps``, the pattern's captures, the ``url_var``
    values, and the family's rendered ``vars`` in order. Rendered vars and ``api_base`` are
    URL pieces already encoded, so URL templates insert them as they are.
    """
    ctx: dict[str, Any] = {
        "model": resolved.model_id,
        "project": place.project,
        "location": place.location,
        "caps": resolved.capabilities,
    }
    ctx.update(resolved.captures)
    ctx.update(url_vars)
    api_base = place.api_base
    for name, template in resolved.entry.vars.items():
        if name == "host" and api_base:
            ctx["host"] = Safe(api_base.rstrip("/"))
        else:
            ctx[name] = Safe(template.render(ctx))
    if api_base and "host" not in resolved.entry.vars:
        ctx["host"] = Safe(api_base.rstrip("/"))
    return ctx


def url_needs(resolved: Resolved, op: Operation) -> frozenset[str]:
    """Template variables the URL depends on (so project/location are only resolved when used)."""
    names = set(op.url.variables) | (set(op.stream_url.variables) if op.stream_url else set())
    names |= set(op.fetch.url.variables) if op.fetch else set()
    for template in op.headers.values():
        names |= template.variables
    for template in resolved.entry.vars.values():
        names |= template.variables
    return frozenset(names)


def body_needs(resolved: Resolved, op: Operation) -> frozenset[str]:
    """Variables the static bodies use, directly or through the ``vars`` they name."""
    names, pending = set(op.body_vars), list(op.body_vars)
    while pending:
        template = resolved.entry.vars.get(pending.pop())
        for name in template.variables if template is not None else ():
            if name not in names:
                names.add(name)
                pending.append(name)
    return frozenset(names)


def build_body(
    resolved: Resolved,
    op: Operation,
    params: dict[str, Any],
    settings: Any,
    drop_params: bool,
    place: Place | None = None,
) -> RequestContext:
    """Apply the parameter table; return the context whose ``body`` is ready to send.

    Every problem is collected and raised as one error (:func:`raise_problems`). The
    static body (``request.body``) is rendered after the parameters, with the URL's
    variables (``place``: project, location, api_base), and is the base the parameters'
    values are merged over; request finalize transforms run last.
    """
    if op.expand:
        params = expand_params(params, op.expand)
    ctx = RequestContext(resolved, op.name, params, settings=settings)
    if op.url_vars:
        ctx.url_vars = dict.fromkeys(op.url_vars)
    caps = resolved.capabilities
    problems: list[Problem] = []

    unknown = [name for name in params if name not in op.params]
    unsupported = [p.name for p in op.requiring if p.name in params and not has_capability(caps, p.requires)]
    rejected = unknown + unsupported
    if rejected and not drop_params:
        problems += [Problem(n, _unsupported(resolved, op, n), unsupported=True) for n in sorted(rejected)]
    elif rejected:
        log.debug("dropping unsupported params %s for %s", rejected, resolved.name)

    # Spec order (transforms may read what earlier parameters built), but only the parameters
    # passed plus those with a default: most calls pass a few of a table's dozens.
    active = [name for name in params if name in op.params]
    placed: dict[str, Any] = {}  # caller-passed values of parameters that share a target path
    checked = len(problems)  # problems before the loop (unknown names) do not stop transforms
    for name in sorted(op.with_defaults.union(active), key=op.order.__getitem__):
        if name in rejected:
            continue
        param = op.params[name]
        value = params.get(name)
        if param.ignore is not None and value in param.ignore:
            value = None
        if value is None and not param.has_default:
            continue
        passed = value is not None
        if not passed:
            if name in op.grouped and any(
                params.get(other) is not None and op.order[other] < op.order[name]
                for other in op.grouped[name]
            ):
                continue  # a default never overwrites what the caller set through another parameter
            value = resolve_caps(_default(param, settings), caps)
        if value is None:
            if param.required:
                problems.append(Problem(name, f"missing required parameter {name!r}"))
            continue
        try:
            value = check_value(param, value, caps, resolved.name)
            if param.transform is not None and len(problems) == checked:  # after a bad value, check only
                value = param.transform(value, ctx)
        except UnsupportedParamsError as exc:
            if drop_params:
                log.debug("dropping %s=%s: unsupported value for %s", name, short(value), resolved.name)
            else:
                problems.append(Problem(exc.param or name, exc.message, unsupported=True))
            continue
        except BadRequestError as exc:
            if type(exc) is not BadRequestError:
                raise  # a more specific error (e.g. a content policy) is that error, not one problem of many
            problems.append(Problem(exc.param or name, exc.message))
            continue
        if problems:
            continue
        if passed and name in op.grouped:
            placed[name] = value
        place_value(ctx, param, value)

    if problems:
        raise_problems(problems, resolved, op)
    if op.body:
        static = _render_static(op.body, template_context(resolved, op, place, ctx.url_vars))
        ctx.body = merge(static, ctx.body) if ctx.body else static
    for fn in op.finalize:
        ctx.body = fn(ctx.body, ctx)
    # After the finalize transforms, whose own checks of a contradiction say more when they have one.
    if len(placed) > 1 and (clashes := _clashes(op, placed)):
        raise_problems(clashes, resolved, op)
    if op.schemas:  # Google's own shapes passed through: checked against the discovery schema
        google_schema.apply(ctx.body, op.schemas, resolved.name)
    return ctx


def place_value(ctx: RequestContext, param: Param, value: Any) -> None:
    """The one way a checked (and transformed) value enters the request, by the parameter's keys.

    - ``url_var``: the value becomes the URL template variable named like the parameter;
    - ``to``: the value is set at the dotted path; an object deep-merges with what is there;
    - ``transform`` or a value table (``map``, ``maps``) without ``to``: the result is a body fragment,
      deep-merged into the body (several fields at once, e.g. Claude's ``thinking`` + ``output_config``);
    - neither: the parameter is only validated; transforms read it from ``ctx.params``.

    ``None`` (a transform with nothing to add) places nothing.
    """
    if param.url_var:
        ctx.url_vars[param.name] = value
    elif value is None:
        return
    elif param.to is not None:
        set_path(ctx.body, param.to, value)
    elif param.transform is not None or param.table is not None or param.maps is not None:
        if not isinstance(value, dict):
            raise InternalServerError(
                f"parameter {param.name!r} without `to` must produce a body fragment (an object)"
            )
        ctx.body = merge(ctx.body, value)


@dataclass
class Problem:
    """One thing wrong with a call's parameters."""

    param: str
    message: str
    unsupported: bool = False  # the model cannot honor it (``drop_params=True`` would drop it)


def raise_problems(problems: list[Problem], resolved: Resolved, op: Operation) -> None:
    """One error for all problems: ``UnsupportedParamsError`` if every one is unsupported, else
    ``BadRequestError``; ``param`` names the first offending parameter."""
    cls = UnsupportedParamsError if all(p.unsupported for p in problems) else BadRequestError
    if len(problems) == 1:
        message = problems[0].message
    else:
        message = f"{len(problems)} problems with the parameters for {resolved.name} {op.name}: " + "; ".join(
            f"({i}) {p.message}" for i, p in enumerate(problems, 1)
        )
    if any(p.unsupported for p in problems):
        message += ". Pass drop_params=True to drop unsupported parameters."
    raise cls(message, model=resolved.name, param=problems[0].param)


def _unsupported(resolved: Resolved, op: Operation, name: str) -> str:
    """``model does not support parameter 'x'``, with the accepted names, closest matches first."""
    caps = resolved.capabilities
    accepted = [n for n, p in op.params.items() if not p.requires or has_capability(caps, p.requires)]
    close = difflib.get_close_matches(name, accepted, n=3, cutoff=0.6)
    ordered = close + sorted(n for n in accepted if n not in close)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    # A known parameter is unsupported when the model lacks the capability it requires.
    why = f" (it needs the {op.params[name].requires} capability)" if name in op.params else ""
    return (
        f"{resolved.name} does not support parameter {short(name)} for {op.name}{why}{hint} "
        f"Accepted: {', '.join(ordered)}"
    )


def _clashes(op: Operation, placed: dict[str, Any]) -> list[Problem]:
    """Two passed parameters writing one path with different values (no silent overwrite).

    Unless the spec declares a precedence (``overrides``): then the later one's value wins,
    with a warning naming both.
    """
    found = []
    for group in op.shared_targets:
        names = [n for n in group if n in placed]
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                leaf = _differs(placed[first], placed[second], ())
                if leaf is None:
                    continue
                path = ".".join((*(op.params[first].to or ()), *leaf))
                if first in op.params[second].overrides or second in op.params[first].overrides:
                    log.warning("%s and %s both set %s: the spec's precedence applies", first, second, path)
                else:
                    found.append(
                        Problem(
                            first,
                            f"parameters {first!r} and {second!r} both set {path} to different values; pass one",
                        )
                    )
    return found


def _differs(a: Any, b: Any, path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The first path where ``a`` and ``b`` disagree; objects deep-merge, so only shared keys count."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a.keys() & b.keys():
            leaf = _differs(a[key], b[key], (*path, str(key)))
            if leaf is not None:
                return leaf
        return None
    return None if a == b else path


def template_context(
    resolved: Resolved, op: Operation, place: Place | None, url_vars: dict[str, Any]
) -> dict[str, Any]:
    """The variables of the static body templates: the same as the URL's (a plain dict when the body
    uses none of the rendered ``vars``, which is the common case)."""
    names = op.body_vars
    if place is not None or any(n in resolved.entry.vars or n == "host" for n in names):
        return url_context(resolved, place or Place(), tuple(url_vars.items()))
    ctx = {"model": resolved.model_id, "project": None, "location": None, "caps": resolved.capabilities}
    ctx.update(resolved.captures)
    ctx.update(url_vars)
    return ctx


def stream_fields(op: Operation, context: dict[str, Any]) -> dict[str, Any]:
    """The spec's ``stream.body``: fields only a streamed request carries (e.g. ``stream: true``)."""
    if op.stream is None or not op.stream.body:
        return {}
    return _render_static(op.stream.body, context)


def expand_params(params: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """An object parameter listed in ``names`` becomes one parameter per key, named ``<name>.<key>``.

    So nested OpenAI objects (``hyperparameters={"n_epochs": 3}``) use the same table,
    with the same type checks and the same error for a key the table does not list.
    """
    out = dict(params)
    for name in names:
        value = out.get(name)
        if isinstance(value, dict):
            del out[name]
            out.update({f"{name}.{key}": item for key, item in value.items()})
    return out


def _default(param: Param, settings: Any) -> Any:
    if param.default_setting is not None:
        value = getattr(settings, param.default_setting, None)
        if value is not None:
            return value
    if param.default_env is not None and os.environ.get(param.default_env):
        return os.environ[param.default_env]
    return param.default


def _finite_number(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and math.isfinite(v)


_TYPE_CHECKS: dict[str, Any] = {
    "number": _finite_number,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool) and -INT64_MAX - 1 <= v <= INT64_MAX,
    "boolean": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "list": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "string_list": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
}

_TYPE_NAMES = {
    "number": "a finite number",
    "integer": "an integer (64-bit)",
    "string_list": "a string or list of strings",
}


def check_value(param: Param, value: Any, caps: dict[str, Any], model: str) -> Any:
    """Type, pattern, enum, bounds and value table of one parameter; the (mapped) value.

    Raises ``BadRequestError`` (or ``UnsupportedParamsError``) naming the parameter; values
    are quoted short (engine.redact.short), whatever their size.
    """
    name = param.name
    if param.unwrap is not None and isinstance(value, dict):
        if set(value) != {param.unwrap}:
            raise BadRequestError(
                f"parameter {name!r} as an object takes only the key {param.unwrap!r}, got {sorted(value)}",
                model=model,
                param=name,
            )
        value = value[param.unwrap]
    if param.type == "string_list" and isinstance(value, str):
        value = [value]
    if param.type == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    check = _TYPE_CHECKS.get(param.type or "any")
    if check is not None and not check(value):
        raise BadRequestError(
            f"parameter {name!r} must be of type {param.type} ({_TYPE_NAMES.get(param.type, param.type)}), "
            f"got {type(value).__name__} {short(value)}",
            model=model,
            param=name,
        )
    if param.pattern is not None and isinstance(value, str) and not param.pattern.fullmatch(value):
        form = param.form or f"of the form {short(param.pattern.pattern, 120)}"
        raise BadRequestError(f"{name} must be {form}, got {short(value)}", model=model, param=name)
    if param.enum is not None and value not in param.enum:
        raise BadRequestError(
            f"parameter {name!r} must be one of {param.enum}, got {short(value)}", model=model, param=name
        )
    if param.unsupported_values and value in param.unsupported_values:
        raise UnsupportedParamsError(f"{model} cannot honor {name}={short(value)}", model=model, param=name)
    low = caps.get(param.min_from) if param.min_from else param.min
    high = caps.get(param.max_from) if param.max_from else param.max
    if low is not None or high is not None:
        if param.type not in ("number", "integer") and not _finite_number(value):
            raise BadRequestError(
                f"parameter {name!r} must be a finite number, got {type(value).__name__} {short(value)}",
                model=model,
                param=name,
            )
        if (low is not None and value < low) or (high is not None and value > high):
            raise BadRequestError(
                f"parameter {name!r} is {short(value)}, outside the range [{low if low is not None else '-inf'}, "
                f"{high if high is not None else 'inf'}] for {model}",
                model=model,
                param=name,
            )
    table = param.table
    if param.map_by is not None:
        style = caps.get(param.map_by)
        table = (param.maps or {}).get(style)
        if table is None:
            raise UnsupportedParamsError(
                f"{model} does not support parameter {name!r} ({param.map_by}={style!r})",
                model=model,
                param=name,
            )
    if table is not None and not isinstance(value, dict):  # an object is the upstream shape itself
        key = value if isinstance(value, (str, int, bool)) else repr(value)
        if key not in table and any(key in other for other in (param.maps or {}).values()):
            raise UnsupportedParamsError(  # valid for other models, not this one: droppable with drop_params
                f"{model} does not support {name}={short(value)} ({param.map_by}={caps.get(param.map_by)!r}); "
                f"accepted: {', '.join(map(str, table))}",
                model=model,
                param=name,
            )
        if key not in table:
            raise BadRequestError(
                f"parameter {name!r} has no mapping for {short(value)}; accepted: {', '.join(map(str, table))}",
                model=model,
                param=name,
            )
        value = resolve_caps(table[key], caps)
    return value


def has_capability(caps: dict[str, Any], name: str | None) -> bool:
    """A capability counts when it is set, true and not the style ``"none"`` (e.g. ``thinking: none``)."""
    value = caps.get(name) if name else None
    return bool(value) and value != "none"


def resolve_caps(value: Any, caps: dict[str, Any]) -> Any:
    """Replace ``{"$cap": name}`` in value tables by the model's capability value."""
    if isinstance(value, dict):
        if len(value) == 1 and "$cap" in value:
            return caps.get(value["$cap"])
        return {k: resolve_caps(v, caps) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_caps(v, caps) for v in value]
    return value


def _render_static(body: Any, ctx: dict[str, Any]) -> Any:
    if isinstance(body, dict):
        return {k: _render_static(v, ctx) for k, v in body.items()}
    if isinstance(body, list):
        return [_render_static(v, ctx) for v in body]
    if isinstance(body, Template):
        return body.render(ctx)
    return body


def set_path(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = body
    for key in path[:-1]:
        node = node.setdefault(key, {})
    leaf = path[-1]
    node[leaf] = (
        merge(node[leaf], value) if isinstance(node.get(leaf), dict) and isinstance(value, dict) else value
    )


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge without copying what is not changed (hot path: no deepcopy)."""
    out = dict(base)
    for key, value in over.items():
        current = out.get(key)
        out[key] = merge(current, value) if isinstance(current, dict) and isinstance(value, dict) else value
    return out
