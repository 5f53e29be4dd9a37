"""The proxy's config: LiteLLM's ``config.yaml`` format, checked completely before the server starts.

Why check everything up front: a gateway that starts half-configured fails on the
first request to the broken deployment, far from the typo that caused it. So every
model must resolve to a spec, every credential must parse, every fallback and key
must name a configured model, and each problem is reported with file, line and key.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from engine.proxy.operations import OPERATIONS
from engine.proxy.provider_settings import Providers, provider_settings
from engine.proxy.shared.settings import (
    CALL_TYPES,
    NOT_CACHED,
    CacheSettings,
    RedisSettings,
    cache_settings,
    shared_redis,
)
from engine.proxy.source import ConfigError, Source, read, resolve_env, schema_problems

log = logging.getLogger("vertexlate.proxy")

DEFAULT_TIMEOUT = 600.0
DEFAULT_DATABASE = "sqlite:///vertexlate.db"  # next to the config file
DEFAULT_KEY_CACHE_TTL = 10.0
DEFAULT_COOLDOWN = 5.0
DEFAULT_GRACE = 30.0
DEFAULT_MAX_REQUEST_SIZE_MB = 100.0  # general_settings.max_request_size_mb (LiteLLM's name); 0: no limit

# litellm_params keys that configure the call or the routing; every other key is a default request param.
OPTION_KEYS = (
    "vertex_project",
    "vertex_ai_project",
    "vertex_location",
    "vertex_ai_location",
    "vertex_credentials",
    "api_base",
    "api_key",
    "extra_headers",
)
ROUTING_KEYS = frozenset(
    {"model", "rpm", "tpm", "weight", "max_parallel_requests", "timeout", "stream_timeout", "drop_params"}
)


@dataclass(frozen=True, eq=False)
class Deployment:
    """One ``model_list`` entry: an upstream model with its credentials, limits and default params."""

    id: str
    model_name: str
    model: str
    options: dict[str, Any]  # engine call options (project, location, credentials, api_base, ...)
    defaults: dict[str, dict[str, Any]]  # per operation: default request params the spec accepts
    operations: frozenset[str]
    rpm: int | None = None
    tpm: int | None = None
    weight: float = 1.0
    max_parallel_requests: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    stream_timeout: float | None = None
    model_info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KeySpec:
    """A client key from ``general_settings.keys``; ``models`` None means every model."""

    key: str = field(repr=False)
    alias: str
    models: frozenset[str] | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_parallel_requests: int | None = None


@dataclass
class ProxyConfig:
    """Everything the running proxy needs, validated."""

    path: Path
    deployments: list[Deployment]
    groups: dict[str, list[Deployment]]
    fallbacks: dict[str, list[str]] = field(default_factory=dict)
    context_window_fallbacks: dict[str, list[str]] = field(default_factory=dict)
    content_policy_fallbacks: dict[str, list[str]] = field(default_factory=dict)
    num_retries: int = 0
    routing_strategy: str = "simple-shuffle"
    cooldown_time: float = DEFAULT_COOLDOWN
    allowed_fails: int = 0
    master_key: str | None = field(default=None, repr=False)
    keys: list[KeySpec] = field(default_factory=list, repr=False)
    graceful_shutdown_timeout: float = DEFAULT_GRACE
    upstream_http: str = "builtin"
    set_verbose: bool = False
    callbacks: tuple[str, ...] = ()  # litellm_settings.callbacks, success/failure_callback: prometheus, otel
    metrics_auth: bool = False  # litellm_settings.require_auth_for_metrics_endpoint
    end_user_metrics: bool = False  # litellm_settings.enable_end_user_cost_tracking_prometheus_only
    max_request_size_mb: float = DEFAULT_MAX_REQUEST_SIZE_MB
    environment: dict[str, str] = field(default_factory=dict, repr=False)
    finetune_settings: list[dict[str, Any]] = field(default_factory=list, repr=False)
    files_settings: list[dict[str, Any]] = field(default_factory=list, repr=False)
    providers: Providers = field(default_factory=dict, repr=False)  # the checked vertex_ai entries of both
    database_url: str | None = field(default=None, repr=False)  # None: no store (no master key, no URL)
    key_cache_ttl: float = DEFAULT_KEY_CACHE_TTL
    warnings: list[str] = field(default_factory=list)  # unsupported keys, each with file and line
    default_vertex_config: dict[str, Any] = field(
        default_factory=dict, repr=False
    )  # the Vertex AI pass-through's
    redis: RedisSettings | None = field(
        default=None, repr=False
    )  # shared limits and cooldowns (None: in-process)
    cache: CacheSettings | None = field(default=None, repr=False)  # the response cache (None: off)

    @property
    def auth_required(self) -> bool:
        return bool(self.master_key or self.keys)


@cache
def config_schema() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("config.schema.json")).read_text(encoding="utf-8"))


def load_config(path: str | Path) -> ProxyConfig:
    """Read, resolve, validate and build; raise :class:`ConfigError` listing every problem."""
    source = read(path)
    warnings = unsupported_keys(source)
    environment = _environment(source)
    resolve_env(source, environment)
    schema_problems(source, config_schema())
    if source.problems:
        raise ConfigError(source.problems)
    _check_specs(source)
    config = _build(source, environment)
    if source.problems:
        raise ConfigError(source.problems)
    warnings += _cache_warnings(source, config.cache)
    config.warnings = warnings
    if warnings:
        log.warning("config: %d unsupported keys are ignored:\n  %s", len(warnings), "\n  ".join(warnings))
    return config


def unsupported_keys(source: Source) -> list[str]:
    """Remove (and name, with file and line) keys the proxy does not implement, in the sections that say so.

    A section of config.schema.json marked ``"x-unsupported": "warn"`` lists every key the
    proxy uses; any other key there (LiteLLM has many) is dropped before ``os.environ/``
    references are resolved, so an unset variable inside it is not an error.
    """
    schema = config_schema()
    found: list[tuple[int, str]] = []

    def walk(data: Any, node: dict[str, Any], keys: tuple[Any, ...]) -> None:
        node = _deref(schema, node)
        if not isinstance(data, dict):
            return
        props = node.get("properties", {})
        if node.get("x-unsupported") == "warn":
            for key in [k for k in data if k not in props]:
                found.append(
                    (source.line((*keys, key)), f"{source.where((*keys, key))}: not supported by this proxy")
                )
                del data[key]
        for key, sub in props.items():
            if key in data:
                walk(data[key], sub, (*keys, key))

    found += _unsupported_callbacks(source)
    walk(source.data, schema, ())
    return [message for _, message in sorted(found)]


def _unsupported_callbacks(source: Source) -> list[tuple[int, str]]:
    """LiteLLM callbacks the proxy does not implement: a list naming none it serves is dropped whole
    (warned as an unsupported key); from a mixed list each other name is dropped, warned by name."""
    litellm = source.data.get("litellm_settings") if isinstance(source.data, dict) else None
    if not isinstance(litellm, dict):
        return []
    found: list[tuple[int, str]] = []
    for section in CALLBACK_KEYS:
        names = litellm.get(section)
        if not isinstance(names, list):
            continue
        keys = ("litellm_settings", section)
        if not any(n in SERVED_CALLBACKS for n in names):
            found.append((source.line(keys), f"{source.where(keys)}: not supported by this proxy"))
            del litellm[section]
            continue
        for i, name in enumerate(names):
            if name not in SERVED_CALLBACKS:
                where = (*keys, i)
                found.append(
                    (
                        source.line(where),
                        f"{source.where(where)}: callback {name!r} is not supported by this proxy",
                    )
                )
        litellm[section] = [n for n in names if n in SERVED_CALLBACKS]
    return found


def _deref(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return schema["$defs"][ref.rsplit("/", 1)[-1]] if isinstance(ref, str) else node


def _check_specs(source: Source) -> None:
    """Model names are checked against the engine's specs, so those must load first."""
    from engine.errors import SpecError
    from engine.registry import default_registry

    try:
        default_registry()
    except SpecError as exc:
        raise ConfigError(
            [f"{source.where(['model_list'])}: the engine's specs do not load: {exc}"]
        ) from None


def _environment(source: Source) -> dict[str, str]:
    section = source.data.get("environment_variables") if isinstance(source.data, dict) else None
    if not isinstance(section, dict):
        return {}
    return {str(k): str(v) for k, v in section.items() if isinstance(v, (str, int, float, bool))}


def _build(source: Source, environment: dict[str, str]) -> ProxyConfig:
    data = source.data
    litellm = data.get("litellm_settings") or {}
    router = data.get("router_settings") or {}
    general = data.get("general_settings") or {}
    deployments = [
        _deployment(source, i, entry, litellm, router) for i, entry in enumerate(data["model_list"])
    ]
    deployments = [d for d in deployments if d is not None]
    _unique_ids(source, deployments)
    groups: dict[str, list[Deployment]] = {}
    for deployment in deployments:
        groups.setdefault(deployment.model_name, []).append(deployment)
    known = {entry["model_name"] for entry in data["model_list"]}
    fallbacks = {kind: _fallbacks(source, kind, known) for kind in FALLBACK_KINDS}
    redis, cache = _redis_settings(source, router, litellm)
    if cache is not None and cache.type == "redis" and cache.redis is None:
        source.problem(
            ("litellm_settings", "cache_params", "type"),
            "a redis cache needs a Redis: set cache_params host/port (or url), router_settings.redis_host, "
            "or REDIS_HOST / REDIS_URL",
        )
    return ProxyConfig(
        path=source.path,
        deployments=deployments,
        groups=groups,
        fallbacks=fallbacks["fallbacks"],
        context_window_fallbacks=fallbacks["context_window_fallbacks"],
        content_policy_fallbacks=fallbacks["content_policy_fallbacks"],
        num_retries=int(router.get("num_retries", litellm.get("num_retries", 0))),
        routing_strategy=router.get("routing_strategy", "simple-shuffle"),
        cooldown_time=float(router.get("cooldown_time", DEFAULT_COOLDOWN)),
        allowed_fails=int(router.get("allowed_fails", 0)),
        master_key=general.get("master_key") or os.environ.get("LITELLM_MASTER_KEY") or None,
        keys=_keys(source, general.get("keys") or [], known),
        graceful_shutdown_timeout=float(general.get("graceful_shutdown_timeout", DEFAULT_GRACE)),
        upstream_http=general.get("upstream_http", "builtin"),
        set_verbose=bool(litellm.get("set_verbose", False)),
        callbacks=_callbacks(source, litellm),
        metrics_auth=bool(litellm.get("require_auth_for_metrics_endpoint", False)),
        end_user_metrics=bool(litellm.get("enable_end_user_cost_tracking_prometheus_only", False)),
        max_request_size_mb=float(general.get("max_request_size_mb", DEFAULT_MAX_REQUEST_SIZE_MB)),
        environment=environment,
        finetune_settings=list(data.get("finetune_settings") or []),
        files_settings=list(data.get("files_settings") or []),
        providers=provider_settings(source),
        database_url=_database_url(general),
        key_cache_ttl=float(general.get("user_api_key_cache_ttl", DEFAULT_KEY_CACHE_TTL)),
        default_vertex_config=_default_vertex_config(source),
        redis=redis,
        cache=cache,
    )


# cache_params keys that apply to one cache type only: set for the other, they are named, not lost
REDIS_ONLY_CACHE_KEYS = (
    "host",
    "port",
    "password",
    "url",
    "socket_timeout",
    "max_connections",
    "default_in_redis_ttl",
)
LOCAL_ONLY_CACHE_KEYS = ("default_in_memory_ttl",)


def _cache_warnings(source: Source, cache: CacheSettings | None) -> list[str]:
    """What of ``cache_params`` does not apply: call types this proxy does not cache, keys of the other
    cache type, and the whole block while ``cache`` is off. Named with file and line, not lost."""
    litellm = source.data.get("litellm_settings") if isinstance(source.data, dict) else None
    params = litellm.get("cache_params") if isinstance(litellm, dict) else None
    if cache is None:
        if isinstance(params, dict) and params:
            return [
                f"{source.where(('litellm_settings', 'cache_params'))}: ignored: litellm_settings.cache is off"
            ]
        return []
    where = source.where(("litellm_settings", "cache_params", "supported_call_types"))
    found = [
        f"{where}: call type {kind!r} is not cached by this proxy{NOT_CACHED.get(kind, '')} "
        f"(it caches {', '.join(sorted(CALL_TYPES))})"
        for kind in sorted(cache.call_types - CALL_TYPES)
    ]
    other = REDIS_ONLY_CACHE_KEYS if cache.type == "local" else LOCAL_ONLY_CACHE_KEYS
    for key in other:
        if isinstance(params, dict) and key in params:
            found.append(
                f"{source.where(('litellm_settings', 'cache_params', key))}: ignored by a {cache.type} cache"
            )
    return found


SERVED_CALLBACKS = ("prometheus", "otel")  # the LiteLLM callbacks this proxy implements
CALLBACK_KEYS = ("callbacks", "success_callback", "failure_callback")


def _callbacks(source: Source, litellm: dict[str, Any]) -> tuple[str, ...]:
    """LiteLLM's callback lists, merged (the others were dropped and warned about by :func:`unsupported_keys`)."""
    names = [n for key in CALLBACK_KEYS for n in (litellm.get(key) or ()) if n in SERVED_CALLBACKS]
    return tuple(dict.fromkeys(names))


def _database_url(general: dict[str, Any]) -> str | None:
    """LiteLLM's places: general_settings.database_url, else DATABASE_URL; SQLite when only a master key is set."""
    url = general.get("database_url") or os.environ.get("DATABASE_URL")
    if url:
        return str(url)
    return DEFAULT_DATABASE if general.get("master_key") or os.environ.get("LITELLM_MASTER_KEY") else None


def _default_vertex_config(source: Source) -> dict[str, Any]:
    """LiteLLM's ``default_vertex_config`` (project, location, credentials, api_base of the pass-through)."""
    section = source.data.get("default_vertex_config") or {}
    if "vertex_credentials" in section:
        credentials_ok(source, section["vertex_credentials"], ("default_vertex_config", "vertex_credentials"))
    return dict(section)


def _deployment(
    source: Source, index: int, entry: dict[str, Any], litellm: dict[str, Any], router: dict[str, Any]
) -> Deployment | None:
    params = entry["litellm_params"]
    where = ("model_list", index, "litellm_params")
    mode = (entry.get("model_info") or {}).get("mode")
    operations = _operations(source, params["model"], mode, where)
    if not operations:
        return None
    if "vertex_credentials" in params and not credentials_ok(
        source, params["vertex_credentials"], (*where, "vertex_credentials")
    ):
        return None
    if not api_key_ok(source, params, operations, where):
        return None
    options = {k: params[k] for k in OPTION_KEYS if k in params}
    for names in (("vertex_project", "vertex_ai_project"), ("vertex_location", "vertex_ai_location")):
        if not any(n in options for n in names) and litellm.get(names[0]):  # litellm_settings' default
            options[names[0]] = litellm[names[0]]
    options["drop_params"] = bool(params.get("drop_params", litellm.get("drop_params", False)))
    request_defaults = {k: v for k, v in params.items() if k not in ROUTING_KEYS and k not in options}
    info = dict(entry.get("model_info") or {})
    return Deployment(
        id=str(info.get("id", f"{entry['model_name']}-{index}")),
        model_name=entry["model_name"],
        model=params["model"],
        options=options,
        defaults={op: _defaults_for(params["model"], op, request_defaults, litellm) for op in operations},
        operations=operations,
        rpm=params.get("rpm"),
        tpm=params.get("tpm"),
        weight=float(params.get("weight") or params.get("rpm") or params.get("tpm") or 1),
        max_parallel_requests=params.get("max_parallel_requests"),
        timeout=float(
            params.get("timeout", router.get("timeout", litellm.get("request_timeout", DEFAULT_TIMEOUT)))
        ),
        stream_timeout=params.get("stream_timeout"),
        model_info=info,
    )


# LiteLLM's model_info.mode values and the engine operation each one means.
MODES = {
    "chat": "chat",
    "completion": "text_completion",
    "embedding": "embedding",
    "image_generation": "image_generation",
    "audio_speech": "speech",
}


def _operations(source: Source, model: str, mode: Any, where: tuple[Any, ...]) -> frozenset[str]:
    """The proxy operations a spec serves ``model`` for; none is a config problem.

    Without ``model_info.mode`` (LiteLLM's documented configs have none) a deployment serves
    every operation its name resolves to, and the proxy picks the one its endpoint means
    (``vertex_ai/<endpoint id>``: chat, embeddings and images). A spec entry whose pattern is a
    bare wildcard (``*``, ``{name}``: nothing narrows it) accepts every name, so it proves
    nothing about ``model``: such an operation counts only when ``model_info.mode`` asks for it.
    """
    from engine.errors import APIError
    from engine.registry import default_registry, is_catch_all

    registry = default_registry()
    named, wildcard = set(), set()
    for op in OPERATIONS:
        try:
            resolved = registry.resolve(model, op)
        except APIError:
            continue
        (wildcard if is_catch_all(resolved.entry) else named).add(op)
    if mode is None:
        if not named:
            source.problem((*where, "model"), f"no spec serves {model!r} (see `vertexlate models`)")
        return frozenset(named)
    mode_keys = ("model_list", where[1], "model_info", "mode")
    operation = MODES.get(mode) if isinstance(mode, str) else None
    if operation is None:
        source.problem(mode_keys, f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        return frozenset()
    if operation not in named | wildcard:
        served = ", ".join(sorted(named)) or "nothing"
        source.problem(mode_keys, f"mode {mode!r} does not fit {model!r}: its spec serves {served}")
        return frozenset()
    return frozenset({operation})


def api_key_ok(
    source: Source, params: dict[str, Any], operations: frozenset[str], where: tuple[Any, ...]
) -> bool:
    """An upstream whose spec says ``auth: api_key`` needs ``api_key`` (or the spec's variable) now, not at the first call."""
    import os

    from engine.registry import default_registry

    for op in operations:
        spec = default_registry().resolve(params["model"], op).family.operations[op]
        if spec.auth != "api_key" or params.get("api_key"):
            continue
        if spec.credentials_env and os.environ.get(spec.credentials_env):
            continue
        hint = f" or set {spec.credentials_env}" if spec.credentials_env else ""
        source.problem((*where, "model"), f"{params['model']!r} is called with an API key: add api_key{hint}")
        return False
    return True


def credentials_ok(source: Source, value: Any, keys: tuple[Any, ...]) -> bool:
    """Parse the credential now, so a broken one stops the start; the message never quotes it."""
    from engine import auth
    from engine.errors import APIError

    try:
        auth.credential_for(value)
    except APIError as exc:
        source.problem(keys, exc.message)
        return False
    return True


def _defaults_for(
    model: str, operation: str, defaults: dict[str, Any], litellm: dict[str, Any]
) -> dict[str, Any]:
    """Default params that this operation's spec accepts (a chat default must not break embeddings)."""
    from engine.registry import default_registry

    accepted = default_registry().resolve(model, operation).family.operations[operation].params
    chosen = {k: v for k, v in defaults.items() if k in accepted or k == "extra_body"}
    if (
        "safety_settings" in accepted
        and litellm.get("vertex_ai_safety_settings")
        and "safety_settings" not in chosen
    ):
        chosen["safety_settings"] = litellm["vertex_ai_safety_settings"]
    return chosen


def _redis_settings(source: Source, router: dict[str, Any], litellm: dict[str, Any]) -> tuple[Any, Any]:
    """The shared Redis and the cache settings; a port that is no port number is a problem naming its key."""
    params = litellm.get("cache_params") if isinstance(litellm.get("cache_params"), dict) else {}
    bad = False
    for keys, value in (
        (("router_settings", "redis_port"), router.get("redis_port")),
        (("litellm_settings", "cache_params", "port"), params.get("port")),
    ):
        if value is not None and not (str(value).isdigit() and 0 < int(value) < 65536):
            source.problem(keys, "must be a port number (1-65535)")
            bad = True
    if bad:
        return None, None
    try:
        redis = shared_redis(router, os.environ)
        return redis, cache_settings(litellm, redis, os.environ)
    except ValueError:  # REDIS_PORT from the environment
        source.problem(("router_settings", "redis_port"), "REDIS_PORT must be a port number (1-65535)")
        return None, None


def _unique_ids(source: Source, deployments: list[Deployment]) -> None:
    seen: dict[str, int] = {}
    for index, deployment in enumerate(deployments):
        if deployment.id in seen:
            source.problem(
                ("model_list", index, "model_info", "id"), f"deployment id {deployment.id!r} is used twice"
            )
        seen[deployment.id] = index


FALLBACK_KINDS = ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks")


def _fallbacks(source: Source, kind: str, known: set[str]) -> dict[str, list[str]]:
    """One fallback table; LiteLLM accepts it in litellm_settings and router_settings, so both count."""
    table: dict[str, list[str]] = {}
    for section in ("litellm_settings", "router_settings"):
        for i, entry in enumerate((source.data.get(section) or {}).get(kind) or []):
            for name, targets in entry.items():
                for j, target in enumerate([name, *targets]):
                    if target not in known:
                        keys = (section, kind, i, name) if j == 0 else (section, kind, i, name, j - 1)
                        source.problem(keys, f"fallback names model {target!r}, which is not in model_list")
                table.setdefault(name, []).extend(t for t in targets if t not in table[name] and t != name)
    return table


def _keys(source: Source, entries: list[dict[str, Any]], known: set[str]) -> list[KeySpec]:
    specs, seen = [], set()
    for i, entry in enumerate(entries):
        if entry["key"] in seen:
            source.problem(("general_settings", "keys", i, "key"), "the same key is listed twice")
        seen.add(entry["key"])
        models = entry.get("models")
        for j, name in enumerate(models or []):
            if name != "*" and name not in known:
                source.problem(
                    ("general_settings", "keys", i, "models", j),
                    f"key allows model {name!r}, which is not in model_list",
                )
        specs.append(
            KeySpec(
                key=entry["key"],
                alias=entry.get("key_alias", f"key-{i}"),
                models=None if models is None or "*" in models else frozenset(models),
                rpm_limit=entry.get("rpm_limit"),
                tpm_limit=entry.get("tpm_limit"),
                max_parallel_requests=entry.get("max_parallel_requests"),
            )
        )
    return specs
