"""Observability of the proxy: Prometheus metrics, OpenTelemetry traces, request ids and JSON logs.

One job per module:

- :mod:`.request_id`: the id of each request (``x-request-id`` in, validated, echoed out);
- :mod:`.metrics`: the metric families (LiteLLM's names) and the hooks that count;
- :mod:`.exposition`: ``GET /metrics``, single process or ``--workers N`` (multiprocess files);
- :mod:`.tracing`: OpenTelemetry spans (imported only when traces are on);
- :mod:`.telemetry`: one request's trail, feeding both, and the router's hooks;
- :mod:`.logs`: ``--log-format json`` with secrets masked.

prometheus_client and OpenTelemetry are optional: nothing here imports them at module level.
"""

from engine.proxy.observability.telemetry import NULL_TRAIL, Telemetry, build

__all__ = ["NULL_TRAIL", "Telemetry", "build"]
