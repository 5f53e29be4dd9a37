"""Mutation testing for the engine and the specs: does the suite fail when the code or a table is wrong?

Two mutators, one runner:

- **Python** (``engine/*.py``, ``engine/transforms/*.py``): one small change at a time, found with
  ``ast`` and applied to the source text at its exact position: a comparison flipped
  (``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``in`` ↔ ``not in``), ``and`` ↔ ``or``,
  an integer constant moved by one, ``True`` ↔ ``False``, ``+`` ↔ ``-``.
- **Specs** (``specs/*.yaml``), aware of the table language: a ``map:`` value swapped with another
  value of the same map, a ``min:``/``max:`` bound moved by one (loosened), a parameter's ``to:``
  path renamed.

Each mutant is applied to a scratch copy of the checkout, the chosen tests run there with ``-x``
(stop at the first failure: a killed mutant costs little), and the copy is restored. A mutant
is *killed* when the tests fail, *survives* when they pass, *times out* past ``--timeout``
(counted as killed, like mutmut). The report prints the score and every survivor with its place,
so each one gets a test or a reason (an equivalent mutant).

It is slow by nature (one test run per mutant) and not a CI gate: run it before a release,
e.g. ``python tools/mutation.py --specs --sample 60`` or
``python tools/mutation.py --python engine/transport.py --tests tests/core``, and quote the
score in the closing note.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "dist", "build"
)
DEFAULT_TESTS = ["tests"]


@dataclass(frozen=True)
class Mutant:
    """One change: replace ``old`` at ``offset`` of ``path`` (relative to the checkout) by ``new``."""

    path: str
    line: int
    offset: int
    old: str
    new: str
    kind: str

    def describe(self) -> str:
        return f"{self.path}:{self.line} {self.kind}: {self.old!r} -> {self.new!r}"


# --------------------------------------------------------------------------- Python mutants

_COMPARE_SWAPS = {
    ast.Lt: ("<", "<="),
    ast.LtE: ("<=", "<"),
    ast.Gt: (">", ">="),
    ast.GtE: (">=", ">"),
    ast.Eq: ("==", "!="),
    ast.NotEq: ("!=", "=="),
}


def _line_offsets(text: str) -> list[int]:
    offsets, total = [], 0
    for line in text.splitlines(keepends=True):
        offsets.append(total)
        total += len(line)
    return offsets


def python_mutants(path: Path) -> Iterator[Mutant]:
    text = path.read_text(encoding="utf-8")
    rel = path.relative_to(ROOT).as_posix()
    starts = _line_offsets(text)
    tree = ast.parse(text)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }

    def at(node: ast.AST, col: int) -> int:
        return starts[node.lineno - 1] + col  # type: ignore[attr-defined]

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            left_end = node.left.end_col_offset if node.left.end_lineno == node.lineno else None
            if left_end is None:
                continue
            for op, right in zip(node.ops, node.comparators, strict=False):
                if type(op) not in _COMPARE_SWAPS:
                    continue
                old, new = _COMPARE_SWAPS[type(op)]
                segment = (
                    text[at(node, left_end) : at(right, right.col_offset)]
                    if right.lineno == node.lineno
                    else ""
                )
                pos = segment.find(old)
                if (
                    pos >= 0
                    and (old != "<" or segment[pos : pos + 2] != "<=")
                    and (old != ">" or segment[pos : pos + 2] != ">=")
                ):
                    yield Mutant(rel, node.lineno, at(node, left_end) + pos, old, new, "compare")
                break
        elif isinstance(node, ast.BoolOp) and len(node.values) == 2:
            first, second = node.values
            if first.end_lineno == second.lineno:
                gap_start = starts[first.end_lineno - 1] + first.end_col_offset
                segment = text[gap_start : at(second, second.col_offset)]
                old = "and" if isinstance(node.op, ast.And) else "or"
                pos = segment.find(f" {old} ")
                if pos >= 0:
                    yield Mutant(
                        rel, node.lineno, gap_start + pos + 1, old, "or" if old == "and" else "and", "boolop"
                    )
        elif isinstance(node, ast.Constant) and id(node) not in docstrings and node.lineno == node.end_lineno:
            source = text[at(node, node.col_offset) : starts[node.lineno - 1] + node.end_col_offset]
            if isinstance(node.value, bool):
                yield Mutant(rel, node.lineno, at(node, node.col_offset), source, str(not node.value), "bool")
            elif isinstance(node.value, int) and source.isdigit():
                yield Mutant(
                    rel, node.lineno, at(node, node.col_offset), source, str(node.value + 1), "number"
                )
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, (ast.Add, ast.Sub))
            and node.left.end_lineno == node.right.lineno == node.lineno
        ):
            gap_start = starts[node.lineno - 1] + node.left.end_col_offset
            segment = text[gap_start : at(node.right, node.right.col_offset)]
            old, new = ("+", "-") if isinstance(node.op, ast.Add) else ("-", "+")
            pos = segment.find(old)
            if pos >= 0:
                yield Mutant(rel, node.lineno, gap_start + pos, old, new, "arith")


# --------------------------------------------------------------------------- spec mutants

_BOUND = re.compile(r"\b(min|max): (-?\d+(?:\.\d+)?)\b")
_TO = re.compile(r"\bto: ([A-Za-z_][\w.]*)")
_MAP_START = re.compile(r"^(\s*)map:\s*$")
_MAP_ENTRY = re.compile(r"^(\s*)([^\s#:][^:#]*?): ([^\s#{}\[\]][^#{}\[\]]*?)\s*(#.*)?$")


def spec_mutants(path: Path) -> Iterator[Mutant]:
    text = path.read_text(encoding="utf-8")
    rel = path.relative_to(ROOT).as_posix()
    lines = text.splitlines(keepends=True)
    starts = _line_offsets(text)
    for number, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        code = line.split(" #", 1)[0]
        for match in _BOUND.finditer(code):
            value = match.group(2)
            moved = float(value) + (1 if match.group(1) == "max" else -1)
            new = str(int(moved)) if "." not in value else str(moved)
            yield Mutant(
                rel, number + 1, starts[number] + match.start(2), value, new, f"{match.group(1)} bound"
            )
        for match in _TO.finditer(code):
            yield Mutant(
                rel,
                number + 1,
                starts[number] + match.start(1),
                match.group(1),
                match.group(1) + "X",
                "to path",
            )
    # Block-style value tables: swap each value with the next different value of the same map.
    for number, line in enumerate(lines):
        start = _MAP_START.match(line)
        if not start:
            continue
        indent, entries = len(start.group(1)), []
        for follow in range(number + 1, len(lines)):
            entry = _MAP_ENTRY.match(lines[follow].rstrip("\n"))
            if not lines[follow].strip():
                continue
            if not entry or len(entry.group(1)) <= indent:
                break
            entries.append((follow, entry))
        values = [e.group(3) for _, e in entries]
        for i, (row, entry) in enumerate(entries):
            other = next((v for v in values[i + 1 :] + values[:i] if v != entry.group(3)), None)
            if other is not None:
                yield Mutant(rel, row + 1, starts[row] + entry.start(3), entry.group(3), other, "map value")


# --------------------------------------------------------------------------- runner


def run_tests(copy: Path, tests: list[str], timeout: float) -> str:
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        *tests,
    ]
    try:
        done = subprocess.run(command, cwd=copy, env=env, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if done.returncode == 0 else "killed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--python",
        nargs="*",
        metavar="FILE",
        help="Python files to mutate (default: engine core and transforms)",
    )
    parser.add_argument(
        "--specs", nargs="*", metavar="FILE", help="spec files to mutate (default: specs/*.yaml)"
    )
    parser.add_argument("--tests", nargs="+", default=DEFAULT_TESTS, help="test paths to run per mutant")
    parser.add_argument(
        "--sample", type=int, default=0, help="mutate only this many, drawn at random (0: all)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds per mutant before it counts as killed"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    args = parser.parse_args(argv)

    mutants: list[Mutant] = []
    if args.python is not None:
        files = [ROOT / f for f in args.python] or sorted(
            [*ROOT.glob("engine/*.py"), *ROOT.glob("engine/transforms/*.py")]
        )
        for path in files:
            mutants.extend(python_mutants(path.resolve()))
    if args.specs is not None:
        for path in [ROOT / f for f in args.specs] or sorted(ROOT.glob("specs/*.yaml")):
            mutants.extend(spec_mutants(path.resolve()))
    if not mutants:
        parser.error("nothing to mutate: pass --python and/or --specs")
    if args.sample and args.sample < len(mutants):
        mutants = sorted(
            random.Random(args.seed).sample(mutants, args.sample), key=lambda m: (m.path, m.offset)
        )
    if args.list:
        for mutant in mutants:
            print(mutant.describe())
        print(f"{len(mutants)} mutants")
        return 0

    results: dict[str, list[Mutant]] = {"killed": [], "survived": [], "timeout": []}
    with tempfile.TemporaryDirectory(prefix="vertexlate-mutants-") as scratch:
        copy = Path(scratch) / "tree"
        shutil.copytree(ROOT, copy, ignore=IGNORE)
        if run_tests(copy, args.tests, args.timeout) != "survived":
            print("the tests fail on the unmutated tree; fix them first", file=sys.stderr)
            return 2
        began = time.monotonic()
        for number, mutant in enumerate(mutants, 1):
            target = copy / mutant.path
            original = target.read_text(encoding="utf-8")
            assert original[mutant.offset : mutant.offset + len(mutant.old)] == mutant.old, mutant.describe()
            target.write_text(
                original[: mutant.offset] + mutant.new + original[mutant.offset + len(mutant.old) :],
                encoding="utf-8",
            )
            try:
                outcome = run_tests(copy, args.tests, args.timeout)
            finally:
                target.write_text(original, encoding="utf-8")
            results[outcome].append(mutant)
            print(f"[{number}/{len(mutants)}] {outcome:8} {mutant.describe()}", flush=True)
        elapsed = time.monotonic() - began

    killed = len(results["killed"]) + len(results["timeout"])
    print(f"\nscore: {killed}/{len(mutants)} killed ({100 * killed / len(mutants):.1f}%) in {elapsed:.0f} s")
    if results["survived"]:
        print("survivors (each needs a test, or a reason it is equivalent):")
        for mutant in results["survived"]:
            print(f"  {mutant.describe()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
