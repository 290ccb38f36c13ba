"""The engine and sessions. SQLite gets WAL and full sync so a 2xx survives a crash.

Every call is bounded by ``timeout`` seconds: connecting, waiting for a pooled connection, and
each statement (on PostgreSQL also server-side, with ``statement_timeout`` and
``idle_in_transaction_session_timeout``, so that a node cut off mid-transaction leaves no
session holding locks behind). A call that fails because the database is slow, gone or
refusing raises :class:`DatabaseUnavailable`, which every surface answers as a 503."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import structlog
from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = structlog.get_logger(__name__)


class DatabaseUnavailable(Exception):
    """The database could not answer in time, or at all. The outcome of a write that raised
    this is unknown: it may have committed."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"database at {host} unavailable: {reason}")
        self.host = host
        self.reason = reason


UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.TimeoutError,  # waiting for a pooled connection
    TimeoutError,
    OSError,
    sqlite3.OperationalError,
)


def is_unavailable(error: BaseException) -> bool:
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, UNAVAILABLE_ERRORS):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    return isinstance(
        error,
        asyncpg.PostgresConnectionError
        | asyncpg.InterfaceError
        | asyncpg.exceptions.QueryCanceledError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.AdminShutdownError,
    )


def reason(error: BaseException) -> str:
    """A short, secret-free reason for a log line: the exception's class, and the original's."""
    original = getattr(error, "orig", None)
    if original is not None and original is not error:
        return f"{type(error).__name__} ({type(original).__name__})"
    return type(error).__name__


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def host_of(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def postgres_server_settings(timeout: float) -> dict[str, str]:
    """Server-side bounds of one session: statements and idle transactions end after
    ``timeout``; a silent client is found by TCP keepalives within about ``timeout``."""
    milliseconds = str(max(1, int(timeout * 1000)))
    keepalive = str(max(1, int(timeout / 3)))
    return {
        "statement_timeout": milliseconds,
        "idle_in_transaction_session_timeout": milliseconds,
        "tcp_keepalives_idle": keepalive,
        "tcp_keepalives_interval": keepalive,
        "tcp_keepalives_count": "3",
    }


def create_engine(
    url: str,
    timeout: float = 5.0,
    pool_size: int = 5,
    max_overflow: int = 5,
    *,
    statement_timeout: float | None = None,
) -> AsyncEngine:
    """An engine whose connecting and pool waits are bounded by ``timeout``, and each
    statement (and, on PostgreSQL, each pause inside a transaction) by ``statement_timeout``,
    ``timeout`` unless given."""
    statements = timeout if statement_timeout is None else statement_timeout
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": timeout})
        event.listen(engine.sync_engine, "do_connect", _sqlite_folder_exists)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(timeout))
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=timeout,
        pool_pre_ping=True,
        connect_args={
            "timeout": timeout,
            "command_timeout": statements,
            "server_settings": postgres_server_settings(statements),
        },
    )
    event.listen(engine.sync_engine, "handle_error", _timeouts_are_disconnects)
    return engine


def _timeouts_are_disconnects(context: Any) -> None:
    """A statement that timed out on the client may still run on the server, and its
    connection is in an unknown state: drop the connection rather than reuse it (which also
    skips a ROLLBACK that would wait as long again)."""
    if isinstance(context.original_exception, TimeoutError | OSError):
        context.is_disconnect = True


def _sqlite_folder_exists(_dialect: Any, _record: Any, cargs: Any, _cparams: Any) -> None:
    """A database file whose folder does not exist cannot be opened: say so before aiosqlite
    starts the connection's thread, whose own report of that failure can arrive after the
    event loop of a one-shot command has closed (and print tracebacks about it)."""
    name = str(cargs[0]) if cargs else ""
    plain = name and name != ":memory:" and not name.startswith("file:")
    if plain and not os.path.isdir(os.path.dirname(os.path.abspath(name))):
        raise sqlite3.OperationalError("unable to open database file")


def _sqlite_pragmas(timeout: float) -> Any:
    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        cursor.close()

    return pragmas


class Database:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        pool_size: int = 5,
        max_overflow: int = 5,
        statement_timeout: float | None = None,
    ) -> None:
        self.url = url
        self.host = host_of(url)
        self.timeout = timeout
        self._failing: str | None = None
        self.engine = create_engine(
            url, timeout, pool_size, max_overflow, statement_timeout=statement_timeout
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """``async with db.session() as session``: reads, no transaction kept open."""
        with self.unavailable_as_error():
            async with self._sessions() as session:
                yield session

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        """``async with db.begin() as session``: one transaction, committed on exit."""
        with self.unavailable_as_error():
            async with self._sessions.begin() as session:
                yield session

    @contextlib.asynccontextmanager
    async def begin_serialized(self) -> AsyncIterator[AsyncSession]:
        """A transaction that reads, then writes what it read decides. On SQLite it takes the
        write lock first (BEGIN IMMEDIATE), so that two of them cannot both read the state
        before the other's write; on PostgreSQL the caller locks its rows (FOR UPDATE)."""
        async with self.begin() as session:
            if is_sqlite(self.url):
                await session.execute(text("BEGIN IMMEDIATE"))
            yield session

    @contextlib.contextmanager
    def unavailable_as_error(self) -> Any:
        """Turns the ways a database fails into ``DatabaseUnavailable``; logs the first of an
        episode of failures and the success that ends it, not every request."""
        try:
            yield
        except DatabaseUnavailable:
            raise
        except Exception as error:
            if not is_unavailable(error):
                raise
            why = reason(error)
            if self._failing is None:
                log.warning("database_unavailable", host=self.host, reason=why)
            self._failing = why
            raise DatabaseUnavailable(self.host, why) from error
        if self._failing is not None:
            log.info("database_recovered", host=self.host, was=self._failing)
            self._failing = None

    async def dispose(self) -> None:
        """Close the pool; bounded, so that a node cut off from its database still stops."""
        try:
            async with asyncio.timeout(self.timeout):
                await self.engine.dispose()
        except TimeoutError:
            log.warning("database_close_timed_out", host=self.host)


__all__ = ["AsyncSession", "Database", "DatabaseUnavailable", "is_sqlite"]
