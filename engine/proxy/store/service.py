"""The store as the proxy uses it: open (connect + migrate), account for requests, close (flush)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from engine.proxy.keys import Caller
from engine.proxy.observability import request_id as request_ids
from engine.proxy.store.accounts import DEFAULT_TTL, Accounts
from engine.proxy.store.db import Database, connect, redacted
from engine.proxy.store.migrate import migrate
from engine.proxy.store.records import Records
from engine.proxy.store.spend import FLUSH_INTERVAL, SpendWriter

log = logging.getLogger("vertexlate.proxy.store")


def _count(value: Any) -> int:
    kind = type(value)  # exact types: the common int is one check (and bool is not a count)
    return value if kind is int else int(value) if kind is float else 0


class Store:
    """Database, records, spend writer and the virtual-key cache of one proxy process."""

    def __init__(self, db: Database, url: str, ttl: float, interval: float) -> None:
        self.db = db
        self.url = url
        self.records = Records(db)
        self.writer = SpendWriter(self.records, interval)
        self.accounts = Accounts(self.records, self.writer, ttl)
        self.version = 0
        self.new_id = request_ids.generate
        self._metadata: dict[str, str] = {}  # key alias -> its rows' metadata JSON (built once)

    @classmethod
    async def open(
        cls, url: str, base: Path | None = None, ttl: float = DEFAULT_TTL, interval: float = FLUSH_INTERVAL
    ) -> Store:
        """Connect and bring the schema up to date (raises DatabaseError / MigrationError)."""
        db = await connect(url, base)
        try:
            store = cls(db, url, ttl, interval)
            store.version = await migrate(db)
        except BaseException:
            await db.close()
            raise
        store.writer.start()
        log.info("store: %s at schema version %d", redacted(url), store.version)
        return store

    async def close(self) -> None:
        await self.writer.close()
        await self.db.close()

    def record(
        self,
        caller: Caller,
        *,
        request_id: str | None,
        call_type: str,
        model_group: str | None,
        deployment: Any,
        result: Any,
        cost: float | None,
        started: float,
        status: str = "success",
        error_type: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        """One spend log row for a finished request (no I/O here: the writer batches it).

        ``usage`` in OpenAI's names when the result's own is another format's (a dialect's).
        """
        get = dict.get  # not the result's own get: no lazy wrapping of nested objects
        if usage is None:
            usage = get(result, "usage") if isinstance(result, dict) else None
        if not isinstance(usage, dict):
            usage = {}
        prompt_details = get(usage, "prompt_tokens_details")
        completion_details = get(usage, "completion_tokens_details")
        now = time.time()
        row = (  # in SPEND_COLUMNS order (engine/proxy/store/records.py)
            request_id or self.new_id(),
            caller.token or None,  # api_key
            caller.user_id,
            caller.team_id,
            call_type,
            model_group,
            getattr(deployment, "model", None),
            getattr(deployment, "id", None),  # model_id
            _count(get(usage, "prompt_tokens")),
            _count(get(usage, "completion_tokens")),
            _count(get(prompt_details, "cached_tokens")) if isinstance(prompt_details, dict) else 0,
            _count(get(completion_details, "reasoning_tokens"))
            if isinstance(completion_details, dict)
            else 0,
            _count(get(usage, "total_tokens")),
            cost,  # spend
            started,  # start_time
            now,  # end_time
            (now - started) * 1000.0,  # latency_ms
            status,
            error_type,
            self._metadata_of(caller),
        )
        self.accounts.record(caller, row)

    def _metadata_of(self, caller: Caller) -> str:
        if not caller.virtual:
            return "{}"
        text = self._metadata.get(caller.alias)
        if text is None:
            if len(self._metadata) >= 10_000:  # bounded: aliases come and go
                self._metadata.clear()
            text = self._metadata[caller.alias] = json.dumps({"key_alias": caller.alias})
        return text


async def prepare(url: str, base: Path | None) -> int:
    """Connect and migrate once before the server starts (workers then find the schema current)."""
    db = await connect(url, base)
    try:
        return await migrate(db)
    finally:
        await db.close()
