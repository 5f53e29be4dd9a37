"""The store's tests run twice: on SQLite (a file per test) and on a real PostgreSQL server.

PostgreSQL: ``VERTEXLATE_TEST_POSTGRES`` or postgresql://postgres@127.0.0.1:5432/test (trust
auth). Every test gets its own schema (``?schema=`` in the URL), dropped afterwards. No
server: the PostgreSQL half is skipped with the reason shown, except under ``CI=true``
where it fails, so CI cannot pass without having run it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.proxy.conftest import MASTER_KEY

PG_ENV = "VERTEXLATE_TEST_POSTGRES"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
RUN = uuid.uuid4().hex[:8]


def pg_base() -> str:
    return os.environ.get(PG_ENV, PG_DEFAULT)


async def _pg(sql: str) -> Any:
    import asyncpg

    conn = await asyncpg.connect(pg_base(), timeout=5)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def pg_sql(sql: str) -> Any:
    """Run one statement on the test server from outside the proxy (a fresh event loop)."""
    return asyncio.run(_pg(sql))


_PG_STATE: dict[str, str | None] = {}


def _pg_problem() -> str | None:
    if "problem" not in _PG_STATE:
        try:
            pg_sql("SELECT 1")
            _PG_STATE["problem"] = None
        except Exception as exc:
            _PG_STATE["problem"] = f"no PostgreSQL at {pg_base()} ({type(exc).__name__}: {exc})"
    return _PG_STATE["problem"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    problem = _pg_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{problem}; CI must run the PostgreSQL tests")
        pytest.skip(problem)
    schema = f"vxtest_{RUN}_{uuid.uuid4().hex[:8]}"
    separator = "&" if "?" in pg_base() else "?"
    yield f"{pg_base()}{separator}schema={schema}&application_name={schema}"
    pg_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def store_config(
    deployment: Callable[..., dict[str, Any]], database_url: str
) -> Callable[..., dict[str, Any]]:
    """A proxy config with the store on ``database_url`` (two chat models and an embedder)."""

    def make(**general: Any) -> dict[str, Any]:
        return {
            "model_list": [
                deployment("flash", "vertex_ai/gemini-2.5-flash"),
                deployment("lite", "vertex_ai/gemini-2.5-flash-lite"),
                deployment("unpriced", "vertex_ai/gemini-1.5-flash-001"),
            ],
            "general_settings": {"master_key": MASTER_KEY, "database_url": database_url, **general},
        }

    return make
