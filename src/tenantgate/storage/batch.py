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
from sqlalchemy import insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

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
        async with self._db.begin() as session:
            if batch.audit:
                await session.execute(insert(m.AuditEvent), batch.audit)
            for (table, key), at in batch.touches.items():
                await session.execute(_touch(table, key, at))
            if batch.revocations:
                await _revoke(session, batch.revocations, batch.audit[0]["at"])


async def _revoke(session: AsyncSession, revocations: dict[str, float], now: float) -> None:
    dialect = session.get_bind().dialect.name
    insert_ignoring = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [{"jti": j, "expires_at": e, "revoked_at": now} for j, e in revocations.items()]
    await session.execute(insert_ignoring(m.RevokedToken).on_conflict_do_nothing(), rows)
    await session.execute(
        insert(m.Change), [{"at": now, "entity": "token", "key": j} for j in revocations]
    )


def _touch(table: str, key: str, at: float) -> Any:
    if table == "application":
        return (
            update(m.Application)
            .where(m.Application.application_id == key)
            .values(last_token_at=at)
        )
    if table == "secret":
        return update(m.ClientSecret).where(m.ClientSecret.secret_id == key).values(last_used_at=at)
    tenant_id, application_id = key.split("/", 1)
    return (
        update(m.ApiUser)
        .where(m.ApiUser.tenant_id == tenant_id, m.ApiUser.application_id == application_id)
        .values(last_token_at=at)
    )
