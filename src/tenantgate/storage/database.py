"""The engine and sessions. SQLite gets WAL and full sync so a 2xx survives a crash."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.session = async_sessionmaker(self.engine, expire_on_commit=False)

    def begin(self) -> Any:
        """``async with db.begin() as session``: one transaction, committed on exit."""
        return self.session.begin()

    @contextlib.asynccontextmanager
    async def begin_serialized(self) -> AsyncIterator[AsyncSession]:
        """A transaction that reads, then writes what it read decides. On SQLite it takes the
        write lock first (BEGIN IMMEDIATE), so that two of them cannot both read the state
        before the other's write; on PostgreSQL the caller locks its rows (FOR UPDATE)."""
        async with self.session.begin() as session:
            if is_sqlite(self.url):
                await session.execute(text("BEGIN IMMEDIATE"))
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


__all__ = ["AsyncSession", "Database", "is_sqlite"]
