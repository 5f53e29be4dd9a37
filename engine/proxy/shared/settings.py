"""Where Redis is and what the response cache does, from LiteLLM's config names.

LiteLLM's proxy reads Redis from ``router_settings.redis_host`` / ``redis_port`` /
``redis_password`` or ``redis_url``, else the ``REDIS_HOST`` / ``REDIS_PORT`` /
``REDIS_PASSWORD`` / ``REDIS_URL`` environment variables, and its cache from
``litellm_settings.cache`` and ``cache_params`` (https://docs.litellm.ai/docs/proxy/caching,
https://docs.litellm.ai/docs/proxy/caching_settings). The same names mean the same here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

DEFAULT_PORT = 6379
SOCKET_TIMEOUT = (
    1.0  # seconds per Redis command (LiteLLM: 5): past it Redis counts as down and limits go local
)
MAX_CACHE_TTL = 10 * 365 * 86400  # ten years: beyond it a "ttl" is a mistake (and inf overflows Redis' EX)
DEFAULT_CACHE_TTL = 600.0  # LiteLLM's default_in_redis_ttl is unset (no expiry); a bounded default is safer
DEFAULT_NAMESPACE = "vertexlate"
# LiteLLM's call types (its supported_call_types names) and the proxy endpoint functions they mean.
# LiteLLM's default has its responses types too (CachingSupportedCallTypes, litellm/types/caching.py).
CALL_TYPES = frozenset({"acompletion", "atext_completion", "aembedding", "aimage_generation", "aresponses"})
DEFAULT_CALL_TYPES = frozenset({"acompletion", "atext_completion", "aembedding", "aresponses"})
# Why some call types LiteLLM names are not cached here (the config's warning says it; README,
# "Several workers and instances").
_NOT_BY_LITELLM = ", nor by LiteLLM (its CachingSupportedCallTypes has no anthropic_messages)"
NOT_CACHED = {
    "anthropic_messages": _NOT_BY_LITELLM,  # starts with "a": kept as written (see cache_settings)
    "aanthropic_messages": _NOT_BY_LITELLM,
}


@dataclass(frozen=True)
class RedisSettings:
    """How to reach one Redis server; ``url`` is what redis-py's ``from_url`` takes."""

    url: str = field(repr=False)  # may carry the password
    socket_timeout: float = SOCKET_TIMEOUT
    max_connections: int | None = None
    namespace: str = DEFAULT_NAMESPACE  # prefix of every key ("<namespace>:..."): one per environment


@dataclass(frozen=True)
class CacheSettings:
    """``litellm_settings.cache_params``: where responses are cached and for how long."""

    type: str = "local"  # "local" (this process) or "redis" (shared)
    ttl: float = DEFAULT_CACHE_TTL
    namespace: str = DEFAULT_NAMESPACE
    call_types: frozenset[str] = DEFAULT_CALL_TYPES
    mode: str = "default_on"  # "default_off": only requests that send cache: {"use-cache": true}
    scope: str = "key"  # who shares entries: "key" (one API key), "team", or "global"
    redis: RedisSettings | None = None
    max_size: int = 10_000  # entries of the local cache


def _url(host: Any, port: Any, password: Any) -> str:
    auth = f":{quote(str(password), safe='')}@" if password else ""
    return f"redis://{auth}{host}:{int(port or DEFAULT_PORT)}/0"


def redis_from(section: Mapping[str, Any], prefix: str = "redis_") -> str | None:
    """The Redis URL a config section names (``redis_url``, else ``redis_host`` [+ port, password])."""
    url = section.get(f"{prefix}url")
    if url:
        return str(url)
    host = section.get(f"{prefix}host")
    if host:
        return _url(host, section.get(f"{prefix}port"), section.get(f"{prefix}password"))
    return None


def redis_from_env(environ: Mapping[str, str]) -> str | None:
    """LiteLLM's environment variables: ``REDIS_URL``, else ``REDIS_HOST`` / ``REDIS_PORT`` / ``REDIS_PASSWORD``."""
    if environ.get("REDIS_URL"):
        return environ["REDIS_URL"]
    if environ.get("REDIS_HOST"):
        return _url(environ["REDIS_HOST"], environ.get("REDIS_PORT"), environ.get("REDIS_PASSWORD"))
    return None


def shared_redis(router: Mapping[str, Any], environ: Mapping[str, str]) -> RedisSettings | None:
    """The Redis of the shared state: router_settings, else the environment; None: state stays in-process."""
    url = redis_from(router) or redis_from_env(environ)
    if url is None:
        return None
    return RedisSettings(
        url,
        float(router.get("redis_socket_timeout", SOCKET_TIMEOUT)),
        namespace=str(router.get("redis_namespace") or DEFAULT_NAMESPACE),
    )


def cache_settings(
    litellm: Mapping[str, Any], shared: RedisSettings | None, environ: Mapping[str, str]
) -> CacheSettings | None:
    """``litellm_settings.cache`` + ``cache_params``; None when caching is off.

    A ``redis`` cache uses cache_params' host/port/password (or ``url``), else the shared
    state's Redis, else the environment. Without ``type`` the cache is Redis when one is
    configured (LiteLLM: "defaults to using a redis cache") and in-process otherwise.
    """
    if not litellm.get("cache"):
        return None
    params = litellm.get("cache_params") or {}
    url = redis_from(params, prefix="") or (shared.url if shared else None) or redis_from_env(environ)
    kind = params.get("type") or ("redis" if url else "local")
    redis = None
    if kind == "redis" and url is not None:
        timeout = float(params.get("socket_timeout", shared.socket_timeout if shared else SOCKET_TIMEOUT))
        redis = RedisSettings(url, timeout, params.get("max_connections"))
    ttl = params.get(
        "ttl", params.get("default_in_redis_ttl" if kind == "redis" else "default_in_memory_ttl")
    )
    return CacheSettings(
        type=kind,
        ttl=float(ttl) if ttl is not None else DEFAULT_CACHE_TTL,
        namespace=str(params.get("namespace") or DEFAULT_NAMESPACE),
        call_types=frozenset(  # LiteLLM accepts both "completion" and "acompletion"
            t if t.startswith("a") else f"a{t}"
            for t in params.get("supported_call_types") or DEFAULT_CALL_TYPES
        ),
        mode=str(params.get("mode") or "default_on"),
        scope=str(params.get("scope") or "key"),
        redis=redis,
    )
