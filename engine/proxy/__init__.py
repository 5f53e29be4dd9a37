"""An OpenAI-compatible HTTP proxy over the engine, configured with LiteLLM's ``config.yaml``.

    vertexlate serve --config config.yaml --port 4000

Any OpenAI client pointed at it (``base_url="http://127.0.0.1:4000/v1"``) reaches every
Vertex AI model the config lists, with load balancing, failover, fallbacks, rate limits
and API keys, plus the files, batches and fine-tuning endpoints (credentials from the
config's ``files_settings`` / ``finetune_settings``). Importing this package starts
nothing; :func:`main` runs the server.
"""

from __future__ import annotations

from typing import Any

__all__ = ["main", "create_app", "load_config", "ConfigError", "BackgroundProxy"]

_LAZY = {
    "main": "engine.proxy.server",
    "BackgroundProxy": "engine.proxy.server",
    "create_app": "engine.proxy.app",
    "load_config": "engine.proxy.config",
    "ConfigError": "engine.proxy.source",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.proxy' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
