"""Which database driver stack the proxy's store uses: a measurement, not a guess.

Runs the store's two hot statements (look a key up by hash, add to its spend) N times
on SQLite and PostgreSQL, once with the drivers directly (aiosqlite, asyncpg) and once
through SQLAlchemy 2's async engine over the same drivers, and prints operations per
second side by side. SQLAlchemy is optional here (``pip install 'sqlalchemy>=2'``).

    python bench/store_drivers.py [--n 2000] [--pg postgresql://127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid

CREATE = "CREATE TABLE bench_keys (token TEXT PRIMARY KEY, spend DOUBLE PRECISION NOT NULL DEFAULT 0)"


async def raw_sqlite(path: str, n: int) -> float:
    import aiosqlite

    db = await aiosqlite.connect(path, isolation_level=None)
    await db.execute(CREATE)
    await db.execute("INSERT INTO bench_keys (token) VALUES ('k')")
    start = time.perf_counter()
    for _ in range(n):
        async with db.execute("SELECT token, spend FROM bench_keys WHERE token = ?", ("k",)) as cur:
            await cur.fetchone()
        await db.execute("UPDATE bench_keys SET spend = spend + ? WHERE token = ?", (0.001, "k"))
    elapsed = time.perf_counter() - start
    await db.close()
    return n / elapsed


async def raw_pg(dsn: str, n: int) -> float:
    import asyncpg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn)
    await conn.execute(f"CREATE SCHEMA {schema}; SET search_path TO {schema}; {CREATE}")
    await conn.execute("INSERT INTO bench_keys (token) VALUES ('k')")
    start = time.perf_counter()
    for _ in range(n):
        await conn.fetchrow("SELECT token, spend FROM bench_keys WHERE token = $1", "k")
        await conn.execute("UPDATE bench_keys SET spend = spend + $1 WHERE token = $2", 0.001, "k")
    elapsed = time.perf_counter() - start
    await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    await conn.close()
    return n / elapsed


async def sqlalchemy_run(url: str, n: int, schema: str | None = None) -> float:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        if schema:
            await conn.execute(text(f"CREATE SCHEMA {schema}"))
            await conn.execute(text(f"SET search_path TO {schema}"))
        await conn.execute(text(CREATE))
        await conn.execute(text("INSERT INTO bench_keys (token) VALUES ('k')"))
    select = text("SELECT token, spend FROM bench_keys WHERE token = :t")
    update = text("UPDATE bench_keys SET spend = spend + :s WHERE token = :t")
    async with engine.connect() as conn:
        if schema:
            await conn.execute(text(f"SET search_path TO {schema}"))
        start = time.perf_counter()
        for _ in range(n):
            (await conn.execute(select, {"t": "k"})).fetchone()
            await conn.execute(update, {"s": 0.001, "t": "k"})
            await conn.commit()
        elapsed = time.perf_counter() - start
        if schema:
            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            await conn.commit()
    await engine.dispose()
    return n / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--pg", default=os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/test"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("sqlite", "aiosqlite direct", await raw_sqlite(f"{tmp}/a.db", args.n))]
        try:
            rows.append(
                (
                    "sqlite",
                    "sqlalchemy+aiosqlite",
                    await sqlalchemy_run(f"sqlite+aiosqlite:///{tmp}/b.db", args.n),
                )
            )
        except ImportError:
            rows.append(("sqlite", "sqlalchemy+aiosqlite", float("nan")))
    try:
        rows.append(("postgresql", "asyncpg direct", await raw_pg(args.pg, args.n)))
        try:
            url = args.pg.replace("postgresql://", "postgresql+asyncpg://", 1)
            rows.append(
                (
                    "postgresql",
                    "sqlalchemy+asyncpg",
                    await sqlalchemy_run(url, args.n, f"bsa_{uuid.uuid4().hex[:8]}"),
                )
            )
        except ImportError:
            rows.append(("postgresql", "sqlalchemy+asyncpg", float("nan")))
    except OSError as exc:
        print(f"postgresql skipped: {exc}")
    print(f"{'database':<12}{'stack':<24}{'lookup+update per s':>20}")
    for db, stack, rate in rows:
        print(f"{db:<12}{stack:<24}{rate:>20.0f}")


if __name__ == "__main__":
    asyncio.run(main())
