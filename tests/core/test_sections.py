"""Extractor sections (engine/compiler.py ``Section``) give what the extractors one by one give.

A section skips extractors whose guard chain is absent; the non-null values must be exactly
those of calling every extractor, in the spec's order, on every published fixture and on
documents with parts removed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from engine.compiler import Extractor, Section
from engine.registry import default_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def sections() -> list[tuple[str, dict[str, Extractor]]]:
    found = []
    for family in default_registry().families:
        for op_name, op in family.operations.items():
            specs = [("response", op.response)] if getattr(op, "response", None) else []
            stream = getattr(op, "stream", None)
            if stream is not None:
                specs += [("chunk", stream.chunk), *((f"event {k}", v) for k, v in stream.events.items())]
            for where, spec in specs:
                label = f"{family.name}.{op_name}.{where}"
                found += [(f"{label}.usage", spec.usage), (f"{label}.hidden", spec.hidden)]
                for items_name in ("choices", "data"):
                    items = getattr(spec, items_name)
                    if items is not None:
                        found.append((f"{label}.{items_name}", items.fields))
    return [(label, extractors) for label, extractors in found if extractors]


def documents() -> list[Any]:
    docs: list[Any] = []
    for path in FIXTURES.rglob("*.json"):
        wrapper = json.loads(path.read_text())
        base = [wrapper["body"]] if "body" in wrapper else []
        base += wrapper.get("events", [])
        for doc in base:
            docs.append(doc)
            if isinstance(doc, dict):  # the same document with each top-level part (and its children) gone
                for key in doc:
                    docs.append({k: v for k, v in doc.items() if k != key})
                    if isinstance(doc[key], dict):
                        for inner in doc[key]:
                            trimmed = copy.deepcopy(doc)
                            del trimmed[key][inner]
                            docs.append(trimmed)
    for candidate in [d for d in docs if isinstance(d, dict) and isinstance(d.get("candidates"), list)]:
        docs += [c for c in candidate["candidates"] if isinstance(c, dict)]  # choice-level documents
    return docs


SECTIONS = sections()
DOCS = documents()


def test_there_are_sections_and_documents() -> None:
    assert len(SECTIONS) > 20 and len(DOCS) > 50


@pytest.mark.parametrize(("label", "extractors"), SECTIONS, ids=[label for label, _ in SECTIONS])
def test_section_agrees_with_its_extractors(label: str, extractors: dict[str, Extractor]) -> None:
    section = Section(extractors)
    for doc in DOCS:
        expected = {}
        for name, ex in extractors.items():
            try:
                value = ex(doc)
            except Exception as exc:  # a transform refusing a document: the section must raise alike
                with pytest.raises(type(exc)):
                    section(doc)
                break
            if value is not None:
                expected[name] = value
        else:
            got = section(doc)
            assert got == expected, (label, json.dumps(doc)[:200])
            assert list(got) == list(expected), label  # the spec's order
