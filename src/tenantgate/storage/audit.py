"""The append-only audit trail: rows are added, never changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantgate.storage import models as m


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
    limit: int = 100,
) -> list[m.AuditEvent]:
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
        query = query.where(m.AuditEvent.id < before_id)
    query = query.order_by(m.AuditEvent.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())
