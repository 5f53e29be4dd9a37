"""One small async interface over SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQL is written once with ``?`` placeholders; for PostgreSQL they become ``$1, $2, ...``
(translated once per statement text and cached). Rows come back as plain dicts.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from engine.redact import short

SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}\Z")


class DatabaseError(Exception):
    """The database could not be reached or refused a statement; the message never holds a password."""


class Connection(Protocol):
    async def execute(self, sql: str, *args: Any) -> int: ...
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]: ...
    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None: ...
    async def column(self, sql: str, *args: Any) -> list[Any]: ...


class Database:
    """A connected database; ``transaction()`` yields a :class:`Connection` for several statements."""

    dialect = ""

    async def execute(self, sql: str, *args: Any) -> int:
        async with self.transaction() as conn:
            return await conn.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        async with self.transaction() as conn:
            return await conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Connection]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


async def connect(url: str, base: Path | None = None) -> Database:
    """``sqlite:///path`` (relative to ``base``), ``sqlite:///:memory:``, or ``postgresql://...[?schema=name]``."""
    scheme = url.split(":", 1)[0].lower()
    try:
        if scheme == "sqlite":
            return await SQLite.open(_sqlite_path(url, base))
        if scheme in ("postgresql", "postgres"):
            return await Postgres.open(url)
    except DatabaseError:
        raise
    except Exception as exc:  # driver errors: OSError, asyncpg's, sqlite3's
        raise DatabaseError(
            f"cannot connect to {redacted(url)}: {type(exc).__name__}: {short(str(exc))}"
        ) from None
    raise DatabaseError(f"unsupported database_url scheme {scheme!r}: use sqlite:/// or postgresql://")


def _sqlite_path(url: str, base: Path | None) -> str:
    path = url.split(":", 1)[1]
    path = path[3:] if path.startswith("///") else path.lstrip("/")
    if path in ("", ":memory:"):
        return ":memory:"
    resolved = Path(path)
    if not resolved.is_absolute() and base is not None:
        resolved = base / resolved
    return str(resolved)


# --------------------------------------------------------------------------- SQLite


class _SQLiteConn:
    def __init__(self, db: Any) -> None:
        self.db = db

    async def execute(self, sql: str, *args: Any) -> int:
        cursor = await self.db.execute(sql, args)
        count = cursor.rowcount
        await cursor.close()
        return count

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.db.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        async with self.db.execute(sql, args) as cursor:
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def column(self, sql: str, *args: Any) -> list[Any]:
        """The first column of every row (no dict per row: the spend writer's RETURNING)."""
        async with self.db.execute(sql, args) as cursor:
            return [row[0] for row in await cursor.fetchall()]


class SQLite(Database):
    """One aiosqlite connection (SQLite has one writer anyway); a lock keeps transactions whole."""

    dialect = "sqlite"

    def __init__(self, db: Any) -> None:
        self.db = db
        self.lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> SQLite:
        import aiosqlite

        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA synchronous=NORMAL")
        return cls(db)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteConn(self.db)
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def close(self) -> None:
        await self.db.close()


# --------------------------------------------------------------------------- PostgreSQL


@lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$n`` (our SQL has no ``?`` inside literals)."""
    count = 0

    def next_number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"\?", next_number, sql)


class _PGConn:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        status = await self.conn.execute(numbered(sql), *args)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.conn.executemany(numbered(sql), rows)

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.conn.fetch(numbered(sql), *args)]

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(numbered(sql), *args)
        return dict(row) if row is not None else None

    async def column(self, sql: str, *args: Any) -> list[Any]:
        return [row[0] for row in await self.conn.fetch(numbered(sql), *args)]


class Postgres(Database):
    """An asyncpg pool; ``?schema=name`` in the URL (Prisma's and so LiteLLM's spelling) sets the search path."""

    dialect = "postgresql"

    def __init__(self, pool: Any, schema: str | None) -> None:
        self.pool = pool
        self.schema = schema

    @classmethod
    async def open(cls, url: str) -> Postgres:
        import asyncpg

        parts = urlsplit(url)
        query = parse_qs(parts.query)
        schema = (query.pop("schema", [None]) or [None])[0]
        if schema is not None and not SCHEMA_NAME.match(schema):
            raise DatabaseError(f"invalid schema name in database_url: {short(schema)}")
        settings = {"application_name": query.pop("application_name", ["vertexlate-proxy"])[0]}
        if schema:
            settings["search_path"] = schema
        rest = "&".join(f"{k}={v[0]}" for k, v in query.items())
        dsn = parts._replace(query=rest, scheme="postgresql").geturl()
        if schema:
            conn = await asyncpg.connect(dsn, timeout=10)
            try:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            finally:
                await conn.close()
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=4, timeout=10, command_timeout=30, server_settings=settings
        )
        return cls(pool, schema)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield _PGConn(conn)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.pool.close(), 5)
