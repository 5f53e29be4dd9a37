#!/usr/bin/env python3
"""Validate every spec (the built-in ones plus any paths given); exit 1 on any problem.

Same as ``vertexlate validate``; kept here so CI and the before-stop hook can run it
from a checkout without installing the console script.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.validation import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
