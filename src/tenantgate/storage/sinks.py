"""Where the group-commit writer puts a batch, on a connection of its own.

The writer skips SQLAlchemy here on purpose: through the async engine every statement is a
thread hop (aiosqlite) or a greenlet switch, which cost more than the writes themselves on the
token endpoint's path. A batch of token issuances is a single multi-row ``INSERT`` of audit
rows, which both databases commit as its own transaction: on SQLite one ``sqlite3_step`` on a
dedicated thread (the writer takes the GIL back once, after the fsync, instead of once per
row), on PostgreSQL one statement over ``unnest`` of column arrays (one round trip). Batches
that also revoke tokens or mark records as used are one explicit transaction."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import orjson
from sqlalchemy.engine import make_url

from tenantgate.storage.database import postgres_server_settings

AUDIT_COLUMNS = "at, kind, actor, tenant_id, application_id, reason, detail"
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
COUNTED = f"INSERT INTO audit_events ({AUDIT_COLUMNS}, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Writes:
    """One batch as rows: audit events to insert, then (rarely) the other statements, each
    an SQL text in qmark style with its rows."""

    audit: list[Row]
    others: list[tuple[str, list[Row]]]


def writes(
    audit: list[dict[str, Any]],
    touches: dict[tuple[str, str], float],
    revocations: dict[str, float],
    counted: list[tuple[dict[str, Any], int]] | None = None,
    usage: list[tuple[str, list[Row]]] | None = None,
) -> Writes:
    others: list[tuple[str, list[Row]]] = list(usage or ())
    if counted:
        others.append((COUNTED, [(*_audit_params(row), count) for row, count in counted]))
    grouped: dict[str, list[Row]] = {}
    for (table, key), at in touches.items():
        grouped.setdefault(table, []).append((at, *key.split("/", 1)))
    others += [(TOUCH[table], rows) for table, rows in grouped.items()]
    if revocations:
        now = audit[0]["at"] if audit else max(revocations.values())
        others.append((REVOKE, [(jti, exp, now) for jti, exp in revocations.items()]))
        others.append((CHANGE, [(now, "token", jti) for jti in revocations]))
    return Writes([_audit_params(row) for row in audit], others)


def _audit_params(row: dict[str, Any]) -> Row:
    detail = orjson.dumps(row["detail"]).decode() if row["detail"] is not None else None
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

    async def write(self, batch: Writes) -> None: ...

    async def close(self) -> None: ...


class SqliteSink:
    """One connection on one thread: batches commit one after another, in order. Two may be
    handed over at once, so that the thread starts on the next batch as soon as one is
    committed instead of waiting for the event loop to notice and hand it over."""

    parallel = 2

    def __init__(self, path: str, timeout: float = 5.0) -> None:
        self._path = path
        self._busy_ms = int(timeout * 1000)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="tenantgate-sqlite-writer")
        self._connection: sqlite3.Connection | None = None
        self._rows_per_insert = 1

    async def write(self, batch: Writes) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, batch)

    def _write(self, batch: Writes) -> None:
        connection = self._connection or self._connect()
        chunks = [
            batch.audit[i : i + self._rows_per_insert]
            for i in range(0, len(batch.audit), self._rows_per_insert)
        ]
        if len(chunks) == 1 and not batch.others:
            connection.execute(_sqlite_insert(len(chunks[0])), _flat(chunks[0]))
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            for chunk in chunks:
                connection.execute(_sqlite_insert(len(chunk)), _flat(chunk))
            for sql, rows in batch.others:
                connection.executemany(sql, rows)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path, isolation_level=None, timeout=self._busy_ms / 1000, cached_statements=256
        )
        for pragma in ("journal_mode=WAL", "synchronous=FULL", f"busy_timeout={self._busy_ms}"):
            connection.execute(f"PRAGMA {pragma}")
        variables = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self._rows_per_insert = max(1, min(1000, variables // AUDIT_WIDTH))
        self._connection = connection
        return connection

    async def close(self) -> None:
        def close() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        await asyncio.get_running_loop().run_in_executor(self._thread, close)
        self._thread.shutdown(wait=True)


AUDIT_WIDTH = 7


@lru_cache(maxsize=256)
def _sqlite_insert(rows: int) -> str:
    values = ",".join(["(?,?,?,?,?,?,?)"] * rows)
    return f"INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES {values}"


def _flat(rows: list[Row]) -> list[Any]:
    return list(itertools.chain.from_iterable(rows))


class PostgresSink:
    """A small asyncpg pool (``parallel`` connections, one batch each), every call bounded
    by ``timeout`` on the client and on the server."""

    def __init__(self, dsn: str, timeout: float = 5.0, parallel: int = 4) -> None:
        self._dsn = dsn
        self._timeout = timeout
        self.parallel = parallel
        self._pool: Any = None

    async def write(self, batch: Writes) -> None:
        import asyncpg

        if self._pool is None:
            # No connection floor: with one, a connection the server closes makes asyncpg
            # start a reconnecting task of its own that can outlive the pool's event loop.
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=0,
                max_size=self.parallel,
                statement_cache_size=16,
                timeout=self._timeout,
                command_timeout=self._timeout,
                server_settings=postgres_server_settings(self._timeout),
            )
        columns = [list(column) for column in zip(*batch.audit, strict=True)]
        async with self._pool.acquire(timeout=self._timeout) as connection:
            # Audit rows alone are one statement, committed as its own transaction.
            scope = connection.transaction() if batch.others else contextlib.nullcontext()
            async with scope:
                if columns:
                    await connection.execute(PG_AUDIT, *columns)
                for sql, rows in batch.others:
                    await connection.executemany(_numbered(sql), rows)

    async def close(self) -> None:
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), self._timeout)
            except TimeoutError:
                self._pool.terminate()
        self._pool = None


PG_AUDIT = (
    f"INSERT INTO audit_events ({AUDIT_COLUMNS}) "
    "SELECT at, kind, actor, tenant_id, application_id, reason, detail::json FROM unnest("
    "$1::float8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]"
    ") AS rows (at, kind, actor, tenant_id, application_id, reason, detail)"
)


def _numbered(sql: str) -> str:
    count = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


def sink_for(url: str, timeout: float = 5.0, pool_size: int = 4) -> Sink:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SqliteSink(parsed.database or "", timeout)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresSink(dsn, timeout, pool_size)
