"""Rows of the store as LiteLLM's objects: keys, users, teams, spend logs; budgets and their resets.

Every write is one statement or one transaction; spend is only ever changed by
``spend = spend + ?`` so concurrent writers (other workers, other proxies on the same
PostgreSQL) never lose an update.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from engine.proxy.observability import request_id as request_ids
from engine.proxy.store.db import Connection, Database

KEY_PREFIX = "sk-"
JSON_COLUMNS = frozenset({"models", "metadata", "members_with_roles", "teams"})
BOOL_COLUMNS = frozenset({"blocked"})
TIME_COLUMNS = frozenset({"expires", "budget_reset_at", "created_at", "updated_at"})
BUDGET_COLUMNS = (
    "models",
    "max_budget",
    "soft_budget",
    "spend",
    "budget_duration",
    "budget_reset_at",
    "rpm_limit",
    "tpm_limit",
    "max_parallel_requests",
    "metadata",
    "blocked",
    "created_at",
    "updated_at",
)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "key": ("vx_keys", ("token", "key_name", "key_alias", "user_id", "team_id", "expires", *BUDGET_COLUMNS)),
    "user": ("vx_users", ("user_id", "user_alias", "user_email", "user_role", "teams", *BUDGET_COLUMNS)),
    "team": ("vx_teams", ("team_id", "team_alias", "members_with_roles", *BUDGET_COLUMNS)),
}
ID_COLUMN = {"key": "token", "user": "user_id", "team": "team_id"}
SPEND_COLUMNS = (
    "request_id",
    "api_key",
    "user_id",
    "team_id",
    "call_type",
    "model_group",
    "model",
    "model_id",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "total_tokens",
    "spend",
    "start_time",
    "end_time",
    "latency_ms",
    "status",
    "error_type",
    "metadata",
)
# A spend row is a tuple in SPEND_COLUMNS order (built on every request: a tuple is about a tenth
# of a 20-key dict's cost, and small enough for Python's small-object allocator).
SpendRow = tuple[Any, ...]
REQUEST_ID, API_KEY, USER_ID, TEAM_ID, SPEND = (
    SPEND_COLUMNS.index(c) for c in ("request_id", "api_key", "user_id", "team_id", "spend")
)
SPEND_TYPES = {
    **{c: "text" for c in SPEND_COLUMNS},
    **{
        c: "int8"
        for c in ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "total_tokens")
    },
    **{c: "float8" for c in ("spend", "start_time", "end_time", "latency_ms")},
}
# PostgreSQL: one array per column (asyncpg encodes them in binary), unnested into rows.
PG_INSERT = (
    f"INSERT INTO vx_spend_logs ({', '.join(SPEND_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"?::{SPEND_TYPES[c]}[]" for c in SPEND_COLUMNS)
    + ") ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
)
SQLITE_INSERT = (
    f"INSERT INTO vx_spend_logs ({', '.join(SPEND_COLUMNS)}) VALUES ({', '.join('?' * len(SPEND_COLUMNS))}) "
    "ON CONFLICT (request_id) DO NOTHING"
)
SQLITE_ROW = f"({', '.join('?' * len(SPEND_COLUMNS))})"
# SQLite 3.35 and later: one multi-row INSERT that says which rows it added (RETURNING); older
# libraries look the rows up first. The statement text depends only on the row count.
SQLITE_RETURNING = sqlite3.sqlite_version_info >= (3, 35)


@lru_cache(maxsize=16)
def sqlite_insert_returning(rows: int) -> str:
    return (
        f"INSERT INTO vx_spend_logs ({', '.join(SPEND_COLUMNS)}) VALUES {', '.join([SQLITE_ROW] * rows)} "
        "ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
    )


DURATION = re.compile(r"^(\d+)(s|m|h|d|w|mo)\Z")
# The key, user and team a spend row's cost counts towards: (kind, index in the row).
SPEND_ENTITIES = (("key", API_KEY), ("user", USER_ID), ("team", TEAM_ID))
# Rows per INSERT statement. Fewer, larger statements cost less per row (measured: 500 rows 6.9 us,
# 1,000 rows 6.1 us of CPU per row on SQLite); 1,000 rows of 20 columns stay under SQLite's 32,766
# parameters (3.32 and later). An older SQLite (999 parameters) looks rows up in 500s.
INSERT_CHUNK = 1000
LEGACY_CHUNK = 500


@lru_cache(maxsize=1)
def sqlite_chunk() -> int:
    """Rows per SQLite statement: at most :data:`INSERT_CHUNK`, within this library's parameter limit.

    Why asked, not assumed: a SQLite built with a lower ``SQLITE_MAX_VARIABLE_NUMBER`` would
    refuse every batch, and the writer would keep (and retry) its rows for ever. Asked once,
    of an in-memory database (Python 3.11 and later; before, the limit SQLite's version implies).
    """
    try:
        probe = sqlite3.connect(":memory:")
        try:
            limit = probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[attr-defined]
        finally:
            probe.close()
    except AttributeError:
        limit = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
    per_row = len(SPEND_COLUMNS) if SQLITE_RETURNING else 1  # the legacy path binds one id per row
    return max(1, min(INSERT_CHUNK if SQLITE_RETURNING else LEGACY_CHUNK, limit // per_row))


UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400}


def hash_key(key: str) -> str:
    """LiteLLM stores keys as the SHA-256 hex digest; so do we (the clear key is shown once)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


def masked(key: str) -> str:
    """LiteLLM's ``key_name``: ``sk-...`` and the last four characters."""
    return f"{KEY_PREFIX}...{key[-4:]}"


def duration_seconds(value: str) -> float | None:
    """``"30s"``, ``"10m"``, ``"1h"``, ``"30d"``, ``"2w"``, ``"1mo"`` (LiteLLM's spellings); None if not one."""
    match = DURATION.match(value.strip()) if isinstance(value, str) else None
    return float(int(match.group(1)) * UNIT_SECONDS[match.group(2)]) if match else None


def iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat() if ts is not None else None


def to_db(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS:
        return json.dumps(value if value is not None else ({} if column == "metadata" else []))
    if column in BOOL_COLUMNS:
        return 1 if value else 0
    return value


def from_db(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """A row as plain values (JSON decoded, flags as booleans); times stay epoch seconds."""
    if row is None:
        return None
    out = dict(row)
    for column in JSON_COLUMNS & out.keys():
        out[column] = json.loads(out[column]) if out[column] else ([] if column != "metadata" else {})
    for column in BOOL_COLUMNS & out.keys():
        out[column] = bool(out[column])
    return out


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the API shows it: times in ISO 8601 (LiteLLM's JSON shows datetimes so)."""
    return {k: (iso(v) if k in TIME_COLUMNS else v) for k, v in row.items()}


class Records:
    """CRUD over the store's tables; every method is one round trip or one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ----------------------------------------------------------------- generic
    async def insert(
        self, kind: str, values: dict[str, Any], conn: Connection | None = None
    ) -> dict[str, Any]:
        table, columns = TABLES[kind]
        now = time.time()
        row = {c: None for c in columns}
        row.update({"spend": 0.0, "blocked": False, "created_at": now, "updated_at": now})
        row.update({k: v for k, v in values.items() if k in row})
        duration = row.get("budget_duration")
        if duration and row.get("budget_reset_at") is None:
            row["budget_reset_at"] = now + (duration_seconds(duration) or 0)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        args = [to_db(c, row[c]) for c in columns]
        if conn is None:
            await self.db.execute(sql, *args)
        else:
            await conn.execute(sql, *args)
        return row

    async def get(self, kind: str, ident: str) -> dict[str, Any] | None:
        table, _ = TABLES[kind]
        return from_db(await self.db.fetchrow(f"SELECT * FROM {table} WHERE {ID_COLUMN[kind]} = ?", ident))

    async def get_many(self, kind: str, column: str, value: Any) -> list[dict[str, Any]]:
        table, columns = TABLES[kind]
        assert column in columns
        rows = await self.db.fetch(f"SELECT * FROM {table} WHERE {column} = ? ORDER BY created_at", value)
        return [from_db(r) for r in rows]  # type: ignore[misc]

    async def update(self, kind: str, ident: str, values: dict[str, Any]) -> dict[str, Any] | None:
        """Set ``values`` (a new ``budget_duration`` restarts the budget period); the row after, or None."""
        table, columns = TABLES[kind]
        values = {k: v for k, v in values.items() if k in columns and k != ID_COLUMN[kind]}
        now = time.time()
        if values.get("budget_duration"):
            values["budget_reset_at"] = now + (duration_seconds(values["budget_duration"]) or 0)
        values["updated_at"] = now
        assignments = ", ".join(f"{c} = ?" for c in values)
        args = [to_db(c, v) for c, v in values.items()]
        count = await self.db.execute(
            f"UPDATE {table} SET {assignments} WHERE {ID_COLUMN[kind]} = ?", *args, ident
        )
        return await self.get(kind, ident) if count else None

    async def delete(self, kind: str, idents: Sequence[str]) -> list[str]:
        table, _ = TABLES[kind]
        deleted = []
        async with self.db.transaction() as conn:
            for ident in idents:
                if await conn.execute(f"DELETE FROM {table} WHERE {ID_COLUMN[kind]} = ?", ident):
                    deleted.append(ident)
        return deleted

    async def list(
        self, kind: str, filters: dict[str, Any], page: int, size: int
    ) -> tuple[list[dict[str, Any]], int]:
        table, columns = TABLES[kind]
        where = " AND ".join(f"{c} = ?" for c in filters if c in columns) or "1 = 1"
        args = [v for c, v in filters.items() if c in columns]
        total = await self.db.fetchrow(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}", *args)
        rows = await self.db.fetch(
            f"SELECT * FROM {table} WHERE {where} ORDER BY created_at LIMIT ? OFFSET ?",
            *args,
            size,
            (page - 1) * size,
        )
        return [from_db(r) for r in rows], int(total["n"] if total else 0)  # type: ignore[misc]

    # ----------------------------------------------------------------- keys
    async def regenerate(self, token: str, key: str) -> dict[str, Any] | None:
        """Give the key row ``token`` a new key: the old one stops working, spend and limits stay."""
        count = await self.db.execute(
            "UPDATE vx_keys SET token = ?, key_name = ?, updated_at = ? WHERE token = ?",
            hash_key(key),
            masked(key),
            time.time(),
            token,
        )
        return await self.get("key", hash_key(key)) if count else None

    # ----------------------------------------------------------------- budgets
    async def reset_budget(self, kind: str, ident: str, due: float, duration: str) -> bool:
        """Zero the spend of a budget whose period ended at ``due`` (only once, whoever gets there first)."""
        table, _ = TABLES[kind]
        step = duration_seconds(duration) or 0
        now = time.time()
        following = due + step * max(1, int((now - due) // step) + 1) if step else None
        count = await self.db.execute(
            f"UPDATE {table} SET spend = 0, budget_reset_at = ?, updated_at = ? "
            f"WHERE {ID_COLUMN[kind]} = ? AND budget_reset_at = ?",
            following,
            now,
            ident,
            due,
        )
        return bool(count)

    async def apply_spend(self, rows: Sequence[SpendRow]) -> int:
        """Insert spend log rows and add each new row's cost to its key, user and team, in one transaction.

        Exactly once, even when a commit succeeded but its reply was lost and the batch is
        retried: only rows the INSERT actually adds (``RETURNING``) count towards spend.
        Returns how many rows were new.
        """
        added = 0
        async with self.db.transaction() as conn:
            size = INSERT_CHUNK if self.db.dialect == "postgresql" else sqlite_chunk()
            for start in range(0, len(rows), size):
                chunk = rows[start : start + size]
                if (
                    self.db.dialect == "postgresql"
                ):  # one statement text whatever the row count: prepared once
                    inserted = await conn.column(PG_INSERT, *map(list, zip(*chunk, strict=True)))
                elif SQLITE_RETURNING:  # rows already there (a retried batch) are skipped, and not returned
                    inserted = await conn.column(
                        sqlite_insert_returning(len(chunk)),
                        *itertools.chain.from_iterable(chunk),
                    )
                else:
                    marks = ", ".join("?" * len(chunk))
                    present = await conn.fetch(
                        f"SELECT request_id FROM vx_spend_logs WHERE request_id IN ({marks})",
                        *[row[REQUEST_ID] for row in chunk],
                    )
                    seen = {r["request_id"] for r in present}
                    fresh = [row for row in chunk if row[REQUEST_ID] not in seen]
                    await conn.executemany(SQLITE_INSERT, fresh)
                    inserted = [row[REQUEST_ID] for row in fresh]
                new = set(inserted)
                added += len(new)
                deltas: dict[tuple[str, str], float] = {}
                for row in chunk:  # per row: this loop sees every request the proxy served
                    spend = row[SPEND]
                    if spend and row[REQUEST_ID] in new:
                        for kind, index in SPEND_ENTITIES:
                            ident = row[index]
                            if type(ident) is str:
                                deltas[kind, ident] = deltas.get((kind, ident), 0.0) + spend
                for (kind, ident), amount in sorted(deltas.items()):
                    table, _ = TABLES[kind]
                    await conn.execute(
                        f"UPDATE {table} SET spend = spend + ? WHERE {ID_COLUMN[kind]} = ?", amount, ident
                    )
        return added

    # ----------------------------------------------------------------- spend queries
    async def spend_logs(
        self, filters: dict[str, Any], start: float | None, end: float | None, limit: int
    ) -> list[dict[str, Any]]:
        where, args = self._spend_where(filters, start, end)
        rows = await self.db.fetch(
            f"SELECT * FROM vx_spend_logs WHERE {where} ORDER BY start_time LIMIT ?", *args, limit
        )
        return [from_db(r) for r in rows]  # type: ignore[misc]

    async def total_spend(self) -> float:
        row = await self.db.fetchrow("SELECT COALESCE(SUM(spend), 0) AS spend FROM vx_spend_logs")
        return float(row["spend"]) if row else 0.0

    async def spend_by(self, column: str, start: float | None, end: float | None) -> list[dict[str, Any]]:
        assert column in ("team_id", "api_key", "user_id")
        where, args = self._spend_where({}, start, end)
        return await self.db.fetch(
            f"SELECT start_time, {column} AS grp, model, spend, total_tokens FROM vx_spend_logs WHERE {where}",
            *args,
        )

    @staticmethod
    def _spend_where(
        filters: dict[str, Any], start: float | None, end: float | None
    ) -> tuple[str, list[Any]]:
        clauses, args = [], []
        for column, value in filters.items():
            if value is not None and column in SPEND_COLUMNS:
                clauses.append(f"{column} = ?")
                args.append(value)
        if start is not None:
            clauses.append("start_time >= ?")
            args.append(start)
        if end is not None:
            clauses.append("start_time < ?")
            args.append(end)
        return " AND ".join(clauses) or "1 = 1", args


EMPTY_ROW: dict[str, Any] = {
    **{c: None for c in SPEND_COLUMNS},
    **{
        c: 0
        for c in ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "total_tokens")
    },
    "metadata": "{}",
}


def spend_row(**values: Any) -> SpendRow:
    """A spend log row from column values, database-ready: every column, ``metadata`` as JSON text.

    (The request path builds its rows directly: engine/proxy/store/service.py ``Store.record``.)
    """
    unknown = set(values) - set(SPEND_COLUMNS)
    if unknown:
        raise ValueError(f"not spend log columns: {sorted(unknown)}")
    row = {**EMPTY_ROW, **{k: v for k, v in values.items() if v is not None}}
    if not isinstance(row["metadata"], str):
        row["metadata"] = json.dumps(row["metadata"])
    if row["request_id"] is None:
        row["request_id"] = request_ids.generate()
    return tuple(row[c] for c in SPEND_COLUMNS)


def spend_dict(row: SpendRow) -> dict[str, Any]:
    """A spend row's columns by name (for tests and logs; the write path uses the tuple)."""
    return dict(zip(SPEND_COLUMNS, row, strict=True))


def ids(values: Iterable[Any]) -> list[str]:
    return [v for v in values if isinstance(v, str)]
