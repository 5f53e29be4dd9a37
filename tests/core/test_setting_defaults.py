"""The module settings' defaults, read in a fresh interpreter.

Every test runs with the settings reset by ``tests/conftest.py`` (``_clean_settings``), which would hide
a changed default (e.g. ``num_retries = 1``: every failed call silently retried); a fresh process sees
the values ``import engine`` really gives. They are the README's documented defaults ("Settings").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DEFAULTS = {
    "vertex_project": None,
    "vertex_location": None,
    "vertex_ai_safety_settings": None,
    "drop_params": False,
    "set_verbose": False,
    "num_retries": 0,
    "request_timeout": 600.0,
    "strict_openai_compliance": False,
    "fetch_media_urls": None,
    "media_fetch_max_bytes": 20 * 1024 * 1024,
    "media_fetch_timeout": 10.0,
    "media_fetch_allow_private": False,
}


def test_import_engine_gives_the_documented_defaults() -> None:
    code = f"import engine, json; print(json.dumps({{n: getattr(engine, n) for n in {sorted(DEFAULTS)!r}}}))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    assert json.loads(done.stdout) == DEFAULTS
