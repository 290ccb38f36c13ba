"""Group commit: many small writes share one transaction.

A token request hands its audit row to the writer and waits for the batch it landed in to be
committed, so each issuance is durable before its 200 while a busy node commits once every
few milliseconds instead of once per token."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import bindparam, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantgate.storage import models as m
from tenantgate.storage.database import Database

log = structlog.get_logger(__name__)


@dataclass
class Batch:
    audit: list[dict[str, Any]] = field(default_factory=list)
    touches: dict[tuple[str, str], float] = field(default_factory=dict)
    revocations: dict[str, float] = field(default_factory=dict)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class BatchWriter:
    def __init__(self, db: Database, interval_ms: float, max_batch: int = 2000) -> None:
        self._db = db
        self._interval = interval_ms / 1000
        self._max = max_batch
        self._batch = Batch()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tenantgate-batch-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._batch.audit:
            await self._commit(self._take())

    def add(
        self,
        audit: dict[str, Any],
        touches: dict[tuple[str, str], float] | None = None,
        revocation: tuple[str, float] | None = None,
    ) -> None:
        """Queue a row without waiting for it (refusals, for instance)."""
        batch = self._batch
        batch.audit.append(audit)
        if touches:
            batch.touches.update(touches)
        if revocation:
            batch.revocations[revocation[0]] = revocation[1]
        self._wake.set()

    def write(
        self,
        audit: dict[str, Any],
        touches: dict[tuple[str, str], float] | None = None,
        revocation: tuple[str, float] | None = None,
    ) -> asyncio.Future[None]:
        """Queue a row; the future resolves once its batch is committed."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._batch.waiters.append(waiter)
        self.add(audit, touches, revocation)
        return waiter

    def _take(self) -> Batch:
        batch, self._batch = self._batch, Batch()
        self._wake.clear()
        return batch

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if self._interval and len(self._batch.audit) < self._max:
                await asyncio.sleep(self._interval)
            batch = self._take()
            try:
                await self._commit(batch)
            except Exception as exc:
                log.error("batch_commit_failed", error=type(exc).__name__, rows=len(batch.audit))
                for waiter in batch.waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def _commit(self, batch: Batch) -> None:
        """Core statements on one connection, each an executemany: no ORM unit of work on
        the token endpoint's path."""
        async with self._db.engine.begin() as connection:
            if batch.audit:
                await connection.execute(_AUDIT, batch.audit)
            touches: dict[str, list[dict[str, Any]]] = {}
            for (table, key), at in batch.touches.items():
                touches.setdefault(table, []).append(_touch_row(table, key, at))
            for table, rows in touches.items():
                await connection.execute(_TOUCH[table], rows)
            if batch.revocations:
                await _revoke(connection, batch.revocations, batch.audit[0]["at"])


_TABLES = m.Base.metadata.tables
_AUDIT = insert(_TABLES["audit_events"])
_TOUCH = {
    "application": update(_TABLES["applications"])
    .where(_TABLES["applications"].c.application_id == bindparam("k"))
    .values(last_token_at=bindparam("at")),
    "secret": update(_TABLES["client_secrets"])
    .where(_TABLES["client_secrets"].c.secret_id == bindparam("k"))
    .values(last_used_at=bindparam("at")),
    "api_user": update(_TABLES["api_users"])
    .where(
        (_TABLES["api_users"].c.tenant_id == bindparam("t"))
        & (_TABLES["api_users"].c.application_id == bindparam("k"))
    )
    .values(last_token_at=bindparam("at")),
}


def _touch_row(table: str, key: str, at: float) -> dict[str, Any]:
    if table == "api_user":
        tenant_id, application_id = key.split("/", 1)
        return {"t": tenant_id, "k": application_id, "at": at}
    return {"k": key, "at": at}


async def _revoke(connection: AsyncConnection, revocations: dict[str, float], now: float) -> None:
    insert_ignoring = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    rows = [{"jti": j, "expires_at": e, "revoked_at": now} for j, e in revocations.items()]
    table = _TABLES["revoked_tokens"]
    await connection.execute(insert_ignoring(table).on_conflict_do_nothing(), rows)
    await connection.execute(
        insert(_TABLES["changes"]), [{"at": now, "entity": "token", "key": j} for j in revocations]
    )
