"""The append-only audit trail: rows are added, never changed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantgate.storage import models as m
from tenantgate.storage.database import Database
from tenantgate.storage.keyset import seek


def audit_row(
    kind: str,
    actor: str,
    at: float,
    *,
    tenant_id: str | None = None,
    application_id: str | None = None,
    reason: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    return {
        "at": at,
        "kind": kind,
        "actor": actor,
        "tenant_id": tenant_id,
        "application_id": application_id,
        "reason": reason,
        "detail": detail or None,
    }


async def query_audit(
    session: AsyncSession,
    *,
    tenant_id: str | None = None,
    application_id: str | None = None,
    kind: str | None = None,
    since: float | None = None,
    until: float | None = None,
    before_id: int | None = None,
    before: Sequence[float | int] | None = None,
    limit: int = 100,
) -> list[m.AuditEvent]:
    """Newest first: ``limit`` events older than event ``before_id``, or than the key
    ``before`` (its ``(at, id)``), or the newest."""
    query = select(m.AuditEvent)
    if tenant_id:
        query = query.where(m.AuditEvent.tenant_id == tenant_id)
    if application_id:
        query = query.where(m.AuditEvent.application_id == application_id)
    if kind:
        column = m.AuditEvent.kind
        query = query.where(column.startswith(kind[:-1]) if kind.endswith("*") else column == kind)
    if since is not None:
        query = query.where(m.AuditEvent.at >= since)
    if until is not None:
        query = query.where(m.AuditEvent.at < until)
    if before_id is not None:
        query = query.where(await _older_than(session, before_id))
    key = (m.AuditEvent.at, m.AuditEvent.id)
    query = seek(query, key, before, limit, descending=True)
    return list((await session.scalars(query)).all())


async def _older_than(session: AsyncSession, event_id: int) -> ColumnElement[bool]:
    """Events are ordered by when they happened, then by id: rows queued for a group commit
    (or written by another node) may get their ids after rows of later events."""
    at = await session.scalar(select(m.AuditEvent.at).where(m.AuditEvent.id == event_id))
    if at is None:
        return m.AuditEvent.id < event_id
    event = m.AuditEvent
    return or_(event.at < at, and_(event.at == at, event.id < event_id))


async def export_audit(
    db: Database, *, since: float, until: float | None = None, page: int = 1_000
) -> AsyncIterator[m.AuditEvent]:
    """Every event from ``since`` (up to ``until``), oldest first, read a page at a time in
    sessions of their own, so that an export of millions of rows holds no transaction open
    and only one page in memory."""
    event = m.AuditEvent
    after: tuple[float, int] | None = None
    while True:
        query = select(event).where(event.at >= since)
        if until is not None:
            query = query.where(event.at < until)
        if after is not None:
            query = query.where(
                or_(event.at > after[0], and_(event.at == after[0], event.id > after[1]))
            )
        query = query.order_by(event.at, event.id).limit(page)
        async with db.session() as session:
            rows = list((await session.scalars(query)).all())
        for row in rows:
            yield row
        if len(rows) < page:
            return
        after = (rows[-1].at, rows[-1].id)
