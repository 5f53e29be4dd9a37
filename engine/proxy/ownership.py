"""Who created which file, batch and fine-tuning job through the proxy, and which models each is for.

Why: files, batches and fine-tuning jobs name no model group, yet a key limited to
some models must neither create nor see another model's jobs. Each object created
through the proxy is recorded with its creating key and models; an object created
elsewhere (or before a restart) is judged by the model its own record at Vertex AI
names. The store is a small interface (:class:`Ledger`) so that a database can hold it;
:class:`MemoryLedger` keeps it in the process (with ``--workers N`` each worker has its own).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

# publishers/<publisher>/models/<model>, as file ids and batch jobs name a model (specs/files.yaml)
MODEL_IN_PATH = re.compile(r"/models/([^/?#]+)")


@dataclass(frozen=True)
class Owned:
    """One object created through the proxy: its kind and id, the key's alias, the models it is for."""

    kind: str  # "file" | "batch" | "fine_tuning_job"
    id: str
    owner: str
    models: frozenset[str]


class Ledger(Protocol):
    """Where the records live."""

    def record(self, owned: Owned) -> None: ...

    def lookup(self, kind: str, ident: str) -> Owned | None: ...


class MemoryLedger:
    """The records in a bounded dict (the oldest are forgotten first)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str], Owned] = OrderedDict()

    def record(self, owned: Owned) -> None:
        self._items[(owned.kind, owned.id)] = owned
        self._items.move_to_end((owned.kind, owned.id))
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def lookup(self, kind: str, ident: str) -> Owned | None:
        return self._items.get((kind, ident))


def model_id(name: Any) -> str | None:
    """The bare model id of a model reference: ``vertex_ai/gemini-2.5-flash``,
    ``publishers/google/models/gemini-2.5-flash`` and ``gemini-2.5-flash`` are all ``gemini-2.5-flash``."""
    if not isinstance(name, str) or not name:
        return None
    found = MODEL_IN_PATH.search("/" + name)
    return found.group(1) if found else name.rsplit("/", 1)[-1] or None


def models_in_path(path: Any) -> frozenset[str]:
    """The model a ``gs://`` file id names in its path (create_file's layout), if any."""
    if not isinstance(path, str):
        return frozenset()
    return frozenset(MODEL_IN_PATH.findall(path)[-1:])


def ids(names: Iterable[Any]) -> frozenset[str]:
    return frozenset(m for m in (model_id(n) for n in names) if m)
