"""Spend rows and spend increments, written in batches off the request path.

Why batched: a request must not wait for a database write, and one transaction per
second is far cheaper than one per request. Why in memory until written: a database
outage must never fail a user request, so rows wait here (and are retried with backoff)
until the database is back; a graceful shutdown flushes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from typing import Any

from engine.proxy.store.records import SPEND, SPEND_ENTITIES, Records, SpendRow

log = logging.getLogger("vertexlate.proxy.store")

FLUSH_INTERVAL = 1.0  # seconds between batches
BATCH_ROWS = 1000  # a batch this big is written at once
MAX_BACKOFF = 30.0
WARN_ROWS = 100_000  # pending rows beyond which each failed flush says how many wait


class SpendWriter:
    """Collects spend rows (and what they add to each key/user/team); a task writes them, :meth:`close` flushes."""

    def __init__(self, records: Records, interval: float = FLUSH_INTERVAL) -> None:
        self.records = records
        self.interval = interval
        self.rows: list[SpendRow] = []
        self.deltas: dict[tuple[str, str], float] = defaultdict(float)
        self.flushing: dict[tuple[str, str], float] = {}  # increments being written right now
        self.written = 0
        self.failures = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._outage_since: float | None = None
        self.on_failure: Any = None  # called (operation, error) when a write fails: the metrics' db_failure

    def add(self, row: SpendRow) -> None:
        """Queue one request's row (no I/O; called on the request path)."""
        self.rows.append(row)
        cost = row[SPEND]
        if cost:
            deltas = self.deltas
            for kind, index in SPEND_ENTITIES:
                if row[index] is not None:
                    deltas[kind, row[index]] += cost
        if len(self.rows) >= BATCH_ROWS:
            self._wake.set()

    def unwritten(self, entity: tuple[str, str]) -> float:
        """Spend of ``entity`` not yet in the database (queued or being written)."""
        return self.deltas.get(entity, 0.0) + self.flushing.get(entity, 0.0)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        delay = self.interval
        while True:
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            delay = self.interval if await self.flush() else min(max(delay * 2, 1.0), MAX_BACKOFF)

    async def flush(self) -> bool:
        """Write everything queued in one transaction; False (and everything kept) when the database fails."""
        async with self._lock:
            if not self.rows and not self.deltas:
                return True
            rows, self.rows = self.rows, []
            deltas, self.deltas = dict(self.deltas), defaultdict(float)
            self.flushing = deltas
            try:
                await self.records.apply_spend(rows)
            except asyncio.CancelledError:  # cancelled mid-write: keep the rows (a retry counts them once)
                self._restore(rows, deltas)
                raise
            except Exception as exc:  # any driver error: keep everything, try again later
                self._restore(rows, deltas)
                self.failures += 1
                if self.on_failure is not None:
                    self.on_failure("spend_write", exc)
                if self._outage_since is None:
                    self._outage_since = time.monotonic()
                    log.warning(
                        "spend logs: database write failed (%s: %s); %d rows kept in memory, retrying",
                        type(exc).__name__,
                        str(exc)[:200],
                        len(self.rows),
                    )
                elif len(self.rows) >= WARN_ROWS:
                    log.warning("spend logs: database still failing; %d rows waiting", len(self.rows))
                return False
            finally:
                self.flushing = {}
            self.written += len(rows)
            if self._outage_since is not None:
                log.warning(
                    "spend logs: database back after %.1fs; %d rows written",
                    time.monotonic() - self._outage_since,
                    len(rows),
                )
                self._outage_since = None
            return True

    def _restore(self, rows: list[SpendRow], deltas: dict[tuple[str, str], float]) -> None:
        self.rows[:0] = rows
        for entity, amount in deltas.items():
            self.deltas[entity] += amount

    async def close(self, timeout: float = 10.0) -> None:
        """Stop the loop and flush what is left (retrying until ``timeout``); log what could not be written."""
        if self._task is not None:
            async with self._lock:  # not in the middle of a write
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        deadline = time.monotonic() + timeout
        while not await self.flush():
            if time.monotonic() > deadline:
                log.error("spend logs: %d rows could not be written before shutdown", len(self.rows))
                return
            await asyncio.sleep(0.5)
