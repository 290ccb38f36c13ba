"""How long the audit trail and the gateway's usage minutes are kept: rows older than the
retention period are deleted a few thousand at a time, each batch its own short transaction,
so that pruning a large backlog never holds locks or a connection for long. On PostgreSQL one
node prunes at a time (a transaction-level advisory lock; the others skip that round)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Table, delete, select, text

from tenantgate.storage import models as m
from tenantgate.storage.database import Database, DatabaseUnavailable, is_sqlite

log = structlog.get_logger(__name__)

DAY = 86_400.0
ROWS_PER_BATCH = 5_000
PRUNE_LOCK = 0x7467_6175  # "tgau": the advisory lock id of the audit pruner


class AuditRetention:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], float],
        days: float,
        *,
        every: float = 3_600.0,
        first_after: float = 30.0,
        rows_per_batch: int = ROWS_PER_BATCH,
        pause: float = 0.05,
    ) -> None:
        self._db = db
        self._clock = clock
        self._days = days
        self._every = every
        self._first_after = first_after
        self._rows = rows_per_batch
        self._pause = pause
        self._task: asyncio.Task[None] | None = None

    async def prune(self) -> int:
        """Delete what is past retention; the number of rows deleted. Nothing with 0 days."""
        if self._days <= 0:
            return 0
        cutoff = self._clock() - self._days * DAY
        deleted = 0
        audit: Table = m.AuditEvent.__table__  # type: ignore[assignment]
        for table, column, before in (
            (audit, "at", cutoff),
            (m.UsageMinutes, "minute", cutoff // 60),
            (m.UsageCodes, "minute", cutoff // 60),
        ):
            count = await self._prune(table, table.c[column], before)
            if count is None:
                return deleted
            deleted += count
        if deleted:
            log.info("audit_pruned", rows=deleted, older_than_days=self._days)
        return deleted

    async def _prune(self, table: Table, at: ColumnElement[Any], before: float) -> int | None:
        """Deletes the rows of ``table`` whose ``at`` is before ``before``, oldest first, a
        batch at a time; ``None`` if another node holds the lock."""
        deleted = 0
        ids = table.c.id
        while True:
            async with self._db.begin() as session:
                if not is_sqlite(self._db.url):
                    locked = await session.scalar(
                        text("SELECT pg_try_advisory_xact_lock(:lock)"), {"lock": PRUNE_LOCK}
                    )
                    if not locked:
                        return None
                oldest = select(ids).where(at < before).order_by(at).limit(self._rows)
                result = await session.execute(delete(table).where(ids.in_(oldest)))
            count = result.rowcount or 0  # type: ignore[attr-defined]
            deleted += count
            if count < self._rows:
                return deleted
            await asyncio.sleep(self._pause)

    def start(self) -> None:
        if self._days > 0:
            self._task = asyncio.create_task(self._run(), name="tenantgate-audit-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        await asyncio.sleep(self._first_after)
        while True:
            with contextlib.suppress(DatabaseUnavailable):  # logged once by the database
                await self.prune()
            await asyncio.sleep(self._every)
