"""Keeping and reading async-context payloads."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import defer

from tenantgate.clock import Clock
from tenantgate.registry.errors import InvalidInput, NotFound
from tenantgate.registry.paging import DEFAULT_LIMIT, Keyset, Page, check_limit, row_id
from tenantgate.registry.views import iso
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row
from tenantgate.storage.database import Database
from tenantgate.storage.keyset import seek

CONTEXT_ID = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")
KINDS = ("upload", "error")
PAYLOADS = Keyset("payloads", (row_id,))


@dataclass(frozen=True)
class PayloadView:
    id: int
    tenant_id: str
    application_id: str
    context_id: str
    kind: str
    content_type: str
    size: int
    created_at: str | None


def _view(row: m.AsyncContextPayload) -> PayloadView:
    return PayloadView(
        row.id,
        row.tenant_id,
        row.application_id,
        row.context_id,
        row.kind,
        row.content_type,
        row.size,
        iso(row.created_at),
    )


def context_id(value: str) -> str:
    if not CONTEXT_ID.fullmatch(value):
        raise InvalidInput("the context id must be 1 to 128 URL-safe characters")
    return value


class PayloadStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def add(
        self,
        tenant_id: str,
        application_id: str,
        client_id: str,
        context: str,
        kind: str,
        content_type: str,
        body: bytes,
    ) -> PayloadView:
        now = self._clock()
        row = m.AsyncContextPayload(
            tenant_id=tenant_id,
            application_id=application_id,
            context_id=context_id(context),
            kind=kind,
            content_type=content_type[:200],
            body=body,
            size=len(body),
            created_at=now,
        )
        async with self._db.begin() as session:
            session.add(row)
            session.add(
                m.AuditEvent(
                    **audit_row(
                        f"async_context.{kind}",
                        f"client:{client_id}",
                        now,
                        tenant_id=tenant_id,
                        application_id=application_id,
                        context_id=context,
                        size=len(body),
                    )
                )
            )
        return _view(row)

    async def list(
        self,
        tenant_id: str,
        context: str | None = None,
        *,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[PayloadView]:
        """Newest first, one page, without the bodies (read one with :meth:`get`)."""
        after, limit = PAYLOADS.decode(cursor), check_limit(limit)
        payload = m.AsyncContextPayload
        query = select(payload).options(defer(payload.body)).where(payload.tenant_id == tenant_id)
        if context is not None:
            query = query.where(payload.context_id == context)
        query = seek(query, (payload.id,), after, limit + 1, descending=True)
        async with self._db.session() as session:
            rows = list((await session.scalars(query)).all())
        return PAYLOADS.page(rows, limit, lambda r: (r.id,)).map(_view)

    async def get(self, tenant_id: str, payload_id: int) -> tuple[PayloadView, bytes]:
        async with self._db.session() as session:
            row = await session.get(m.AsyncContextPayload, payload_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound("no such payload for this tenant")
        return _view(row), row.body
