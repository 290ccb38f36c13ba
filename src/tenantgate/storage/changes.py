"""The ``changes`` table: one row per write that a node's memory mirrors, and the cursors that
read it without ever missing a committed row.

**PostgreSQL.** Ids come from a sequence and are taken when a row is inserted, not when its
transaction commits, so a reader that remembers "the highest id seen" loses a row whose
transaction took an id early and committed late. Each row therefore records the id of the
transaction that wrote it (``xid``, ``pg_current_xact_id()``), and a read remembers the
snapshot it ran in, as ``xmax`` (every transaction id at or above it had not started) and
``xip`` (the transactions still in flight). A transaction that is below ``xmax`` and not in
``xip`` had ended when the snapshot was taken: its rows were visible to that read, or will
never be (it rolled back). So the next read asks only for rows whose ``xid`` is at or above
the last ``xmax`` or among the last ``xip``, in a snapshot of its own, and no commit order,
commit delay or clock can hide a row from it. The rows read in a snapshot belong to committed
transactions, which are never in a later ``xip``: nothing is read twice.

**SQLite.** One writer at a time: a transaction holds the write lock from its first write
to its commit, and a new row's id is the highest id plus one, chosen under that lock. So ids
commit in order and "ids above the last one seen" is exact. Pruning always keeps the newest
row, so the highest id never goes down and an id is never handed out twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tenantgate.storage import models as m

KEEP_CHANGES_SECONDS = 3600.0


def record(session: AsyncSession, entity: str, key: str, now: float) -> None:
    session.add(m.Change(at=now, entity=entity, key=key))


@dataclass(frozen=True, slots=True)
class Read:
    """What one read of the feed found, and the position to move to once it is applied."""

    changes: list[tuple[str, str]]
    position: object


class Cursor(Protocol):
    async def begin(self, session: AsyncSession) -> None:
        """Take the position of a session that is about to load everything."""

    async def read(self, session: AsyncSession) -> Read: ...

    def advance(self, position: object) -> None: ...


class SqliteCursor:
    def __init__(self) -> None:
        self.last_id = 0

    async def begin(self, session: AsyncSession) -> None:
        self.last_id = await session.scalar(select(func.max(m.Change.id))) or 0

    async def read(self, session: AsyncSession) -> Read:
        query = (
            select(m.Change.id, m.Change.entity, m.Change.key)
            .where(m.Change.id > self.last_id)
            .order_by(m.Change.id)
        )
        rows = (await session.execute(query)).all()
        position = rows[-1][0] if rows else self.last_id
        return Read([(entity, key) for _, entity, key in rows], position)

    def advance(self, position: object) -> None:
        assert isinstance(position, int)
        self.last_id = position


_SNAPSHOT = text(
    "SELECT pg_snapshot_xmax(s)::text::bigint, "
    "ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x) "
    "FROM (SELECT pg_current_snapshot() AS s) AS snapshot"
)
_UNSEEN = text("SELECT entity, key FROM changes WHERE xid >= :xmax OR xid = ANY(:xip) ORDER BY id")


class PostgresCursor:
    """Reads in a REPEATABLE READ transaction, whose first statement fixes the snapshot that
    the change rows and the entities they name are then read in."""

    def __init__(self) -> None:
        self.xmax = 0
        self.xip: list[int] = []

    async def _snapshot(self, session: AsyncSession) -> tuple[int, list[int]]:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        row = (await session.execute(_SNAPSHOT)).one()
        return int(row[0]), list(row[1])

    async def begin(self, session: AsyncSession) -> None:
        self.xmax, self.xip = await self._snapshot(session)

    async def read(self, session: AsyncSession) -> Read:
        position = await self._snapshot(session)
        rows = (await session.execute(_UNSEEN, {"xmax": self.xmax, "xip": self.xip})).all()
        return Read([(entity, key) for entity, key in rows], position)

    def advance(self, position: object) -> None:
        assert isinstance(position, tuple)
        self.xmax, self.xip = position


def cursor_for(dialect: str) -> Cursor:
    return PostgresCursor() if dialect == "postgresql" else SqliteCursor()


async def prune(session: AsyncSession, now: float) -> None:
    """Drop change rows older than an hour (every node has long read them) but never the
    newest one, and invalidations of tokens that have expired anyway."""
    newest = select(func.max(m.Change.id)).scalar_subquery()
    await session.execute(
        delete(m.Change).where(m.Change.at < now - KEEP_CHANGES_SECONDS, m.Change.id < newest)
    )
    await session.execute(delete(m.RevokedToken).where(m.RevokedToken.expires_at < now))
