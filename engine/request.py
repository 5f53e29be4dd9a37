"""Build the upstream HTTP request from the caller's parameters and a compiled operation.

The parameter table of the spec drives everything: each OpenAI-side parameter is
type-checked, bounded, looked up in a value table or handed to a named transform,
and written to its target path. A parameter the table does not list is rejected
with an error that names it (architecture rule 5), unless ``drop_params`` is set.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from engine import google_schema
from engine.compiler import Operation, Param, Template
from engine.errors import BadRequestError, UnsupportedParamsError
from engine.redact import short
from engine.registry import Resolved

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
        "extra_headers",
        "extra_body",
        "custom_llm_provider",
    }
)


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
    project: str | None,
    location: str | None,
    api_base: str | None,
    url_vars: tuple[tuple[str, Any], ...] = (),
) -> str:
    """Render the family's vars, then the (stream) URL; ``api_base`` replaces the ``host`` var.

    The URL depends only on these arguments, so it is rendered once per combination.
    ``url_vars`` are the values of ``url_var`` parameters (a job id, a bucket...).
    """
    ctx = url_context(resolved, project, location, api_base, url_vars)
    template = op.stream_url if stream and op.stream_url is not None else op.url
    return template.render(ctx)


def url_context(
    resolved: Resolved,
    project: str | None,
    location: str | None,
    api_base: str | None,
    url_vars: tuple[tuple[str, Any], ...] = (),
) -> dict[str, Any]:
    """The variables URL templates see: the model's, the family's rendered ``vars``, the url_var values."""
    ctx: dict[str, Any] = {
        "model": resolved.model_id,
        "project": project,
        "location": location,
        "caps": resolved.capabilities,
    }
    ctx.update(resolved.captures)
    ctx.update(url_vars)
    for name, template in resolved.entry.vars.items():
        if name == "host" and api_base:
            ctx["host"] = api_base.rstrip("/")
        else:
            ctx[name] = template.render(ctx)
    if api_base and "host" not in resolved.entry.vars:
        ctx["host"] = api_base.rstrip("/")
    return ctx


def url_needs(resolved: Resolved, op: Operation) -> frozenset[str]:
    """Template variables the URL depends on (so project/location are only resolved when used)."""
    names = set(op.url.variables) | (set(op.stream_url.variables) if op.stream_url else set())
    names |= set(op.fetch.url.variables) if op.fetch else set()
    for template in resolved.entry.vars.values():
        names |= template.variables
    return frozenset(names)


def build_body(
    resolved: Resolved,
    op: Operation,
    params: dict[str, Any],
    settings: Any,
    drop_params: bool,
    template_vars: dict[str, Any] | None = None,
) -> RequestContext:
    """Apply the parameter table; return the context whose ``body`` is ready to send.

    ``template_vars`` (e.g. project and location) are visible to the static body's templates.
    """
    if op.expand:
        params = expand_params(params, op.expand)
    ctx = RequestContext(resolved, op.name, params, settings=settings)
    if op.url_vars:
        ctx.url_vars = dict.fromkeys(op.url_vars)
    caps = resolved.capabilities
    if op.body:
        tvars = {"model": resolved.model_id, "caps": caps, **dict(resolved.captures), **(template_vars or {})}
        ctx.body = _render_static(op.body, tvars)

    unknown = [name for name in params if name not in op.params]
    unsupported = [p.name for p in op.requiring if p.name in params and not caps.get(p.requires)]  # type: ignore[arg-type]
    rejected = unknown + unsupported
    if rejected and not drop_params:
        raise UnsupportedParamsError(
            f"{resolved.name} does not support parameter(s) {', '.join(sorted(rejected))} for {op.name}. "
            "Pass drop_params=True to drop them.",
            model=resolved.name,
            param=sorted(rejected)[0],
        )
    if rejected:
        log.debug("dropping unsupported params %s for %s", rejected, resolved.name)

    # Spec order (transforms may read what earlier parameters built), but only the parameters
    # passed plus those with a default: most calls pass a few of a table's dozens.
    active = [name for name in params if name in op.params]
    for name in sorted(op.with_defaults.union(active), key=op.order.__getitem__):
        if name in rejected:
            continue
        param = op.params[name]
        value = params.get(name)
        if param.ignore is not None and value in param.ignore:
            value = None
        if value is None and not param.has_default:
            continue
        if value is None:
            value = resolve_caps(_default(param, settings), caps)
        if value is None:
            if param.required:
                raise BadRequestError(
                    f"missing required parameter {param.name!r}", model=resolved.name, param=param.name
                )
            continue
        try:
            value = _convert(param, value, caps, resolved.name, ctx)
        except UnsupportedParamsError:
            if not drop_params:
                raise
            log.debug("dropping %s=%r: unsupported value for %s", param.name, value, resolved.name)
            continue
        if param.url_var:
            ctx.url_vars[param.name] = value
            continue
        if value is None or (param.to is None and param.transform is None):
            continue  # no target: the parameter is only validated, and read by transforms from ctx.params
        if param.to is None:
            if not isinstance(value, dict):
                raise TypeError(f"transform for {param.name!r} without `to` must return a body fragment")
            ctx.body = merge(ctx.body, value)
        else:
            set_path(ctx.body, param.to, value)

    for fn in op.finalize:
        ctx.body = fn(ctx.body, ctx)
    if op.schemas:  # Google's own shapes passed through: checked against the discovery schema
        google_schema.apply(ctx.body, op.schemas, resolved.name)
    return ctx


def stream_fields(resolved: Resolved, op: Operation) -> dict[str, Any]:
    """The spec's ``stream.body``: fields only a streamed request carries (e.g. ``stream: true``)."""
    if op.stream is None or not op.stream.body:
        return {}
    ctx = {"model": resolved.model_id, "caps": resolved.capabilities, **dict(resolved.captures)}
    return _render_static(op.stream.body, ctx)


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


_TYPE_CHECKS: dict[str, Any] = {
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "list": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "string_list": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
}


def _convert(param: Param, value: Any, caps: dict[str, Any], model: str, ctx: RequestContext) -> Any:
    if param.type == "string_list" and isinstance(value, str):
        value = [value]
    if param.type == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    check = _TYPE_CHECKS.get(param.type or "any")
    if check is not None and not check(value):
        raise BadRequestError(
            f"parameter {param.name!r} must be of type {param.type}, got {type(value).__name__} {short(value)}",
            model=model,
            param=param.name,
        )
    if param.enum is not None and value not in param.enum:
        raise BadRequestError(
            f"parameter {param.name!r} must be one of {param.enum}, got {short(value)}",
            model=model,
            param=param.name,
        )
    if param.unsupported_values and value in param.unsupported_values:
        raise UnsupportedParamsError(
            f"{model} cannot honor {param.name}={short(value)}; pass drop_params=True to drop it",
            model=model,
            param=param.name,
        )
    low = caps.get(param.min_from) if param.min_from else param.min
    high = caps.get(param.max_from) if param.max_from else param.max
    if (low is not None and value < low) or (high is not None and value > high):
        raise BadRequestError(
            f"parameter {param.name!r} is {short(value)}, outside the range [{low if low is not None else '-inf'}, "
            f"{high if high is not None else 'inf'}] for {model}",
            model=model,
            param=param.name,
        )
    table = param.table
    if param.map_by is not None:
        style = caps.get(param.map_by)
        table = (param.maps or {}).get(style)
        if table is None:
            raise UnsupportedParamsError(
                f"{model} does not support parameter {param.name!r} ({param.map_by}={style!r})",
                model=model,
                param=param.name,
            )
    if table is not None and not isinstance(value, dict):  # an object is the upstream shape itself
        key = value if isinstance(value, (str, int, bool)) else repr(value)
        if key not in table:
            raise BadRequestError(
                f"parameter {param.name!r} has no mapping for {short(value)}; accepted: {', '.join(map(str, table))}",
                model=model,
                param=param.name,
            )
        value = resolve_caps(table[key], caps)
    if param.transform is not None:
        value = param.transform(value, ctx)
    return value


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
