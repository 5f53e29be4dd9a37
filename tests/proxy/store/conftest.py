"""The store's tests run twice: on SQLite (a file per test) and on a real PostgreSQL server.

PostgreSQL: ``VERTEXLATE_TEST_POSTGRES`` or postgresql://postgres@127.0.0.1:5432/test (trust
auth); when nothing answers there, a throwaway server is started from the local PostgreSQL
binaries (``initdb``/``pg_ctl``, as the ``postgres`` user when run as root) and stopped at
exit. Every test gets its own schema (``?schema=`` in the URL), dropped afterwards. Neither:
the PostgreSQL half is skipped with the reason shown, except under ``CI=true`` where it
fails, so CI cannot pass without having run it.
"""

from __future__ import annotations

import asyncio
import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.proxy.conftest import MASTER_KEY

PG_ENV = "VERTEXLATE_TEST_POSTGRES"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
RUN = uuid.uuid4().hex[:8]


_PG_STATE: dict[str, str | None] = {}


def pg_base() -> str:
    return _PG_STATE.get("url") or os.environ.get(PG_ENV, PG_DEFAULT)


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


def _pg_problem() -> str | None:
    if "problem" not in _PG_STATE:
        try:
            pg_sql("SELECT 1")
            _PG_STATE["problem"] = None
        except Exception as exc:
            reason = f"no PostgreSQL at {pg_base()} ({type(exc).__name__}: {exc})"
            started = _throwaway_server()
            if started.startswith("postgresql://"):
                _PG_STATE["url"] = started
                _PG_STATE["problem"] = None
            else:
                _PG_STATE["problem"] = f"{reason}; no throwaway server either: {started}"
    return _PG_STATE["problem"]


def _throwaway_server() -> str:
    """Start a PostgreSQL server in a temporary directory; its URL, or why not."""
    found = shutil.which("pg_ctl") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)), None
    )
    if found is None:
        return "no PostgreSQL binaries (pg_ctl) on this machine"
    bindir = os.path.dirname(found)
    data = tempfile.mkdtemp(prefix="vx-pg-")
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            return "running as root without runuser"
        shutil.chown(data, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    try:
        subprocess.run(
            [*prefix, f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-p {port} -h 127.0.0.1 -k {data} -F"
        subprocess.run(
            [
                *prefix,
                f"{bindir}/pg_ctl",
                "-D",
                data,
                "-o",
                options,
                "-l",
                f"{data}/log",
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(data, ignore_errors=True)
        return f"starting one failed: {exc}"

    def stop() -> None:
        subprocess.run(
            [*prefix, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(data, ignore_errors=True)

    atexit.register(stop)
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    async def create() -> None:
        import asyncpg

        conn = await asyncpg.connect(admin, timeout=10)
        try:
            await conn.execute("CREATE DATABASE test")
        finally:
            await conn.close()

    asyncio.run(create())
    return f"postgresql://postgres@127.0.0.1:{port}/test"


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
