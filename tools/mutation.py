"""Mutation testing for the engine and the specs: does the suite fail when the code or a table is wrong?

Two mutators, one runner:

- **Python** (``engine/*.py``, ``engine/transforms/*.py``): one small change at a time, found with
  ``ast`` and applied to the source text at its exact position: a comparison flipped
  (``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``in`` ↔ ``not in``), ``and`` ↔ ``or``,
  an integer constant moved by one, ``True`` ↔ ``False``, ``+`` ↔ ``-``.
- **Specs** (``specs/*.yaml``), aware of the table language: a ``map:`` value swapped with another
  value of the same map, a ``min:``/``max:`` bound moved by one (loosened), a parameter's ``to:``
  path renamed.

Each mutant is applied to a scratch copy of the checkout, the tests that could notice it run there
with ``-x`` (stop at the first failure: a killed mutant costs little), and the copy is restored. Which
tests: for Python, those that execute the mutated line, from a coverage map built once with one context
per test (``--build-map``); for a spec, the pinned table tests in-process first, then the test files
naming the spec. A mutant is *killed* when the tests fail, *survives* when they pass, *times out*
(counted as killed, like mutmut). Runs are ``nice -n 19``, one at a time, so a shared machine stays usable.
The report prints the score per area and every survivor, so each one gets a test or a reason
(``tools/mutation_equivalent.txt``).

It is slow by nature (one test run per mutant) and not a CI gate: run it before a release
(README "Mutation testing" has the commands and the last figures) and quote the score in the closing note.
"""

from __future__ import annotations

import argparse
import ast
import json
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


# --------------------------------------------------------------------------- which tests cover what

MAP_DIR = ROOT / ".mutation"
COVERAGE_DB = MAP_DIR / "coverage.db"
DURATIONS = MAP_DIR / "durations.json"
_durations: dict[str, float] = {}
_failed: set[str] = set()


def pytest_runtest_setup(item) -> None:  # noqa: ANN001 - pytest hook, loaded with ``-p mutation``
    """Label every line the test (and its fixtures' setup) runs with the test's node id."""
    import coverage

    current = coverage.Coverage.current()
    if current is not None:
        current.switch_context(item.nodeid)


def pytest_runtest_logreport(report) -> None:  # noqa: ANN001 - pytest hook
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration
    if report.failed:
        _failed.add(report.nodeid)


def pytest_sessionfinish(session) -> None:  # noqa: ANN001 - pytest hook
    if os.environ.get("VERTEXLATE_MUTATION_MAP"):
        record = {"durations": _durations, "failed": sorted(_failed)}
        DURATIONS.write_text(json.dumps(record, indent=0, sort_keys=True), encoding="utf-8")


def build_map(tests: list[str]) -> int:
    """Run the suite once under coverage with one context per test: the map of line -> tests.

    One full run (minutes on a loaded 2-core machine) buys a per-mutant run of only the tests that
    execute the mutated line, which is what makes the whole Python target feasible.
    """
    MAP_DIR.mkdir(exist_ok=True)
    COVERAGE_DB.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tools")]),
        "VERTEXLATE_MUTATION_MAP": "1",
        "VERTEXLATE_HYPOTHESIS_PROFILE": "ci",
    }
    command = [
        "nice", "-n", "19", sys.executable, "-m", "coverage", "run",
        f"--data-file={COVERAGE_DB}", "--source=engine", "-m", "pytest",
        "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "mutation", "-n", "0", *tests,
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


# Modules the tests run in a child process (the ``vertexlate`` command), where coverage sees nothing:
# their uncovered lines go to these tests.
SUBPROCESS_TESTS = {
    "engine/cli.py": ("tests/core/test_cli.py", "tests/core/test_mutation_survivors.py"),
    "engine/demo.py": ("tests/core/test_cli.py::test_demo_runs_every_step_against_the_emulator",),
}


@dataclass
class TestMap:
    """Which tests run which line (from the coverage map), and how long each test takes."""

    lines: dict[str, dict[int, set[str]]]
    durations: dict[str, float]
    failed: set[str]

    @classmethod
    def load(cls) -> TestMap:
        import coverage

        data = coverage.CoverageData(basename=str(COVERAGE_DB))
        data.read()
        lines: dict[str, dict[int, set[str]]] = {}
        for measured in data.measured_files():
            rel = Path(measured).resolve().relative_to(ROOT).as_posix()
            lines[rel] = {n: {c for c in ctx if c} for n, ctx in data.contexts_by_lineno(measured).items()}
        record = json.loads(DURATIONS.read_text(encoding="utf-8")) if DURATIONS.exists() else {}
        if "durations" not in record:  # written by an older version: durations only
            record = {"durations": record}
        return cls(lines, record.get("durations", {}), set(record.get("failed", ())))

    def tests_for(self, mutant: Mutant, budget: float = 0.0) -> list[str]:
        """The tests that run the mutated line, fastest first, up to ``budget`` seconds of their
        recorded time (0: all).

        For a line only run at import, every test that runs any line of the file (the constant is
        read elsewhere). For a module only run in a subprocess (the CLI), where coverage sees nothing,
        the test files named after it (``tests/**/test_<module>.py``).
        """
        by_line = self.lines.get(mutant.path, {})
        chosen = set(by_line.get(mutant.line, ()))
        if not chosen and mutant.line in by_line:
            chosen = set().union(*by_line.values())
        if not chosen and mutant.path in SUBPROCESS_TESTS:
            chosen = set(SUBPROCESS_TESTS[mutant.path])
        if not chosen and not by_line:
            stem = Path(mutant.path).stem
            chosen = {t.relative_to(ROOT).as_posix() for t in ROOT.glob(f"tests/**/test_{stem}.py")}
        # A test that failed on the clean tree would "kill" every mutant: leave it out.
        ordered = sorted(chosen - self.failed, key=lambda t: (self.durations.get(t, 1.0), t))
        if budget:
            kept, spent = [], 0.0
            for test in ordered:
                spent += self.durations.get(test, 1.0)
                if kept and spent > budget:
                    break
                kept.append(test)
            ordered = kept
        return ordered

    def cost(self, tests: list[str]) -> float:
        return sum(self.durations.get(t, 1.0) for t in tests)


# --------------------------------------------------------------------------- runner


# Slow files that name every spec but test something else (the store's database, process start-up,
# random inputs): left out of the spec mutants' runs, which would otherwise cost minutes each.
SPEC_TESTS_LEFT_OUT = (
    "tests/proxy/store/",
    "tests/proxy/test_serve.py",
    "tests/proxy/test_fuzz.py",
    "tests/hardening/test_fuzz_library.py",
    "tests/core/test_packaging.py",
)


SPEC_QUICK = ROOT / "tests" / "core" / "test_spec_tables_pinned.py"


def spec_quick_check(copy: Path) -> bool:
    """Whether the pinned table tests fail on the (mutated) specs of ``copy``: run in this process.

    A pytest start costs seconds on a loaded machine; compiling the specs costs a fraction of one.
    The engine is this checkout's (a spec mutant changes data only); its built-in spec directory is
    pointed at the copy, and the test module is loaded fresh, so it reads the mutated specs.
    """
    import importlib.util

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from engine import loader, registry

    original = loader.builtin_spec_dir
    loader.builtin_spec_dir = lambda: copy / "specs"
    registry.reset()
    try:
        spec = importlib.util.spec_from_file_location("_pinned_tables", SPEC_QUICK)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.test_every_bound_in_the_specs_is_written_out_here()
        module.test_every_scalar_table_in_the_specs_is_written_out_here()
        for case in module.CASES:
            module.test_bounds_are_applied_exactly(*case)
        for case in module.TABLE_CASES:
            module.test_tables_translate_each_value(*case)
    except Exception:  # noqa: BLE001 - any failure (an assertion, a spec the compiler refuses) kills
        return True
    finally:
        loader.builtin_spec_dir = original
        registry.reset()
    return False


def spec_tests(path: str, durations: dict[str, float]) -> list[str]:
    """The test files for a spec: those naming it or a spec that extends it, and the table checks.

    A table is data, so coverage cannot say who reads it; naming is the cheap proxy. Fastest file first,
    so that with ``-x`` a killed mutant stops early.
    """
    stem = Path(path).stem
    family = {stem}
    parents = {
        s.stem: re.findall(r"^extends: (\w+)", s.read_text(encoding="utf-8"), re.M)
        for s in ROOT.glob("specs/*.yaml")
    }
    grown = True
    while grown:
        more = {child for child, up in parents.items() if family & set(up)} - family
        family |= more
        grown = bool(more)
    names = [n.lower() for n in family] + [n.replace("_", "-").lower() for n in family]
    chosen = {
        f"tests/core/{name}" for name in ("test_specs.py", "test_documented_tables.py", "test_spec_checks.py")
    }
    for test in ROOT.glob("tests/**/test_*.py"):
        text = test.read_text(encoding="utf-8").lower()
        rel = test.relative_to(ROOT).as_posix()
        if any(name in text for name in names) and not rel.startswith(SPEC_TESTS_LEFT_OUT):
            chosen.add(rel)
    per_file: dict[str, float] = {}
    for nodeid, seconds in durations.items():
        file = nodeid.split("::", 1)[0]
        per_file[file] = per_file.get(file, 0.0) + seconds
    return sorted(chosen, key=lambda f: (per_file.get(f, 0.0), f))  # new files first


def run_tests(copy: Path, tests: list[str], timeout: float) -> str:
    """Run ``tests`` in the scratch copy at the lowest priority; the first failure ends the run."""
    env = {
        **os.environ,
        "PYTHONPATH": str(copy),
        "PYTHONDONTWRITEBYTECODE": "1",
        "VERTEXLATE_HYPOTHESIS_PROFILE": "ci",  # derandomized: a mutant's outcome depends on the code alone
    }
    command = [
        "nice", "-n", "19", sys.executable, "-m", "pytest", "-x", "-q",
        "-p", "no:cacheprovider", "-p", "no:randomly", "-n", "0", *tests,
    ]  # fmt: skip
    try:
        done = subprocess.run(command, cwd=copy, env=env, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout"
    if done.returncode == 5:  # no tests collected: nothing ran the line
        return "uncovered"
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
    parser.add_argument(
        "--tests", nargs="+", help="test paths to run for every mutant (default: the ones that cover it)"
    )
    parser.add_argument("--kinds", nargs="+", help="only these mutant kinds, e.g. 'map value' 'max bound'")
    parser.add_argument(
        "--out", type=Path, default=MAP_DIR / "results.jsonl", help="one JSON line per mutant"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="Python mutants: run the fastest covering tests up to this many recorded seconds (0: all)",
    )
    parser.add_argument("--also", nargs="+", default=[], help="tests run first for every mutant (new ones)")
    parser.add_argument(
        "--recheck", type=Path, help="only the survivors of this results file (after adding tests)"
    )
    parser.add_argument("--resume", action="store_true", help="skip the mutants already in --out")
    parser.add_argument("--report", action="store_true", help="print the report of --out and stop")
    parser.add_argument(
        "--sample", type=int, default=0, help="mutate only this many, drawn at random (0: all)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="least seconds per mutant before it counts as killed"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument(
        "--build-map",
        action="store_true",
        help="run the tests once under coverage to record which tests run which line (.mutation/), and stop",
    )
    args = parser.parse_args(argv)
    if args.build_map:
        return build_map(args.tests or DEFAULT_TESTS)
    if args.report:
        return report(args.out)

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
    if args.kinds:
        mutants = [m for m in mutants if m.kind in args.kinds]
    if args.recheck:
        earlier = _read_results(args.recheck)
        mutants = [m for m in mutants if _row(earlier, m).get("outcome") in ("survived", "uncovered")]
    if not mutants:
        parser.error("nothing to mutate: pass --python and/or --specs")
    if args.sample and args.sample < len(mutants):
        # kept in the drawn order: a run stopped early is still a uniform sample of what it ran
        mutants = random.Random(args.seed).sample(mutants, args.sample)
    if args.list:
        for mutant in mutants:
            print(mutant.describe())
        print(f"{len(mutants)} mutants")
        return 0

    test_map = TestMap.load() if COVERAGE_DB.exists() else TestMap({}, {}, set())
    if not test_map.lines and args.tests is None and any(not m.path.startswith("specs/") for m in mutants):
        print("no test map for Python mutants: run --build-map first (or name --tests)", file=sys.stderr)
        return 2
    args.out.parent.mkdir(exist_ok=True)
    done = _read_results(args.out) if args.resume else {}
    out = args.out.open("a" if args.resume else "w", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="vertexlate-mutants-") as scratch, out:
        copy = Path(scratch) / "tree"
        shutil.copytree(ROOT, copy, ignore=IGNORE)
        if any(m.path.startswith("specs/") for m in mutants) and spec_quick_check(copy):
            print(f"{SPEC_QUICK.name} fails on the unmutated specs; fix it first", file=sys.stderr)
            return 2
        for number, mutant in enumerate(mutants, 1):
            if _row(done, mutant):
                continue
            if args.tests is not None:
                tests, cost = args.tests, args.timeout
            elif mutant.path.startswith("specs/"):
                tests = spec_tests(mutant.path, test_map.durations)
                cost = sum(v for k, v in test_map.durations.items() if k.split("::", 1)[0] in tests)
            else:
                tests = test_map.tests_for(mutant, args.budget)
                cost = test_map.cost(tests)
            if args.also:  # new tests are not in the coverage map yet: they run for every mutant
                tests = [*args.also, *tests]
            began = time.monotonic()
            if not tests:
                outcome = "uncovered"
            else:
                target = copy / mutant.path
                original = target.read_text(encoding="utf-8")
                assert original[mutant.offset : mutant.offset + len(mutant.old)] == mutant.old, (
                    mutant.describe()
                )
                target.write_text(
                    original[: mutant.offset] + mutant.new + original[mutant.offset + len(mutant.old) :],
                    encoding="utf-8",
                )
                try:
                    outcome = "survived"
                    if mutant.path.startswith("specs/") and args.tests is None and spec_quick_check(copy):
                        outcome = "killed"  # by the pinned table tests, run in-process first
                    if outcome == "survived":
                        # generous: the machine is shared, and a mutant that hangs the tests counts as killed
                        outcome = run_tests(copy, tests, max(args.timeout, 4 * cost + 60))
                finally:
                    target.write_text(original, encoding="utf-8")
            seconds = time.monotonic() - began
            out.write(
                json.dumps(
                    {
                        "mutant": mutant.describe(),
                        "offset": mutant.offset,
                        "area": _area(mutant),
                        "outcome": outcome,
                        "tests": len(tests),
                        "seconds": round(seconds, 1),
                    }
                )
                + "\n"
            )
            out.flush()
            print(f"[{number}/{len(mutants)}] {outcome:9} {seconds:5.1f}s {mutant.describe()}", flush=True)
    return report(args.out)


def _area(mutant: Mutant) -> str:
    if mutant.path.startswith("specs/"):
        return "specs: to paths" if mutant.kind == "to path" else "specs: maps and bounds"
    return "engine/transforms" if mutant.path.startswith("engine/transforms/") else "engine/*.py"


def _key(described: str, offset: int | None) -> str:
    # two mutants can share a description (e.g. two ``2`` on one line): the offset tells them apart
    return described if offset is None else f"{described} @{offset}"


def _row(results: dict[str, dict], mutant: Mutant) -> dict:
    return results.get(_key(mutant.describe(), mutant.offset)) or results.get(mutant.describe()) or {}


def _read_results(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {_key(row["mutant"], row.get("offset")): row for row in rows}


def report(path: Path, equivalent: Path | None = None) -> int:
    """Print the score per area and overall, and every survivor.

    A survivor listed in ``tools/mutation_equivalent.txt`` (one ``describe()`` line, then `` # reason``)
    is an equivalent mutant: no test can tell it from the original, so it leaves the total.
    """
    rows = list(_read_results(path).values())
    equivalent = equivalent or ROOT / "tools" / "mutation_equivalent.txt"
    reasons: dict[str, str] = {}
    if equivalent.exists():
        for line in equivalent.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                described, _, reason = line.partition("  # ")
                reasons[described.strip()] = reason.strip()
    totals: dict[str, list[int]] = {}
    survivors = []
    for row in rows:
        counted = totals.setdefault(row["area"], [0, 0, 0])
        if row["outcome"] in ("survived", "uncovered") and row["mutant"] in reasons:
            counted[2] += 1
            continue
        counted[1] += 1
        if row["outcome"] in ("killed", "timeout"):
            counted[0] += 1
        else:
            survivors.append(row)
    print()
    for area, (killed, total, same) in sorted(totals.items()):
        print(f"{area:24} {killed}/{total} killed ({100 * killed / max(total, 1):.1f}%), {same} equivalent")
    killed, total = sum(t[0] for t in totals.values()), sum(t[1] for t in totals.values())
    print(f"score: {killed}/{total} killed ({100 * killed / max(total, 1):.1f}%)")
    if survivors:
        print("survivors (each needs a test, or a reason in tools/mutation_equivalent.txt):")
        for row in survivors:
            print(f"  {row['outcome']:9} {row['mutant']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
