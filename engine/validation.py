"""Check specs the way CI does: schema, compilation, references and model-name ambiguity.

Problems are collected, never raised one at a time, and each names file, line and
key, so one run shows everything wrong with a spec directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def validate(paths: Iterable[str | Path] = ()) -> list[str]:
    """All problems in the built-in specs plus the given spec files or directories."""
    from engine.registry import Registry

    missing = [f"{p}: no such file or directory" for p in map(Path, paths) if not p.exists()]
    return missing + Registry(list(paths), strict=False).problems


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="vertexlate validate", description="Validate Vertexlate spec files."
    )
    parser.add_argument(
        "paths", nargs="*", help="extra spec files or directories (the built-in specs are always checked)"
    )
    args = parser.parse_args(argv)
    problems = validate(args.paths)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found")
        return 1
    from engine.registry import Registry

    registry = Registry(args.paths)
    print(f"ok: {len(registry.families)} families, {len(registry.models())} model entries")
    return 0
