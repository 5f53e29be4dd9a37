"""Whether traces are wanted, decided without importing OpenTelemetry (the SDK loads only when they are)."""

from __future__ import annotations

import os


def wanted(callbacks: tuple[str, ...] | list[str] = ()) -> bool:
    """``OTEL_EXPORTER_OTLP_ENDPOINT`` (or its traces-only form) is set, or ``otel`` is a LiteLLM callback."""
    return "otel" in callbacks or bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
