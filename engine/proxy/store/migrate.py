"""Versioned schema migrations: ``migrations/NNNN_name.sql`` applied in order, each recorded once.

Why plain SQL files: the schema is small, the same text runs on SQLite and PostgreSQL,
and no migration framework (Alembic would bring SQLAlchemy) sits on the start path.
Each file runs in one transaction with its row in ``vx_schema_migrations``; on
PostgreSQL an advisory lock, on SQLite ``BEGIN IMMEDIATE``, keeps two starting workers from
racing (each re-reads the version inside its transaction).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from engine.proxy.store.db import Database
from engine.redact import short

MIGRATIONS = Path(__file__).with_name("migrations")
FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql\Z")
LOCK_ID = 0x76785F6D  # "vx_m": the advisory lock of this proxy's migrations


class MigrationError(Exception):
    """A migration failed; the database stays at the last version that applied completely."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def migrations(directory: Path = MIGRATIONS) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = FILE.match(path.name)
        if match is None:
            raise MigrationError(f"{path}: migration files are named NNNN_name.sql")
        text = "\n".join(
            line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("--")
        )
        statements = tuple(s.strip() for s in text.split(";") if s.strip())
        found.append(Migration(int(match.group(1)), path.name, statements))
    return found


async def current_version(db: Database) -> int:
    row = await db.fetchrow("SELECT MAX(version) AS version FROM vx_schema_migrations")
    return int(row["version"]) if row and row["version"] is not None else 0


async def migrate(db: Database, directory: Path = MIGRATIONS) -> int:
    """Apply every migration newer than the database's version; return the version reached."""
    async with db.transaction() as conn:  # under the lock: PostgreSQL's IF NOT EXISTS races otherwise
        if db.dialect == "postgresql":
            await conn.execute(f"SELECT pg_advisory_xact_lock({LOCK_ID})")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS vx_schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
        )
    version = await current_version(db)
    for migration in migrations(directory):
        if migration.version <= version:
            continue
        try:
            async with db.transaction() as conn:
                if db.dialect == "postgresql":
                    await conn.execute(f"SELECT pg_advisory_xact_lock({LOCK_ID})")
                # (SQLite: the transaction is BEGIN IMMEDIATE, which serializes writers alike.)
                done = await conn.fetchrow(
                    "SELECT version FROM vx_schema_migrations WHERE version = ?", migration.version
                )
                if done is None:  # else another worker applied it while we waited
                    for statement in migration.statements:
                        await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO vx_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        migration.version,
                        migration.name,
                        time.time(),
                    )
        except Exception as exc:
            raise MigrationError(
                f"database migration {migration.name} failed: {type(exc).__name__}: {short(str(exc), 300)}; "
                f"the database stays at schema version {version}"
            ) from None
        version = migration.version
    return version
