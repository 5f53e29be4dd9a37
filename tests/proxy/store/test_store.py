"""The store on both databases: migrations, key lifecycle, budgets and resets, spend logs, no lost update."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from engine.proxy import BackgroundProxy
from engine.proxy.store import records as records_module
from engine.proxy.store.db import connect
from engine.proxy.store.migrate import MigrationError, migrate, migrations
from engine.proxy.store.records import Records, hash_key, spend_row
from engine.proxy.store.service import Store
from tests.proxy.conftest import MASTER_KEY, FakeClock

MASTER = {"authorization": f"Bearer {MASTER_KEY}"}
HELLO = [{"role": "user", "content": "hello"}]


def admin(proxy: BackgroundProxy, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, proxy.url + path, headers=MASTER, timeout=30, **kwargs)


def client(proxy: BackgroundProxy, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)


def chat(proxy: BackgroundProxy, key: str, model: str = "flash") -> tuple[Any, float | None]:
    raw = client(proxy, key).chat.completions.with_raw_response.create(model=model, messages=HELLO)
    cost = raw.headers.get("x-litellm-response-cost")
    return raw.parse(), float(cost) if cost is not None else None


# --------------------------------------------------------------------------- migrations


async def test_migrations_from_empty(database_url: str, tmp_path: Path) -> None:
    store = await Store.open(database_url, tmp_path)
    try:
        latest = migrations()[-1].version
        assert store.version == latest
        assert await migrate(store.db) == latest  # a second start applies nothing
        for table in ("vx_keys", "vx_users", "vx_teams", "vx_spend_logs"):
            assert await store.db.fetch(f"SELECT * FROM {table}") == []
        versions = await store.db.fetch("SELECT version, name FROM vx_schema_migrations ORDER BY version")
        assert [r["version"] for r in versions] == [m.version for m in migrations()]
    finally:
        await store.close()


async def test_workers_starting_together_migrate_once(database_url: str, tmp_path: Path) -> None:
    """``--workers N`` on one database: every worker reads version 0, one applies each file, none fails."""
    dbs = [await connect(database_url, tmp_path) for _ in range(4)]
    try:
        reached = await asyncio.gather(*(migrate(db) for db in dbs))
        assert reached == [migrations()[-1].version] * 4
        rows = await dbs[0].fetch("SELECT version FROM vx_schema_migrations")
        assert sorted(r["version"] for r in rows) == [m.version for m in migrations()]
    finally:
        for db in dbs:
            await db.close()


async def test_failed_migration_is_reported_and_leaves_the_version(database_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "migrations"
    broken.mkdir()
    for m in migrations():
        (broken / m.name).write_text(";\n".join(m.statements), encoding="utf-8")
    (broken / "0999_broken.sql").write_text("CREATE TABLE vx_keys (token TEXT)", encoding="utf-8")
    db = await connect(database_url, tmp_path)
    try:
        with pytest.raises(MigrationError, match=r"0999_broken\.sql failed.*stays at schema version 1"):
            await migrate(db, broken)
        assert await migrate(db) == 1  # the good ones stayed applied
    finally:
        await db.close()


@pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnhandledThreadExceptionWarning"
)  # uvicorn's exit(3) in its thread
def test_failed_migration_stops_the_server(
    store_config: Callable[..., dict[str, Any]], write_config: Callable[..., Path], database_url: str
) -> None:
    async def sabotage() -> None:  # a table in the way of migration 1
        db = await connect(database_url, None)
        try:
            await db.execute("CREATE TABLE vx_teams (x INTEGER)")
        finally:
            await db.close()

    asyncio.run(sabotage())
    from engine.proxy import load_config

    with pytest.raises(RuntimeError, match="failed to start"):
        BackgroundProxy(load_config(write_config(store_config()))).start()


# --------------------------------------------------------------------------- keys


def test_key_lifecycle(
    start_proxy: Callable[..., BackgroundProxy], store_config: Callable[..., dict[str, Any]]
) -> None:
    proxy = start_proxy(store_config())
    made = admin(
        proxy, "POST", "/key/generate", json={"models": ["flash"], "key_alias": "ci", "metadata": {"a": 1}}
    )
    assert made.status_code == 200, made.text
    key = made.json()["key"]
    assert key.startswith("sk-") and made.json()["key_name"] == f"sk-...{key[-4:]}"
    assert made.json()["token"] == hash_key(key)

    resp, cost = chat(proxy, key)
    assert resp.choices[0].message.content and cost is not None and cost > 0

    info = admin(proxy, "GET", "/key/info", params={"key": key})
    assert info.status_code == 200
    assert key not in info.text  # shown once, at creation; masked afterwards
    assert info.json()["info"]["key_alias"] == "ci" and info.json()["info"]["metadata"] == {"a": 1}

    # model not allowed: LiteLLM's 401 key_model_access_denied
    with pytest.raises(openai.AuthenticationError) as denied:
        chat(proxy, key, model="lite")
    assert denied.value.body["type"] == "key_model_access_denied"
    assert (
        admin(proxy, "POST", "/key/update", json={"key": key, "models": ["flash", "lite"]}).status_code == 200
    )
    chat(proxy, key, model="lite")

    listed = admin(proxy, "GET", "/key/list").json()
    assert listed["total_count"] == 1 and listed["keys"] == [hash_key(key)]

    new = admin(proxy, "POST", "/key/regenerate", json={"key": key}).json()["key"]
    with pytest.raises(openai.AuthenticationError):
        chat(proxy, key)
    chat(proxy, new)
    assert admin(proxy, "POST", "/key/block", json={"key": new}).status_code == 200
    with pytest.raises(openai.AuthenticationError):
        chat(proxy, new)
    admin(proxy, "POST", "/key/unblock", json={"key": new})
    chat(proxy, new)

    assert admin(proxy, "POST", "/key/delete", json={"keys": [new]}).json() == {"deleted_keys": [new]}
    with pytest.raises(openai.AuthenticationError):
        chat(proxy, new)
    assert admin(proxy, "GET", "/key/info", params={"key": new}).status_code == 404


def test_only_the_master_key_manages(
    start_proxy: Callable[..., BackgroundProxy], store_config: Callable[..., dict[str, Any]]
) -> None:
    proxy = start_proxy(store_config())
    key = admin(proxy, "POST", "/key/generate", json={}).json()["key"]
    for headers in ({"authorization": f"Bearer {key}"}, {}, {"authorization": "Bearer sk-nope-nope-nope"}):
        refused = httpx.post(proxy.url + "/key/generate", json={}, headers=headers)
        assert refused.status_code == 401 and refused.json()["error"]["type"] == "auth_error"
    bad = admin(proxy, "POST", "/key/generate", json={"max_budget": -1})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "max_budget"
    unknown = admin(proxy, "POST", "/key/generate", json={"guardrails": ["x"]})
    assert unknown.status_code == 400 and "guardrails" in unknown.json()["error"]["message"]
    # /model/info answers any valid key, with prices and without credentials
    info = httpx.get(proxy.url + "/model/info", headers={"authorization": f"Bearer {key}"}).json()
    flash = next(d for d in info["data"] if d["model_name"] == "flash")
    assert flash["model_info"]["input_cost_per_token"] == pytest.approx(0.30 / 1e6)
    assert "vertex_credentials" not in flash["litellm_params"]


def test_expired_key_is_refused(
    start_proxy: Callable[..., BackgroundProxy], store_config: Callable[..., dict[str, Any]]
) -> None:
    proxy = start_proxy(store_config())
    key = admin(proxy, "POST", "/key/generate", json={"duration": "1h"}).json()["key"]
    chat(proxy, key)
    past = "2020-01-01T00:00:00Z"
    assert admin(proxy, "POST", "/key/update", json={"key": key, "expires": past}).status_code == 200
    with pytest.raises(openai.AuthenticationError) as refused:
        chat(proxy, key)
    assert refused.value.body["type"] == "expired_key"


def test_rate_limit_answers_429_with_retry_after(
    start_proxy: Callable[..., BackgroundProxy], store_config: Callable[..., dict[str, Any]]
) -> None:
    clock = FakeClock()  # the window is the proxy's minute, not the wall clock's (no boundary in mid-test)
    proxy = start_proxy(store_config(), clock=clock)
    key = admin(proxy, "POST", "/key/generate", json={"rpm_limit": 1}).json()["key"]
    chat(proxy, key)
    with pytest.raises(openai.RateLimitError) as limited:
        chat(proxy, key)
    assert 1 <= int(limited.value.response.headers["retry-after"]) <= 60
    clock.advance(60)  # the next minute: the key may call again
    chat(proxy, key)


# --------------------------------------------------------------------------- budgets


def test_budget_is_enforced_and_spend_matches_the_cost_headers(
    start_proxy: Callable[..., BackgroundProxy], store_config: Callable[..., dict[str, Any]]
) -> None:
    proxy = start_proxy(store_config())
    key = admin(proxy, "POST", "/key/generate", json={"max_budget": 0}).json()["key"]
    with pytest.raises(openai.BadRequestError) as spent:
        chat(proxy, key)
    assert spent.value.body["type"] == "budget_exceeded"

    key = admin(proxy, "POST", "/key/generate", json={"max_budget": 1.0}).json()["key"]
    costs = [chat(proxy, key)[1] for _ in range(3)]
    assert all(c is not None and c > 0 for c in costs)
    spend = admin(proxy, "GET", "/key/info", params={"key": key}).json()["info"]["spend"]
    proxy.proxy.store  # noqa: B018 - the store is open
    assert spend == pytest.approx(sum(costs)) or spend <= sum(costs)  # may still be in the writer
    admin(proxy, "GET", "/spend/logs")  # flushes the writer
    spend = admin(proxy, "GET", "/key/info", params={"key": key}).json()["info"]["spend"]
    assert spend == pytest.approx(sum(costs), rel=1e-9)

    # lower the budget below what was spent: the next request is refused
    admin(proxy, "POST", "/key/update", json={"key": key, "max_budget": sum(costs) / 2})
    with pytest.raises(openai.BadRequestError) as over:
        chat(proxy, key)
    assert over.value.body["type"] == "budget_exceeded"


def test_user_and_team_budgets(
    start_proxy: Callable[..., BackgroundProxy], store_config: Callable[..., dict[str, Any]]
) -> None:
    proxy = start_proxy(store_config())
    team = admin(proxy, "POST", "/team/new", json={"team_alias": "t", "max_budget": 0, "models": ["flash"]})
    assert team.status_code == 200, team.text
    team_id = team.json()["team_id"]
    key = admin(proxy, "POST", "/key/generate", json={"team_id": team_id}).json()["key"]
    with pytest.raises(openai.BadRequestError) as refused:
        chat(proxy, key)
    assert refused.value.body["type"] == "budget_exceeded" and "Team" in refused.value.body["message"]
    admin(proxy, "POST", "/team/update", json={"team_id": team_id, "max_budget": 10})
    chat(proxy, key)
    with pytest.raises(openai.AuthenticationError):  # the team's models only
        chat(proxy, key, model="lite")

    user = admin(proxy, "POST", "/user/new", json={"user_id": "ann", "max_budget": 0}).json()
    assert user["user_id"] == "ann" and user["key"].startswith("sk-")
    with pytest.raises(openai.BadRequestError):
        chat(proxy, user["key"])
    admin(proxy, "POST", "/user/update", json={"user_id": "ann", "max_budget": 5})
    chat(proxy, user["key"])
    added = admin(
        proxy,
        "POST",
        "/team/member_add",
        json={"team_id": team_id, "member": {"role": "user", "user_id": "ann"}},
    )
    assert added.status_code == 200 and any(m["user_id"] == "ann" for m in added.json()["members_with_roles"])
    info = admin(proxy, "GET", "/user/info", params={"user_id": "ann"}).json()
    assert info["user_info"]["teams"] == [team_id] and len(info["keys"]) == 1
    assert (
        admin(proxy, "GET", "/team/info", params={"team_id": team_id}).json()["team_info"]["team_alias"]
        == "t"
    )
    assert admin(proxy, "POST", "/team/delete", json={"team_ids": [team_id]}).json() == {
        "deleted_teams": [team_id]
    }
    with pytest.raises(openai.AuthenticationError):  # the team's keys went with it
        chat(proxy, key)
    assert admin(proxy, "POST", "/user/delete", json={"user_ids": ["ann"]}).json() == {
        "deleted_users": ["ann"]
    }


def test_budget_resets_after_its_duration(
    start_proxy: Callable[..., BackgroundProxy],
    store_config: Callable[..., dict[str, Any]],
    database_url: str,
) -> None:
    proxy = start_proxy(store_config(user_api_key_cache_ttl=0))
    key = admin(proxy, "POST", "/key/generate", json={"max_budget": 1e-9, "budget_duration": "30d"}).json()[
        "key"
    ]
    chat(proxy, key)  # spends more than the budget
    with pytest.raises(openai.BadRequestError):
        chat(proxy, key)

    async def end_period() -> None:  # the 30 days are over (set the reset time into the past)
        db = await connect(database_url, None)
        try:
            await db.execute(
                "UPDATE vx_keys SET budget_reset_at = ? WHERE token = ?", time.time() - 1, hash_key(key)
            )
        finally:
            await db.close()

    asyncio.run(end_period())
    chat(proxy, key)  # the budget was reset: served again
    info = admin(proxy, "GET", "/key/info", params={"key": key}).json()["info"]
    next_reset = datetime.fromisoformat(info["budget_reset_at"]).timestamp()
    assert next_reset > time.time() + 29 * 86400  # the next period is scheduled
    with pytest.raises(openai.BadRequestError):
        chat(proxy, key)


# --------------------------------------------------------------------------- spend logs


def test_spend_logs(
    start_proxy: Callable[..., BackgroundProxy], store_config: Callable[..., dict[str, Any]]
) -> None:
    proxy = start_proxy(store_config())
    key = admin(proxy, "POST", "/key/generate", json={"user_id": "bob"}).json()["key"]
    _, cost = chat(proxy, key)
    _, unpriced = chat(proxy, key, model="unpriced")
    assert unpriced is None  # no price: no header, no wrong number
    with pytest.raises(openai.BadRequestError):
        client(proxy, key).chat.completions.create(model="flash", messages=HELLO, temperature=5)
    stream = client(proxy, key).chat.completions.create(model="flash", messages=HELLO, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    logs = admin(proxy, "GET", "/spend/logs", params={"api_key": key}).json()
    assert [row["status"] for row in logs] == ["success", "success", "failure", "success"]
    first, second, failed, streamed = logs
    assert first["spend"] == pytest.approx(cost) and first["metadata"]["cost_known"]
    assert first["model_group"] == "flash" and first["model"] == "vertex_ai/gemini-2.5-flash"
    assert first["model_id"] and first["user"] == "bob" and first["api_key"] == hash_key(key)
    assert first["prompt_tokens"] > 0 and first["total_tokens"] >= first["prompt_tokens"]
    assert first["metadata"]["latency_ms"] > 0
    assert second["metadata"]["cost_known"] is False and second["spend"] == 0
    assert failed["metadata"]["error_type"] == "invalid_request_error"
    assert streamed["call_type"] == "acompletion" and streamed["spend"] > 0 and streamed["total_tokens"] > 0
    total = admin(proxy, "GET", "/global/spend").json()["spend"]
    assert total == pytest.approx(cost + streamed["spend"])
    report = admin(proxy, "GET", "/global/spend/report", params={"group_by": "api_key"}).json()
    assert report[0]["keys"][0]["api_key"] == hash_key(key)
    assert report[0]["keys"][0]["total_spend"] == pytest.approx(total)
    assert admin(proxy, "GET", "/user/info", params={"user_id": "bob"}).json()["user_info"][
        "spend"
    ] == pytest.approx(total)


def test_spend_logs_survive_a_graceful_shutdown(
    store_config: Callable[..., dict[str, Any]],
    write_config: Callable[..., Path],
    database_url: str,
    emulator: Any,
) -> None:
    from engine.proxy import load_config

    proxy = BackgroundProxy(load_config(write_config(store_config()))).start()
    try:
        key = admin(proxy, "POST", "/key/generate", json={}).json()["key"]
        proxy.proxy.store.writer.interval = 3600  # nothing is flushed on its own before the shutdown
        for _ in range(5):
            chat(proxy, key)
    finally:
        proxy.stop()

    async def count() -> int:
        db = await connect(database_url, None)
        try:
            return len(await Records(db).spend_logs({"api_key": hash_key(key)}, None, None, 100))
        finally:
            await db.close()

    assert asyncio.run(count()) == 5


# --------------------------------------------------------------------------- concurrency


async def test_concurrent_spend_updates_lose_nothing(database_url: str, tmp_path: Path) -> None:
    """Two stores (two processes' worth of connections) add to one key's spend at once."""
    first = await Store.open(database_url, tmp_path)
    second = await Store.open(database_url, tmp_path)
    try:
        token = hash_key("sk-concurrent-key")
        await first.records.insert("key", {"token": token, "key_name": "sk-...key"})

        async def spend(store: Store, n: int) -> None:
            for i in range(n):
                await store.records.apply_spend(
                    [
                        spend_row(
                            api_key=token,
                            spend=0.25,
                            start_time=i,
                            end_time=i,
                            latency_ms=1,
                            status="success",
                        )
                    ]
                )

        await asyncio.gather(*(spend(s, 20) for s in (first, second, first, second)))
        row = await first.records.get("key", token)
        assert row["spend"] == pytest.approx(80 * 0.25)
        logs = await first.records.spend_logs({"api_key": token}, None, None, 1000)
        assert len(logs) == 80
        # a batch retried after a lost commit reply counts once
        again = logs[0]
        await first.records.apply_spend([spend_row(**{**again, "metadata": {}})])
        assert (await first.records.get("key", token))["spend"] == pytest.approx(80 * 0.25)
    finally:
        await first.close()
        await second.close()


async def _retried_batch_of_several_chunks(database_url: str, tmp_path: Path) -> None:
    """More rows than one INSERT takes, part of them already written (a commit whose reply was lost)."""
    store = await Store.open(database_url, tmp_path)
    try:
        token = hash_key("sk-chunked-key")
        await store.records.insert("key", {"token": token, "key_name": "sk-...key"})
        rows = [
            spend_row(api_key=token, spend=0.5, start_time=i, end_time=i, latency_ms=1, status="success")
            for i in range(records_module.INSERT_CHUNK + 250)
        ]
        assert await store.records.apply_spend(rows[:300]) == 300
        assert await store.records.apply_spend(rows) == len(rows) - 300  # the first 300 again: skipped
        row = await store.records.get("key", token)
        assert row["spend"] == pytest.approx(len(rows) * 0.5)
        logs = await store.records.spend_logs({"api_key": token}, None, None, 10_000)
        assert sorted(r["request_id"] for r in logs) == sorted(r[records_module.REQUEST_ID] for r in rows)
    finally:
        await store.close()


async def test_a_retried_batch_of_several_chunks_counts_each_row_once(
    database_url: str, tmp_path: Path
) -> None:
    await _retried_batch_of_several_chunks(database_url, tmp_path)


async def test_the_same_on_sqlite_without_returning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite before 3.35 has no RETURNING: the rows already there are looked up first."""
    monkeypatch.setattr(records_module, "SQLITE_RETURNING", False)
    records_module.sqlite_chunk.cache_clear()
    try:
        assert records_module.sqlite_chunk() == records_module.LEGACY_CHUNK
        await _retried_batch_of_several_chunks(f"sqlite:///{tmp_path}/legacy.db", tmp_path)
    finally:
        records_module.sqlite_chunk.cache_clear()


def test_concurrent_requests_on_one_key(
    start_proxy: Callable[..., BackgroundProxy], store_config: Callable[..., dict[str, Any]]
) -> None:
    proxy = start_proxy(store_config())
    key = admin(proxy, "POST", "/key/generate", json={"max_budget": 100}).json()["key"]

    async def burst() -> list[float]:
        async_client = openai.AsyncOpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)
        raws = await asyncio.gather(
            *(
                async_client.chat.completions.with_raw_response.create(model="flash", messages=HELLO)
                for _ in range(24)
            )
        )
        await async_client.close()
        return [float(r.headers["x-litellm-response-cost"]) for r in raws]

    costs = asyncio.run(burst())
    admin(proxy, "GET", "/spend/logs")  # flush
    spend = admin(proxy, "GET", "/key/info", params={"key": key}).json()["info"]["spend"]
    assert spend == pytest.approx(sum(costs), rel=1e-9)


def test_serve_stops_on_a_failed_migration(
    store_config: Callable[..., dict[str, Any]],
    write_config: Callable[..., Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from engine.proxy.server import main

    async def sabotage() -> None:
        db = await connect(database_url, None)
        try:
            await db.execute("CREATE TABLE vx_keys (x INTEGER)")
        finally:
            await db.close()

    asyncio.run(sabotage())
    assert main(["--config", str(write_config(store_config())), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "database migration 0001_initial.sql failed" in err and "schema version 0" in err


def test_soft_budget_is_logged_once_and_keys_list_by_owner(
    start_proxy: Callable[..., BackgroundProxy],
    store_config: Callable[..., dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = start_proxy(store_config())
    key = admin(proxy, "POST", "/key/generate", json={"soft_budget": 1e-12, "user_id": "cy"}).json()["key"]
    admin(proxy, "POST", "/key/generate", json={"user_id": "dee"})
    with caplog.at_level("WARNING", logger="vertexlate.proxy.store"):
        chat(proxy, key)
        chat(proxy, key)  # over the soft budget: still served
    assert sum("soft budget reached" in r.message for r in caplog.records) == 1
    listed = admin(proxy, "GET", "/key/list", params={"user_id": "cy", "return_full_object": "true"}).json()
    assert listed["total_count"] == 1 and listed["keys"][0]["token"] == hash_key(key)
    assert key not in str(listed)
    assert admin(proxy, "GET", "/key/list", params={"page": "0"}).status_code == 400


def test_management_fields_that_cannot_be_stored_are_a_400(
    start_proxy: Callable[..., BackgroundProxy], store_config: Callable[..., dict[str, Any]]
) -> None:
    """A lone surrogate (valid JSON escape, not UTF-8) in any field: the field's 400, not the driver's 500."""
    proxy = start_proxy(store_config())
    for path, field in (
        ("/key/generate", "key_alias"),
        ("/team/new", "team_alias"),
        ("/user/new", "user_email"),
    ):
        raw = json.dumps({field: "bad \ud800 text"})
        reply = httpx.post(
            proxy.url + path, content=raw, headers={**MASTER, "content-type": "application/json"}, timeout=30
        )
        assert reply.status_code == 400, (path, reply.text)
        assert reply.json()["error"]["param"] == field
    assert admin(proxy, "POST", "/key/generate", json={"key_alias": "fine"}).status_code == 200
