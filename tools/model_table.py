"""Generate the README's model table from the specs, and check that the committed one is current.

The specs are the single source of truth for which model names the engine serves; a
hand-written table would drift. ``--check README.md`` exits 1 when the table between
``<!-- models:start -->`` and ``<!-- models:end -->`` differs from what the specs say
(CI runs it); ``--write README.md`` rewrites it; no option prints the table.

Usage: python tools/model_table.py [--check FILE | --write FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.compiler import _PLACEHOLDER, ModelEntry  # noqa: E402
from engine.loader import SPEC_PATH_ENV  # noqa: E402
from engine.registry import Registry  # noqa: E402

START = "<!-- models:start -->"
END = "<!-- models:end -->"
HEADER = "| Family | Model (`model=`) | Operations | Notes |\n|---|---|---|---|"


@contextmanager
def _builtin_only() -> Iterator[None]:
    """Describe the shipped specs only, whatever the caller's VERTEXLATE_SPEC_PATH says."""
    saved = os.environ.pop(SPEC_PATH_ENV, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[SPEC_PATH_ENV] = saved


def builtin_registry() -> Registry:
    with _builtin_only():
        return Registry()


def _notes(entry: ModelEntry, aliases: list[str]) -> str:
    caps: dict[str, Any] = entry.capabilities
    notes = []
    if aliases:
        notes.append("also " + ", ".join(f"`vertex_ai/{a}`" for a in aliases))
    for match in _PLACEHOLDER.finditer(entry.pattern):
        if match.group(2) == "[0-9]+":
            notes.append(f"`<{match.group(1)}>` is a number")
        elif match.group(2):
            notes.append(f"`<{match.group(1)}>` matches `{match.group(2)}`")
    if any(op.auth == "api_key" for name, op in entry.family.operations.items() if entry.supports(name)):
        notes.append("API key (`api_key`, `api_base`), no Google token; the `vertex_ai/` prefix is optional")
    if caps.get("thinking") not in (None, "none"):
        notes.append(f"thinking ({THINKING.get(caps['thinking'], caps['thinking'])})")
    if caps.get("fim"):
        notes.append("fill-in-the-middle")
    if caps.get("locations"):
        notes.append("only in " + ", ".join(caps["locations"]))
    elif caps.get("default_location"):
        notes.append(f"default location {caps['default_location']}")
    refused = [name for cap, name in REFUSALS.items() if caps.get(cap) is False]
    if refused:
        notes.append("refuses " + ", ".join(refused))
    if caps.get("retired"):
        notes.append("**retired**" + (f" ({caps['retired_note']})" if caps.get("retired_note") else ""))
    return "; ".join(notes)


THINKING = {
    "budget": "budget",
    "level": "level",
    "always": "always on",
    "adaptive": "adaptive, effort",
    "adaptive_xhigh": "adaptive, effort up to xhigh",
    "adaptive_always": "adaptive, always on",
    "between_tools": "adaptive, lowest between_tools",
}
# Capabilities whose false value means the model refuses parameters, with what the table says.
REFUSALS = {"sampling_params": "temperature/top_p/top_k", "forced_tool_choice": "forced tool_choice"}


def shown_name(pattern: str) -> str:
    """``openai/{endpoint_id}`` → ``openai/<endpoint_id>``: captures read as placeholders, regexes hidden."""
    return _PLACEHOLDER.sub(lambda m: f"<{m.group(1)}>", pattern)


def _operations(entry: ModelEntry) -> str:
    return ", ".join(op for op in entry.family.operations if entry.supports(op))


def render(registry: Registry) -> str:
    """The markdown table: one row per model entry, families in name order, entries in spec order."""
    rows = [HEADER]
    for family in sorted(registry.families, key=lambda f: f.name):
        for entry in family.models:
            aliases = sorted(a for a, target in family.aliases.items() if target == entry.pattern)
            cells = [
                family.name,
                f"`vertex_ai/{shown_name(entry.pattern)}`",
                _operations(entry),
                _notes(entry, aliases),
            ]
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def replace_table(text: str, table: str) -> str:
    """``text`` with everything between the markers replaced by ``table``."""
    start, end = text.find(START), text.find(END)
    if start == -1 or end == -1 or end < start:
        raise ValueError(f"the file needs the markers {START} and {END} (in that order)")
    return text[: start + len(START)] + "\n" + table + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", type=Path, metavar="FILE", help="exit 1 if FILE's model table is stale")
    group.add_argument("--write", type=Path, metavar="FILE", help="rewrite FILE's model table")
    args = parser.parse_args(argv)
    table = render(builtin_registry())
    target = args.check or args.write
    if target is None:
        sys.stdout.write(table)
        return 0
    text = target.read_text(encoding="utf-8")
    try:
        updated = replace_table(text, table)
    except ValueError as exc:
        print(f"{target}: {exc}", file=sys.stderr)
        return 2
    if args.write:
        if updated != text:
            target.write_text(updated, encoding="utf-8")
        return 0
    if updated != text:
        print(
            f"{target}: the model table is stale; run: python tools/model_table.py --write {target}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
