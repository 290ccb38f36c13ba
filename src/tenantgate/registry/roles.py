"""A tenant's roles: written, read and deleted by the admin API (``registry.grants`` says what
a role may hold). Each write is one of the registry's units of work, so it is audited, sent
through the change feed as a ``role`` change and applied to this node before it returns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantgate.registry import grants as g
from tenantgate.registry import rules
from tenantgate.registry.errors import Conflict, InvalidInput, NotFound
from tenantgate.registry.paging import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Keyset,
    Page,
    check_limit,
    matching,
)
from tenantgate.registry.views import RoleView
from tenantgate.storage import models as m
from tenantgate.storage.database import Database
from tenantgate.storage.keyset import every, seek

ROLES = Keyset("roles", (matching(g.ROLE_NAME),))
MAX_DESCRIPTION = 500


class Work(Protocol):
    session: AsyncSession
    now: float

    def audit(self, kind: str, **fields: Any) -> None: ...

    def changed(self, entity: str, key: str) -> None: ...


Write = Callable[..., AbstractAsyncContextManager[Work]]
"""``Registry._write``: ``write(actor, serialized=True)`` opens one unit of work."""


class Roles:
    def __init__(self, db: Database, write: Write) -> None:
        self._db = db
        self._write = write

    async def put(
        self,
        tenant_id: str,
        name: str,
        actor: str,
        *,
        grants: Sequence[Mapping[str, object]],
        description: str = "",
    ) -> tuple[RoleView, bool]:
        """Create or replace the role; ``True`` if it is new. Every app a grant names must be
        one of the tenant's apps."""
        name, checked = g.role_name(name), g.grants(grants)
        description = _description(description)
        async with self._write(actor, serialized=True) as work:
            session, now = work.session, work.now
            await _tenant(session, tenant_id, lock=True)
            await _known_apps(session, tenant_id, checked)
            row = await session.get(m.TenantRole, (tenant_id, name))
            created = row is None
            if row is None:
                row = m.TenantRole(tenant_id=tenant_id, name=name, created_at=now)
                session.add(row)
            row.description, row.updated_at = description, now
            row.grants = [grant.as_json() for grant in checked]
            kind = "role.created" if created else "role.updated"
            work.audit(kind, tenant_id=tenant_id, role=name, grants=row.grants)
            work.changed("role", f"{tenant_id}/{name}")
        return RoleView.of(row), created

    async def get(self, tenant_id: str, name: str) -> RoleView:
        async with self._db.session() as session:
            return RoleView.of(await _role(session, tenant_id, name))

    async def list(
        self, tenant_id: str, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[RoleView]:
        """By name; one page."""
        after, limit = ROLES.decode(cursor), check_limit(limit)
        role = m.TenantRole
        query = seek(
            select(role).where(role.tenant_id == tenant_id), (role.name,), after, limit + 1
        )
        async with self._db.session() as session:
            await _tenant(session, tenant_id)
            rows = list((await session.scalars(query)).all())
        return ROLES.page(rows, limit, lambda r: (r.name,)).map(RoleView.of)

    async def every(self) -> AsyncIterator[RoleView]:
        """Every role of every tenant, by tenant and name."""
        role = m.TenantRole
        async for row in every(self._db, select(role), (role.tenant_id, role.name), MAX_LIMIT):
            yield RoleView.of(row)

    async def delete(self, tenant_id: str, name: str, actor: str) -> None:
        """Refused (409) while an API user of the tenant, enabled or not, holds the role. The
        check runs under the tenant's lock, which every write of its API users takes too."""
        async with self._write(actor, serialized=True) as work:
            session = work.session
            await _tenant(session, tenant_id, lock=True)
            row = await _role(session, tenant_id, name)
            holder = await _holder(session, tenant_id, name)
            if holder is not None:
                raise Conflict(f"the API user of application {holder} holds this role")
            await session.delete(row)
            work.audit("role.deleted", tenant_id=tenant_id, role=name)
            work.changed("role", f"{tenant_id}/{name}")

    async def check_exist(
        self, session: AsyncSession, tenant_id: str, names: Sequence[str]
    ) -> None:
        """Each of ``names`` is a role of the tenant (400 otherwise); inside a write that holds
        the tenant's lock, so that no role goes away before it commits."""
        if not names:
            return
        query = select(m.TenantRole.name).where(
            m.TenantRole.tenant_id == tenant_id, m.TenantRole.name.in_(names)
        )
        found = set((await session.scalars(query)).all())
        missing = [name for name in names if name not in found]
        if missing:
            raise InvalidInput(f"roles: this tenant has no role {missing[0]!r}")


def _description(value: str) -> str:
    if not value.strip():
        return ""
    return rules.display_name(value, "description", MAX_DESCRIPTION)


async def _tenant(session: AsyncSession, tenant_id: str, *, lock: bool = False) -> m.Tenant:
    row = None
    if rules.TENANT_ID.fullmatch(tenant_id):
        row = await session.get(m.Tenant, tenant_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"no tenant {tenant_id}")
    return row


async def _role(session: AsyncSession, tenant_id: str, name: str) -> m.TenantRole:
    row = None
    if rules.TENANT_ID.fullmatch(tenant_id) and g.ROLE_NAME.fullmatch(name):
        row = await session.get(m.TenantRole, (tenant_id, name))
    if row is None:
        await _tenant(session, tenant_id)
        raise NotFound("this tenant has no such role")
    return row


async def _holder(session: AsyncSession, tenant_id: str, name: str) -> str | None:
    """The application id of an API user that holds the role, if any. Roles are a JSON list
    on each API user, read and searched here: deleting a role is rare, and a tenant has its
    API users by the hundred, not the million."""
    user = m.ApiUser
    query = (
        select(user.application_id, user.roles)
        .where(user.tenant_id == tenant_id, user.deleted_at.is_(None))
        .order_by(user.application_id)
    )
    for application_id, roles in await session.execute(query):
        if roles and name in roles:
            return str(application_id)
    return None


async def _known_apps(session: AsyncSession, tenant_id: str, checked: Sequence[g.Grant]) -> None:
    query = select(m.TenantApp.name).where(m.TenantApp.tenant_id == tenant_id)
    apps = set((await session.scalars(query)).all())
    for index, grant in enumerate(checked):
        if grant.app not in apps:
            raise InvalidInput(f"grants[{index}].app: this tenant has no app {grant.app!r}")
