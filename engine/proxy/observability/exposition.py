"""``GET /metrics``: the Prometheus text format, one process's registry or every worker's files.

Auth follows LiteLLM: ``/metrics`` is open by default (Prometheus scrapes without a key) and
``litellm_settings.require_auth_for_metrics_endpoint: true`` makes it require a key the proxy
accepts (its ``PrometheusAuthMiddleware``; https://docs.litellm.ai/docs/proxy/prometheus).

Multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``): each worker writes its values to memory-mapped
files there and a scrape, whichever worker serves it, sums them all
(https://prometheus.github.io/client_python/multiprocess/).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def prepare_workers(workers: int) -> str | None:
    """Before ``--workers N`` starts: make sure the workers share a metrics directory; its path.

    A directory the operator set is used as it is (prometheus_client's docs: empty it between
    runs); otherwise a fresh one is created, so counts never mix with an earlier run's.
    """
    if workers <= 1:
        return None
    if not multiprocess():
        os.environ[MULTIPROC_ENV] = path = tempfile.mkdtemp(prefix="vertexlate-metrics-")
        atexit.register(shutil.rmtree, path, ignore_errors=True)  # ours: removed when serve exits
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)
    return os.environ[MULTIPROC_ENV]


def render(metrics: Any) -> tuple[bytes, str]:
    """The scrape body and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    if multiprocess():
        from prometheus_client import multiprocess as mp

        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)
        if getattr(metrics, "budgets", None) is not None:  # this worker's view of the budgets
            registry.register(metrics.budgets)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(metrics.registry), CONTENT_TYPE_LATEST


def route(proxy: Any) -> Any:
    """The ``/metrics`` handler for ``proxy`` (404 in OpenAI's format when metrics are off)."""
    from starlette.responses import Response

    from engine.errors import APIError, NotFoundError
    from engine.proxy.handlers import error_response

    async def metrics_endpoint(request: Any) -> Any:
        metrics = proxy.telemetry.metrics
        if not metrics.enabled:
            return error_response(
                NotFoundError(
                    "metrics are off: add 'prometheus' to litellm_settings.callbacks "
                    "(and install prometheus_client)",
                    llm_provider="proxy",
                )
            )
        if proxy.config.metrics_auth:
            try:
                await proxy.keys.aauthenticate(request.headers.get("authorization"))
            except APIError as exc:
                return error_response(exc)
        body, content_type = render(metrics)
        return Response(body, media_type=content_type)

    return metrics_endpoint
