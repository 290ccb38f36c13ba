"""The change feed that keeps every node's in-memory state current.

Each write that the state mirrors adds a ``changes`` row in its own transaction. The node that
wrote applies it before answering; every node polls the table and applies what it has not seen.
Ids from concurrent transactions may commit out of order, so a poll also re-reads the last few
seconds and skips ids already applied: re-applying is harmless, since it re-reads the entity."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantgate.clock import Clock
from tenantgate.registry.state import RegistryState
from tenantgate.storage import models as m
from tenantgate.storage.database import Database
from tenantgate.storage.loader import REFRESHERS, load_all

log = structlog.get_logger(__name__)

Listener = Callable[[str, str], Awaitable[None]]

_REREAD_SECONDS = 5.0
_KEEP_CHANGES_SECONDS = 3600.0


def record(session: AsyncSession, entity: str, key: str, now: float) -> None:
    session.add(m.Change(at=now, entity=entity, key=key))


class ChangeFeed:
    def __init__(self, db: Database, state: RegistryState, clock: Clock, interval: float) -> None:
        self._db = db
        self._state = state
        self._clock = clock
        self._interval = interval
        self._last_id = 0
        self._seen: dict[int, float] = {}
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._polls = 0

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def load(self) -> None:
        async with self._db.session() as session:
            self._last_id = await session.scalar(select(func.max(m.Change.id))) or 0
            await load_all(session, self._state, self._clock())

    async def apply(self, entity: str, key: str) -> None:
        refresher = REFRESHERS.get(entity)
        if refresher is not None:
            async with self._db.session() as session:
                await refresher(session, self._state, key)
        for listener in self._listeners:
            await listener(entity, key)

    async def poll(self) -> int:
        now = self._clock()
        query = select(m.Change).where(
            or_(m.Change.id > self._last_id, m.Change.at >= now - _REREAD_SECONDS)
        )
        async with self._db.session() as session:
            rows = (await session.scalars(query.order_by(m.Change.id))).all()
        fresh = [row for row in rows if row.id not in self._seen]
        for row in fresh:
            self._seen[row.id] = row.at
            self._last_id = max(self._last_id, row.id)
            await self.apply(row.entity, row.key)
        self._seen = {i: at for i, at in self._seen.items() if at >= now - 2 * _REREAD_SECONDS}
        return len(fresh)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tenantgate-change-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.poll()
                self._polls += 1
                if self._polls % 120 == 0:
                    await self._prune()
            except Exception as exc:
                log.warning("change_poll_failed", error=type(exc).__name__)

    async def _prune(self) -> None:
        now = self._clock()
        self._state.forget_expired(now)
        async with self._db.begin() as session:
            await session.execute(delete(m.Change).where(m.Change.at < now - _KEEP_CHANGES_SECONDS))
            await session.execute(delete(m.RevokedToken).where(m.RevokedToken.expires_at < now))
