"""The key cache: concurrent requests of a key whose entry is missing or expired share one lookup."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine.proxy.store.records import hash_key, new_key
from engine.proxy.store.service import Store


async def test_concurrent_lookups_of_one_key_share_one_query(database_url: str, tmp_path: Path) -> None:
    store = await Store.open(database_url, base=tmp_path, ttl=10.0)
    try:
        key = new_key()
        await store.records.insert("key", {"token": hash_key(key), "key_name": "k", "max_budget": 1.0})
        real, calls = store.records.get, []

        async def counted(kind: str, ident: str) -> Any:
            calls.append(kind)
            await asyncio.sleep(0.01)  # a slow database: the other requests arrive meanwhile
            return await real(kind, ident)

        store.records.get = counted  # type: ignore[method-assign]
        callers = await asyncio.gather(*(store.accounts.authenticate(key) for _ in range(16)))
        assert calls == ["key"] and len({id(c) for c in callers}) == 1
        store.accounts.clock = lambda: 1e12  # every entry expired: one lookup again, not sixteen
        await asyncio.gather(*(store.accounts.authenticate(key) for _ in range(16)))
        assert calls == ["key", "key"]
    finally:
        await store.close()
