"""prometheus_client and OpenTelemetry are optional: the library and the proxy import and run without them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CODE = """
import sys
for name in ("prometheus_client", "opentelemetry"):
    sys.modules[name] = None  # as if not installed: any import of them raises ImportError
import engine, engine.proxy.app
from engine.proxy.observability import build
telemetry = build(("prometheus", "otel"), {"m"})
assert not telemetry.metrics.enabled and telemetry.tracing is None
loaded = [m for m, v in sys.modules.items() if m.startswith(("prometheus", "opentelemetry")) and v is not None]
assert not loaded, loaded
print("ok")
"""


def test_imports_without_the_optional_packages() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert "pip install 'vertexlate[otel]'" in done.stderr  # the missing package is named


def test_tracing_sdk_is_not_loaded_when_traces_are_off() -> None:
    code = (
        "import sys, engine.proxy.app; from engine.proxy.observability import build; build(('prometheus',));"
    )
    code += "print(any(m.startswith('opentelemetry') for m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)}
    )
    assert done.stdout.strip() == "False", done.stderr
