"""Optional packages in tests: skipped with a reason on a laptop, required in CI.

Why not plain ``pytest.importorskip``: the ``test`` extra installs every one of these, so in
CI (``CI`` set, as .ci/run does) a missing one is a broken install, and skipping would hide
the tests that need it. Elsewhere a partial install still runs the rest of the suite.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest


def need(module: str) -> Any:
    """The module; in CI an ImportError (the run fails), elsewhere a skip naming it."""
    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[test]')")
