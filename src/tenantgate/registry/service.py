"""The registry's operations: what the admin API, the console and the CLI call.

Each write is one transaction that also appends its audit row and its change-feed row; once it
is committed the change is applied to this node's in-memory state before the call returns, so
the token endpoint and the gateway obey it from the next request on."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantgate.clock import Clock, Randomness
from tenantgate.crypto import SecretHasher
from tenantgate.registry import rates, rules
from tenantgate.registry.errors import Conflict, InvalidInput, NotFound
from tenantgate.registry.feed import ChangeFeed
from tenantgate.registry.grants import role_names
from tenantgate.registry.limits import QueryLimits, query_limits
from tenantgate.registry.ownership import owner_account
from tenantgate.registry.paging import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Keyset,
    Page,
    check_limit,
    matching,
    moment,
    row_id,
)
from tenantgate.registry.roles import Roles
from tenantgate.registry.views import (
    ApiUserView,
    ApplicationView,
    AuditView,
    NewSecret,
    TenantView,
    iso,
)
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row, query_audit
from tenantgate.storage.changes import record
from tenantgate.storage.database import Database
from tenantgate.storage.keyset import every, seek

SECRET_PREFIX = "tgs_"
MAX_ACTIVE_SECRETS = 2
APPLICATIONS = Keyset("applications", (moment, matching(rules.APPLICATION_ID)))
TENANTS = Keyset("tenants", (moment, matching(rules.TENANT_ID)))
API_USERS = Keyset("api_users", (moment, matching(rules.APPLICATION_ID)))
ACCEPTANCES = Keyset("acceptances", (moment, matching(rules.TENANT_ID)))
AUDIT = Keyset("audit", (moment, row_id))


class Unchanged(enum.Enum):
    KEEP = "keep"


KEEP = Unchanged.KEEP
"""For a field of a write: leave it as it is (a record made by the write starts without it)."""


class Registry:
    def __init__(
        self,
        db: Database,
        feed: ChangeFeed,
        hasher: SecretHasher,
        *,
        clock: Clock,
        randomness: Randomness,
        api_user_domain: str,
        secret_lifetime_days: int | None = None,
    ) -> None:
        self._db = db
        self._feed = feed
        self._hasher = hasher
        self._clock = clock
        self._random = randomness
        self.api_user_domain = api_user_domain
        self.roles = Roles(db, self._write)
        self.secret_lifetime_days = secret_lifetime_days

    # applications

    async def create_application(
        self,
        name: str,
        actor: str,
        owner: str | None = None,
        *,
        owner_account_id: int | None = None,
        secret_expires_in_days: int | None = None,
    ) -> tuple[ApplicationView, NewSecret]:
        """``owner`` is a contact label that grants nothing; ``owner_account_id`` names the
        developer account that owns the application (``registry.ownership``). The first
        secret lives ``secret_expires_in_days``, else the default lifetime, else forever."""
        name = rules.display_name(name)
        days = rules.secret_days(secret_expires_in_days, "secret_expires_in_days")
        if owner is not None:
            owner = rules.display_name(owner, "owner", 320)
        async with self._write(actor) as work:
            session, now = work.session, work.now
            if owner_account_id is not None:
                await owner_account(session, owner_account_id)
            application_id = await self._unused_application_id(session)
            row = m.Application(
                application_id=application_id,
                client_id=self._random.alnum(24),
                name=name,
                status="active",
                owner=owner,
                owner_account_id=owner_account_id,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            work.audit(
                "application.created",
                application_id=application_id,
                name=name,
                owner_account_id=owner_account_id,
            )
            secret, plain = self._add_secret(work, application_id, days)
            work.changed("application", application_id)
        view = ApplicationView.of(row, [secret])
        return view, NewSecret.of(secret, plain)

    async def get_application(self, application_id: str) -> ApplicationView:
        async with self._db.session() as session:
            row = await self._application(session, application_id)
            return ApplicationView.of(row, await self._secrets(session, application_id))

    async def list_applications(
        self,
        owner: str | None = None,
        *,
        owner_account_id: int | None = None,
        expiring_within_days: float | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[ApplicationView]:
        """Oldest first; one page, with the secrets of that page's applications only. ``owner``
        filters by the contact label, ``owner_account_id`` by the owning account,
        ``expiring_within_days`` to those with an unretired secret that expires within that
        many days from now or has expired already."""
        after, limit = APPLICATIONS.decode(cursor), check_limit(limit)
        app = m.Application
        query = select(app)
        if owner is not None:
            query = query.where(app.owner == owner)
        if owner_account_id is not None:
            query = query.where(app.owner_account_id == owner_account_id)
        if expiring_within_days is not None:
            until = self._clock() + expiring_within_days * rules.DAY
            query = query.where(app.application_id.in_(_expiring_by(until)))
        query = seek(query, (app.created_at, app.application_id), after, limit + 1)
        async with self._db.session() as session:
            rows = list((await session.scalars(query)).all())
            page = APPLICATIONS.page(rows, limit, lambda r: (r.created_at, r.application_id))
            secrets = await self._secrets_of(session, [r.application_id for r in page.items])
        return page.map(lambda r: ApplicationView.of(r, secrets.get(r.application_id, [])))

    async def count_applications(self) -> int:
        async with self._db.session() as session:
            return await session.scalar(select(func.count()).select_from(m.Application)) or 0

    async def application_names(self, application_ids: list[str]) -> dict[str, str]:
        query = select(m.Application.application_id, m.Application.name).where(
            m.Application.application_id.in_(application_ids)
        )
        async with self._db.session() as session:
            return {i: name for i, name in await session.execute(query)}

    async def set_application_status(
        self, application_id: str, status: str, actor: str
    ) -> ApplicationView:
        status = rules.status(status)
        async with self._write(actor) as work:
            row = await self._application(work.session, application_id)
            if row.status != status:
                row.status = status
                row.updated_at = work.now
                kind = "application.suspended" if status == "suspended" else "application.activated"
                work.audit(kind, application_id=application_id)
                work.changed("application", application_id)
                if status == "suspended":
                    await _end_tokens(work, m.ApiUser.application_id == application_id)
        return await self.get_application(application_id)

    async def add_secret(
        self, application_id: str, actor: str, *, expires_in_days: int | None = None
    ) -> NewSecret:
        """Rotation's first step. An expired secret is not active: it does not count toward
        the two, so an application whose secret expired can always get a new one."""
        days = rules.secret_days(expires_in_days)
        async with self._write(actor, serialized=True) as work:
            session = work.session
            await self._application(session, application_id, lock=True)
            secrets = await self._secrets(session, application_id)
            if len([s for s in secrets if _active(s, work.now)]) >= MAX_ACTIVE_SECRETS:
                raise Conflict("an application has at most two active secrets; retire one first")
            secret, plain = self._add_secret(work, application_id, days)
            work.changed("application", application_id)
        return NewSecret.of(secret, plain)

    async def replace_secrets(self, application_id: str, actor: str) -> NewSecret:
        """Retire every active secret and issue one new one, in one transaction."""
        async with self._write(actor, serialized=True) as work:
            session = work.session
            await self._application(session, application_id, lock=True)
            for old in await self._secrets(session, application_id):
                if old.retired_at is None:
                    _retire(work, old)
            secret, plain = self._add_secret(work, application_id, None)
            work.changed("application", application_id)
        return NewSecret.of(secret, plain)

    async def retire_secret(self, application_id: str, secret_id: str, actor: str) -> None:
        async with self._write(actor) as work:
            secret = None
            if rules.SECRET_ID.fullmatch(secret_id):
                secret = await work.session.get(m.ClientSecret, secret_id)
            if secret is None or secret.application_id != application_id:
                raise NotFound("no such secret for this application")
            if secret.retired_at is None:
                _retire(work, secret)
                work.changed("application", application_id)

    # tenants and their apps

    async def create_tenant(self, name: str, region: str, cluster: str, actor: str) -> TenantView:
        name = rules.display_name(name)
        region, cluster = rules.slug(region, "region"), rules.slug(cluster, "cluster")
        async with self._write(actor) as work:
            session, now = work.session, work.now
            tenant_id = await self._unused_tenant_id(session)
            row = m.Tenant(
                tenant_id=tenant_id,
                name=name,
                region=region,
                cluster=cluster,
                status="active",
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            work.audit(
                "tenant.created", tenant_id=tenant_id, name=name, region=region, cluster=cluster
            )
            work.changed("tenant", tenant_id)
        return TenantView.of(row, [])

    async def get_tenant(self, tenant_id: str) -> TenantView:
        async with self._db.session() as session:
            row = await self._tenant(session, tenant_id)
            return TenantView.of(row, await self._apps(session, tenant_id))

    async def list_tenants(
        self,
        tenant_ids: list[str] | None = None,
        *,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[TenantView]:
        """Oldest first; one page, with the apps of that page's tenants only."""
        after, limit = TENANTS.decode(cursor), check_limit(limit)
        tenant = m.Tenant
        query = select(tenant)
        if tenant_ids is not None:
            query = query.where(tenant.tenant_id.in_(tenant_ids))
        query = seek(query, (tenant.created_at, tenant.tenant_id), after, limit + 1)
        async with self._db.session() as session:
            rows = list((await session.scalars(query)).all())
            page = TENANTS.page(rows, limit, lambda r: (r.created_at, r.tenant_id))
            apps = await self._apps_of(session, [r.tenant_id for r in page.items])
        return page.map(lambda r: TenantView.of(r, apps.get(r.tenant_id, [])))

    async def count_tenants(self) -> int:
        async with self._db.session() as session:
            return await session.scalar(select(func.count()).select_from(m.Tenant)) or 0

    async def update_tenant(
        self,
        tenant_id: str,
        actor: str,
        *,
        name: str | None = None,
        region: str | None = None,
        cluster: str | None = None,
        status: str | None = None,
    ) -> TenantView:
        async with self._write(actor) as work:
            row = await self._tenant(work.session, tenant_id)
            changes: dict[str, str] = {}
            if name is not None:
                changes["name"] = rules.display_name(name)
            if region is not None:
                changes["region"] = rules.slug(region, "region")
            if cluster is not None:
                changes["cluster"] = rules.slug(cluster, "cluster")
            if status is not None:
                changes["status"] = rules.status(status)
            suspended = changes.get("status") == "suspended" and row.status != "suspended"
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = work.now
            work.audit("tenant.updated", tenant_id=tenant_id, **changes)
            work.changed("tenant", tenant_id)
            if suspended:
                await _end_tokens(work, m.ApiUser.tenant_id == tenant_id)
        return await self.get_tenant(tenant_id)

    async def put_app(
        self,
        tenant_id: str,
        name: str,
        graphql_url: str,
        websocket_url: str | None,
        actor: str,
        *,
        limits: QueryLimits | dict[str, Any] | Unchanged | None = KEEP,
    ) -> bool:
        """``limits``: the app's own query limits (``None``: the operator's defaults); left
        out, an app keeps the ones it has."""
        name = rules.app_name(name)
        graphql_url = rules.upstream_url(graphql_url, ("http", "https"), "graphql_url")
        if websocket_url is not None:
            websocket_url = rules.upstream_url(websocket_url, ("ws", "wss"), "websocket_url")
        if isinstance(limits, dict):
            limits = query_limits(limits)
        async with self._write(actor, serialized=True) as work:
            session, now = work.session, work.now
            await self._tenant(session, tenant_id, lock=True)
            row = await session.get(m.TenantApp, (tenant_id, name))
            created = row is None
            if row is None:
                row = m.TenantApp(tenant_id=tenant_id, name=name, created_at=now)
                session.add(row)
            row.graphql_url, row.websocket_url, row.updated_at = graphql_url, websocket_url, now
            if limits is not KEEP:
                row.limits = limits.as_json() if limits is not None else None
            work.audit(
                "app.put",
                tenant_id=tenant_id,
                app=name,
                graphql_url=graphql_url,
                limits=row.limits,
            )
            work.changed("tenant", tenant_id)
        return created

    async def delete_app(self, tenant_id: str, name: str, actor: str) -> None:
        async with self._write(actor, serialized=True) as work:
            session = work.session
            row = None
            if rules.APP_NAME.fullmatch(name):
                await self._tenant(session, tenant_id, lock=True)
                row = await session.get(m.TenantApp, (tenant_id, name))
            if row is None:
                raise NotFound("no such app on this tenant")
            await session.delete(row)
            work.audit("app.deleted", tenant_id=tenant_id, app=name)
            work.changed("tenant", tenant_id)

    # API users: a tenant accepting an application

    async def put_api_user(
        self,
        tenant_id: str,
        application_id: str,
        actor: str,
        *,
        first_name: str,
        last_name: str,
        enabled: bool = True,
        apps: list[str] | None = None,
        roles: list[str] | Unchanged | None = KEEP,
        rate_limit: Mapping[str, int] | Unchanged | None = KEEP,
        daily_quota: int | Unchanged | None = KEEP,
    ) -> tuple[ApiUserView, bool]:
        """``roles``: the tenant's roles it holds (each must exist); ``None``: none, it may do
        whatever ``apps`` allow. ``rate_limit`` (``requests_per_minute``, ``burst``) and
        ``daily_quota``: ``None`` for the operator's defaults. Each left out, an API user keeps
        what it has."""
        first_name = rules.display_name(first_name, "first_name", 100)
        last_name = rules.display_name(last_name, "last_name", 100)
        apps = rules.app_names(apps)
        if roles is not KEEP:
            roles = role_names(roles)
            held = roles or []
        if rate_limit is not KEEP:
            rate_limit = rates.rate_limit(rate_limit)
        if daily_quota is not KEEP:
            daily_quota = rates.daily_quota(daily_quota)
        async with self._write(actor, serialized=True) as work:
            session, now = work.session, work.now
            await self._tenant(session, tenant_id, lock=True)
            await self._application(session, application_id)
            if roles is not KEEP:
                await self.roles.check_exist(session, tenant_id, held)
            row = await session.get(m.ApiUser, (tenant_id, application_id))
            created = row is None or row.deleted_at is not None
            was_enabled = row is not None and row.enabled and not created
            if row is None:
                row = m.ApiUser(
                    tenant_id=tenant_id, application_id=application_id, generation=1, created_at=now
                )
                session.add(row)
            elif row.deleted_at is not None:
                row.deleted_at, row.created_at, row.last_token_at = None, now, None
                row.generation += 1
            elif row.enabled and not enabled:
                row.generation += 1
            row.email = rules.api_user_email(application_id, self.api_user_domain)
            row.first_name, row.last_name, row.enabled, row.apps = (
                first_name,
                last_name,
                enabled,
                apps,
            )
            _set(row, "roles", roles, created)
            _set(row, "rate_limit", rate_limit, created)
            _set(row, "daily_quota", daily_quota, created)
            row.updated_at = now
            work.audit(
                _api_user_event(created, was_enabled, enabled),
                tenant_id=tenant_id,
                application_id=application_id,
                enabled=enabled,
                apps=apps,
                roles=row.roles,
                rate_limit=row.rate_limit,
                daily_quota=row.daily_quota,
            )
            work.changed("api_user", f"{tenant_id}/{application_id}")
        return ApiUserView.of(row), created

    async def set_api_user_enabled(
        self, tenant_id: str, application_id: str, enabled: bool, actor: str
    ) -> ApiUserView:
        """One serialised write: the row is read and changed under the tenant's lock, so that
        a concurrent update of its names or apps is neither lost nor undone."""
        async with self._write(actor, serialized=True) as work:
            await self._tenant(work.session, tenant_id, lock=True)
            row = await self._api_user(work.session, tenant_id, application_id)
            if row.enabled != enabled:
                if not enabled:
                    row.generation += 1
                row.enabled, row.updated_at = enabled, work.now
                work.audit(
                    _api_user_event(False, not enabled, enabled),
                    tenant_id=tenant_id,
                    application_id=application_id,
                    enabled=enabled,
                    apps=row.apps,
                )
                work.changed("api_user", f"{tenant_id}/{application_id}")
        return ApiUserView.of(row)

    async def get_api_user(self, tenant_id: str, application_id: str) -> ApiUserView:
        async with self._db.session() as session:
            return ApiUserView.of(await self._api_user(session, tenant_id, application_id))

    async def list_api_users(
        self,
        tenant_id: str | None = None,
        application_id: str | None = None,
        *,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[ApiUserView]:
        """The API users of a tenant, or the acceptances of an application, oldest first.
        An API user deleted and created again counts as new: it moves to the end."""
        user = m.ApiUser
        if tenant_id is not None:
            keyset, key = API_USERS, (user.created_at, user.application_id)
        elif application_id is not None:
            keyset, key = ACCEPTANCES, (user.created_at, user.tenant_id)
        else:
            raise InvalidInput("name a tenant or an application")
        after, limit = keyset.decode(cursor), check_limit(limit)
        query = select(user).where(user.deleted_at.is_(None))
        if tenant_id is not None:
            query = query.where(user.tenant_id == tenant_id)
        if application_id is not None:
            query = query.where(user.application_id == application_id)
        async with self._db.session() as session:
            rows = list((await session.scalars(seek(query, key, after, limit + 1))).all())
        names = [column.key for column in key]
        page = keyset.page(rows, limit, lambda r: [getattr(r, name) for name in names])
        return page.map(ApiUserView.of)

    async def every_api_user(self) -> AsyncIterator[ApiUserView]:
        """Every live API user of every tenant, by tenant and application."""
        user = m.ApiUser
        query = select(user).where(user.deleted_at.is_(None))
        key = (user.tenant_id, user.application_id)
        async for row in every(self._db, query, key, MAX_LIMIT):
            yield ApiUserView.of(row)

    async def delete_api_user(self, tenant_id: str, application_id: str, actor: str) -> None:
        async with self._write(actor, serialized=True) as work:
            session, now = work.session, work.now
            await self._tenant(session, tenant_id, lock=True)
            row = await self._api_user(session, tenant_id, application_id)
            row.deleted_at, row.enabled, row.updated_at = now, False, now
            row.generation += 1
            work.audit("api_user.deleted", tenant_id=tenant_id, application_id=application_id)
            work.changed("api_user", f"{tenant_id}/{application_id}")

    # audit

    async def audit(
        self, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT, **filters: object
    ) -> Page[AuditView]:
        """Newest first by event time, then id (``storage.audit.query_audit``)."""
        before, limit = AUDIT.decode(cursor), check_limit(limit)
        if before is not None and filters.get("before_id") is not None:
            raise InvalidInput("give either cursor or before_id, not both")
        async with self._db.session() as session:
            rows = await query_audit(session, before=before, limit=limit + 1, **filters)  # type: ignore[arg-type]
        return AUDIT.page(rows, limit, lambda r: (r.at, r.id)).map(AuditView.of)

    # helpers

    @contextlib.asynccontextmanager
    async def _write(self, actor: str, *, serialized: bool = False) -> AsyncIterator[_Work]:
        """One unit of work: a transaction (serialised where what it writes depends on what
        it read), its audit rows and change rows; once committed, the changes are applied to
        this node's memory before the caller answers."""
        begin = self._db.begin_serialized if serialized else self._db.begin
        async with begin() as session:
            work = _Work(session, self._clock(), actor)
            yield work
        if work.changes:
            await self._feed.apply(*work.changes)

    def _add_secret(
        self, work: _Work, application_id: str, days: int | None
    ) -> tuple[m.ClientSecret, str]:
        """A new secret living ``days``, or the default lifetime when none is given."""
        days = days or self.secret_lifetime_days
        expires_at = work.now + days * rules.DAY if days else None
        secret, plain = self._new_secret(application_id, work.now, expires_at)
        work.session.add(secret)
        work.audit(
            "secret.created",
            application_id=application_id,
            secret_id=secret.secret_id,
            expires_at=iso(expires_at),
        )
        return secret, plain

    def _new_secret(
        self, application_id: str, now: float, expires_at: float | None
    ) -> tuple[m.ClientSecret, str]:
        plain = SECRET_PREFIX + self._random.secret(32)
        row = m.ClientSecret(
            secret_id="sec_" + self._random.urlsafe(16),
            application_id=application_id,
            secret_hash=self._hasher.hash(plain),
            hint=plain[:8] + "…",
            created_at=now,
            expires_at=expires_at,
        )
        return row, plain

    async def _unused_application_id(self, session: AsyncSession) -> str:
        while True:
            candidate = self._random.digits(9)
            if await session.get(m.Application, candidate) is None:
                return candidate

    async def _unused_tenant_id(self, session: AsyncSession) -> str:
        while True:
            # 21 URL-safe characters, the first a letter or digit so that no command line
            # takes the id for an option.
            candidate = self._random.alnum(1) + self._random.urlsafe(20)
            if await session.get(m.Tenant, candidate) is None:
                return candidate

    async def _application(
        self, session: AsyncSession, application_id: str, *, lock: bool = False
    ) -> m.Application:
        if not rules.APPLICATION_ID.fullmatch(application_id):
            raise NotFound("no such application")
        row = await session.get(m.Application, application_id, with_for_update=lock)
        if row is None:
            raise NotFound(f"no application {application_id}")
        return row

    async def _secrets_of(
        self, session: AsyncSession, application_ids: list[str]
    ) -> dict[str, list[m.ClientSecret]]:
        query = select(m.ClientSecret).where(m.ClientSecret.application_id.in_(application_ids))
        by_app: dict[str, list[m.ClientSecret]] = {}
        for secret in (await session.scalars(query)).all():
            by_app.setdefault(secret.application_id, []).append(secret)
        return by_app

    async def _secrets(self, session: AsyncSession, application_id: str) -> list[m.ClientSecret]:
        query = select(m.ClientSecret).where(m.ClientSecret.application_id == application_id)
        return list((await session.scalars(query)).all())

    async def _tenant(
        self, session: AsyncSession, tenant_id: str, *, lock: bool = False
    ) -> m.Tenant:
        if not rules.TENANT_ID.fullmatch(tenant_id):
            raise NotFound("no such tenant")
        row = await session.get(m.Tenant, tenant_id, with_for_update=lock)
        if row is None:
            raise NotFound(f"no tenant {tenant_id}")
        return row

    async def _apps_of(
        self, session: AsyncSession, tenant_ids: list[str]
    ) -> dict[str, list[m.TenantApp]]:
        query = select(m.TenantApp).where(m.TenantApp.tenant_id.in_(tenant_ids))
        by_tenant: dict[str, list[m.TenantApp]] = {}
        for app in (await session.scalars(query)).all():
            by_tenant.setdefault(app.tenant_id, []).append(app)
        return by_tenant

    async def _apps(self, session: AsyncSession, tenant_id: str) -> list[m.TenantApp]:
        query = select(m.TenantApp).where(m.TenantApp.tenant_id == tenant_id)
        return list((await session.scalars(query)).all())

    async def _api_user(
        self, session: AsyncSession, tenant_id: str, application_id: str
    ) -> m.ApiUser:
        row = None
        if rules.TENANT_ID.fullmatch(tenant_id) and rules.APPLICATION_ID.fullmatch(application_id):
            row = await session.get(m.ApiUser, (tenant_id, application_id))
        if row is None or row.deleted_at is not None:
            raise NotFound("this tenant has no API user for that application")
        return row


def _set(row: m.ApiUser, name: str, value: object, created: bool) -> None:
    """A field of a write: as given, kept (``KEEP``), or none on a new API user."""
    if value is not KEEP:
        setattr(row, name, value)
    elif created:
        setattr(row, name, None)


def _api_user_event(created: bool, was_enabled: bool, enabled: bool) -> str:
    if created:
        return "api_user.created"
    if was_enabled != enabled:
        return "api_user.enabled" if enabled else "api_user.disabled"
    return "api_user.updated"


@dataclass
class _Work:
    """What one write does besides its own rows: audit rows, and the changes other nodes
    must hear of."""

    session: AsyncSession
    now: float
    actor: str
    changes: list[tuple[str, str]] = field(default_factory=list)

    def audit(self, kind: str, **fields: Any) -> None:
        self.session.add(m.AuditEvent(**audit_row(kind, self.actor, self.now, **fields)))

    def changed(self, entity: str, key: str) -> None:
        if (entity, key) not in self.changes:
            record(self.session, entity, key, self.now)
            self.changes.append((entity, key))


async def _end_tokens(work: _Work, which: ColumnElement[bool]) -> None:
    """A suspension ends the tokens it stops, for good: the API users' generation moves on,
    so reactivating the tenant or the application does not bring them back."""
    moved = await work.session.execute(
        update(m.ApiUser)
        .where(which, m.ApiUser.deleted_at.is_(None))
        .values(generation=m.ApiUser.generation + 1)
        .returning(m.ApiUser.tenant_id, m.ApiUser.application_id)
        .execution_options(synchronize_session=False)
    )
    for tenant_id, application_id in moved.all():
        work.changed("api_user", f"{tenant_id}/{application_id}")


def _expiring_by(until: float) -> Select[str]:
    """The applications with an unretired secret that expires by ``until``."""
    secret = m.ClientSecret
    return select(secret.application_id).where(
        secret.expires_at <= until, secret.retired_at.is_(None)
    )


def _active(secret: m.ClientSecret, now: float) -> bool:
    return secret.retired_at is None and (secret.expires_at is None or secret.expires_at > now)


def _retire(work: _Work, secret: m.ClientSecret) -> None:
    secret.retired_at = work.now
    work.audit("secret.retired", application_id=secret.application_id, secret_id=secret.secret_id)
