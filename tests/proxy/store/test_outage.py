"""A database outage never fails a request: rows wait in memory and are written when it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import openai
import pytest

from engine.proxy import BackgroundProxy
from engine.proxy.store.records import REQUEST_ID, SpendRow, hash_key, spend_row
from engine.proxy.store.spend import SpendWriter
from tests.proxy.store.conftest import pg_sql
from tests.proxy.store.test_store import admin, chat


class FlakyRecords:
    """Records whose writes fail while ``down`` (as a database outage looks to the writer)."""

    def __init__(self) -> None:
        self.down = True
        self.rows: list[SpendRow] = []
        self.attempts = 0

    async def apply_spend(self, rows: list[SpendRow]) -> int:
        self.attempts += 1
        if self.down:
            raise OSError("connection refused")
        self.rows.extend(rows)
        return len(rows)


async def test_writer_keeps_rows_through_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    records = FlakyRecords()
    writer = SpendWriter(records, interval=3600)  # type: ignore[arg-type]
    rows = [
        spend_row(api_key="k", spend=0.5, start_time=i, end_time=i, latency_ms=1, status="success")
        for i in range(3)
    ]
    for row in rows[:2]:
        writer.add(row)
    assert writer.unwritten(("key", "k")) == 1.0
    assert await writer.flush() is False  # down: nothing lost
    assert await writer.flush() is False
    writer.add(rows[2])
    assert len(writer.rows) == 3 and writer.unwritten(("key", "k")) == 1.5
    assert sum("database write failed" in r.message for r in caplog.records) == 1  # one warning per outage
    records.down = False
    assert await writer.flush() is True
    assert [r[REQUEST_ID] for r in records.rows] == [r[REQUEST_ID] for r in rows]  # in order, once
    assert writer.rows == [] and writer.unwritten(("key", "k")) == 0
    assert any("database back" in r.message for r in caplog.records)


async def test_close_flushes_and_retries() -> None:
    records = FlakyRecords()
    writer = SpendWriter(records, interval=3600)  # type: ignore[arg-type]
    writer.start()
    writer.add(spend_row(api_key="k", spend=1.0, start_time=0, end_time=0, latency_ms=1, status="success"))

    async def recover() -> None:
        while records.attempts < 2:
            await asyncio.sleep(0.05)
        records.down = False

    await asyncio.gather(writer.close(timeout=30), recover())
    assert len(records.rows) == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no connection to kill
def test_killed_database_connections(
    start_proxy: Callable[..., BackgroundProxy],
    store_config: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    """pg_terminate_backend on every connection of the proxy, twice, mid-run: no request fails, no row is lost."""
    app = parse_qs(urlsplit(database_url).query)["application_name"][0]
    proxy = start_proxy(store_config(user_api_key_cache_ttl=3600))
    key = admin(proxy, "POST", "/key/generate", json={}).json()["key"]
    costs = [chat(proxy, key)[1]]
    admin(proxy, "GET", "/spend/logs")  # connections are open and in use

    def kill() -> int:
        rows = pg_sql(
            f"SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = '{app}'"
        )
        return sum(1 for r in rows if r["ok"])

    assert kill() >= 1
    costs += [chat(proxy, key)[1] for _ in range(4)]  # served while the pool's connections are dead
    proxy.proxy.store.writer._wake.set()  # a flush now meets dead connections
    kill()
    costs += [chat(proxy, key)[1] for _ in range(3)]

    deadline = time.monotonic() + 60
    logs: list[Any] = []
    while time.monotonic() < deadline:  # the writer retries on its own; wait until it has caught up
        reply = httpx.get(proxy.url + "/spend/logs", params={"api_key": key}, headers=admin_headers())
        if reply.status_code == 200 and len(reply.json()) >= len(costs):
            logs = reply.json()
            break
        time.sleep(0.2)
    assert len(logs) == len(costs) == 8
    assert sum(r["spend"] for r in logs) == pytest.approx(sum(costs))
    spend = admin(proxy, "GET", "/key/info", params={"key": key}).json()["info"]["spend"]
    assert spend == pytest.approx(sum(costs))
    assert hash_key(key) == logs[0]["api_key"]


def admin_headers() -> dict[str, str]:
    from tests.proxy.store.test_store import MASTER

    return MASTER


def test_end_to_end_budget_with_the_openai_client(
    start_proxy: Callable[..., BackgroundProxy], store_config: Callable[..., dict[str, Any]]
) -> None:
    """A generated key works until its budget is spent; its spend is the sum of the cost headers it got."""
    proxy = start_proxy(store_config())
    key = admin(proxy, "POST", "/key/generate", json={"models": ["flash"]}).json()["key"]
    first = chat(proxy, key)[1]
    assert first is not None
    admin(proxy, "POST", "/key/update", json={"key": key, "max_budget": first * 2.5})
    costs = [first]
    with pytest.raises(openai.BadRequestError) as refused:
        for _ in range(10):
            costs.append(chat(proxy, key)[1])
    assert refused.value.body["type"] == "budget_exceeded"
    assert len(costs) == 3  # refused once the spend reached the budget
    admin(proxy, "GET", "/spend/logs")
    spend = admin(proxy, "GET", "/key/info", params={"key": key}).json()["info"]["spend"]
    assert spend == pytest.approx(sum(costs), rel=1e-9)


async def test_a_write_cancelled_midway_keeps_its_rows() -> None:
    class Slow(FlakyRecords):
        async def apply_spend(self, rows: list[SpendRow]) -> int:
            await asyncio.sleep(3600)
            return 0

    writer = SpendWriter(Slow(), interval=3600)  # type: ignore[arg-type]
    writer.add(spend_row(api_key="k", spend=1.0, start_time=0, end_time=0, latency_ms=1, status="success"))
    task = asyncio.ensure_future(writer.flush())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(writer.rows) == 1 and writer.unwritten(("key", "k")) == 1.0
