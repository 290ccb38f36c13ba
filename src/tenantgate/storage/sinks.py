"""Where the group-commit writer puts a batch: one transaction of a few executemany
statements, on a connection of its own.

The writer skips SQLAlchemy here on purpose: through the async engine every statement is a
thread hop (aiosqlite) or a greenlet switch, which cost more than the writes themselves on the
token endpoint's path. SQLite gets a stdlib connection on one dedicated thread, so a batch is
a single hop and the fsync runs without the GIL; PostgreSQL gets one asyncpg connection."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from sqlalchemy.engine import make_url

AUDIT = (
    "INSERT INTO audit_events (at, kind, actor, tenant_id, application_id, reason, detail) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
TOUCH = {
    "application": "UPDATE applications SET last_token_at = ? WHERE application_id = ?",
    "secret": "UPDATE client_secrets SET last_used_at = ? WHERE secret_id = ?",
    "api_user": "UPDATE api_users SET last_token_at = ? WHERE tenant_id = ? AND application_id = ?",
}
REVOKE = (
    "INSERT INTO revoked_tokens (jti, expires_at, revoked_at) VALUES (?, ?, ?) "
    "ON CONFLICT (jti) DO NOTHING"
)
CHANGE = "INSERT INTO changes (at, entity, key) VALUES (?, ?, ?)"

Statements = list[tuple[str, list[tuple[Any, ...]]]]


def statements(
    audit: list[dict[str, Any]],
    touches: dict[tuple[str, str], float],
    revocations: dict[str, float],
) -> Statements:
    """A batch as (SQL, rows) pairs, in qmark style."""
    result: Statements = []
    if audit:
        result.append((AUDIT, [_audit_params(row) for row in audit]))
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for (table, key), at in touches.items():
        grouped.setdefault(table, []).append((at, *key.split("/", 1)))
    result += [(TOUCH[table], rows) for table, rows in grouped.items()]
    if revocations:
        now = audit[0]["at"] if audit else max(revocations.values())
        result.append((REVOKE, [(jti, exp, now) for jti, exp in revocations.items()]))
        result.append((CHANGE, [(now, "token", jti) for jti in revocations]))
    return result


def _audit_params(row: dict[str, Any]) -> tuple[Any, ...]:
    detail = json.dumps(row["detail"]) if row["detail"] is not None else None
    return (
        row["at"],
        row["kind"],
        row["actor"],
        row["tenant_id"],
        row["application_id"],
        row["reason"],
        detail,
    )


class Sink(Protocol):
    parallel: int

    async def write(self, batch: Statements) -> None: ...

    async def close(self) -> None: ...


class SqliteSink:
    parallel = 1

    def __init__(self, path: str) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="tenantgate-sqlite-writer")
        self._connection: sqlite3.Connection | None = None

    async def write(self, batch: Statements) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, batch)

    def _write(self, batch: Statements) -> None:
        connection = self._connection or self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in batch:
                connection.executemany(sql, rows)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000"):
            connection.execute(f"PRAGMA {pragma}")
        self._connection = connection
        return connection

    async def close(self) -> None:
        def close() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        await asyncio.get_running_loop().run_in_executor(self._thread, close)
        self._thread.shutdown(wait=True)


class PostgresSink:
    parallel = 4

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._pool: Any = None

    async def write(self, batch: Statements) -> None:
        import asyncpg

        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=1, max_size=self.parallel, statement_cache_size=16
            )
        async with self._pool.acquire() as connection, connection.transaction():
            for sql, rows in batch:
                await connection.executemany(_numbered(sql), rows)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        self._pool = None


def _numbered(sql: str) -> str:
    count = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


def sink_for(url: str) -> Sink:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SqliteSink(parsed.database or "")
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresSink(dsn)
