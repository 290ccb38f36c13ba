"""Reads records into the in-memory ``RegistryState``: all of them at start, then the entities
that a batch of changes names, with one query per kind of entity (and per 500 keys)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterator

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tenantgate.registry.grants import grants
from tenantgate.registry.limits import query_limits
from tenantgate.registry.rates import allowance
from tenantgate.registry.state import (
    ApiUserRecord,
    ApplicationRecord,
    AppRoute,
    RegistryState,
    RoleRecord,
    SecretRecord,
    TenantRecord,
)
from tenantgate.storage import models as m


def _application(row: m.Application, secrets: list[m.ClientSecret]) -> ApplicationRecord:
    return ApplicationRecord(
        application_id=row.application_id,
        client_id=row.client_id,
        name=row.name,
        status=row.status,
        secrets=tuple(
            SecretRecord(s.secret_id, s.secret_hash, s.retired_at, s.expires_at)
            for s in sorted(secrets, key=lambda s: s.created_at)
        ),
    )


def _tenant(row: m.Tenant, apps: list[m.TenantApp]) -> TenantRecord:
    routes = {
        a.name: AppRoute(a.name, a.graphql_url, a.websocket_url, query_limits(a.limits))
        for a in apps
    }
    return TenantRecord(row.tenant_id, row.name, row.region, row.cluster, row.status, routes)


def _api_user(row: m.ApiUser) -> ApiUserRecord:
    apps = frozenset(row.apps) if row.apps is not None else None
    roles = tuple(row.roles) if row.roles is not None else None
    return ApiUserRecord(
        row.tenant_id,
        row.application_id,
        row.enabled,
        apps,
        row.generation,
        roles,
        allowance(row.rate_limit, row.daily_quota),
    )


def _role(row: m.TenantRole) -> RoleRecord:
    return RoleRecord(row.tenant_id, row.name, grants(row.grants))


async def load_all(session: AsyncSession, state: RegistryState, now: float) -> None:
    secrets: dict[str, list[m.ClientSecret]] = {}
    for secret in (await session.scalars(select(m.ClientSecret))).all():
        secrets.setdefault(secret.application_id, []).append(secret)
    for app in (await session.scalars(select(m.Application))).all():
        state.put_application(_application(app, secrets.get(app.application_id, [])))
    routes: dict[str, list[m.TenantApp]] = {}
    for route in (await session.scalars(select(m.TenantApp))).all():
        routes.setdefault(route.tenant_id, []).append(route)
    for tenant in (await session.scalars(select(m.Tenant))).all():
        state.put_tenant(_tenant(tenant, routes.get(tenant.tenant_id, [])))
    live_users = select(m.ApiUser).where(m.ApiUser.deleted_at.is_(None))
    for user in (await session.scalars(live_users)).all():
        state.put_api_user(_api_user(user))
    for role in (await session.scalars(select(m.TenantRole))).all():
        state.put_role(_role(role))
    live_revocations = select(m.RevokedToken).where(m.RevokedToken.expires_at >= now)
    for revoked in (await session.scalars(live_revocations)).all():
        state.revoke(revoked.jti, revoked.expires_at)


def _chunks(keys: Collection[str], size: int = 500) -> Iterator[list[str]]:
    ordered = sorted(keys)
    for i in range(0, len(ordered), size):
        yield ordered[i : i + size]


async def refresh_applications(
    session: AsyncSession, state: RegistryState, keys: Collection[str]
) -> None:
    for chunk in _chunks(keys):
        rows = {
            r.application_id: r
            for r in (
                await session.scalars(
                    select(m.Application).where(m.Application.application_id.in_(chunk))
                )
            ).all()
        }
        secrets: dict[str, list[m.ClientSecret]] = {}
        query = select(m.ClientSecret).where(m.ClientSecret.application_id.in_(chunk))
        for secret in (await session.scalars(query)).all():
            secrets.setdefault(secret.application_id, []).append(secret)
        for key in chunk:
            row = rows.get(key)
            if row is None:
                state.drop_application(key)
            else:
                state.put_application(_application(row, secrets.get(key, [])))


async def refresh_tenants(
    session: AsyncSession, state: RegistryState, keys: Collection[str]
) -> None:
    for chunk in _chunks(keys):
        query = select(m.Tenant).where(m.Tenant.tenant_id.in_(chunk))
        rows = {r.tenant_id: r for r in (await session.scalars(query)).all()}
        routes: dict[str, list[m.TenantApp]] = {}
        apps = select(m.TenantApp).where(m.TenantApp.tenant_id.in_(chunk))
        for route in (await session.scalars(apps)).all():
            routes.setdefault(route.tenant_id, []).append(route)
        for key in chunk:
            row = rows.get(key)
            if row is None:
                state.drop_tenant(key)
            else:
                state.put_tenant(_tenant(row, routes.get(key, [])))


async def refresh_api_users(
    session: AsyncSession, state: RegistryState, keys: Collection[str]
) -> None:
    for chunk in _chunks(keys):
        pairs = [tuple(key.split("/", 1)) for key in chunk]
        query = select(m.ApiUser).where(
            tuple_(m.ApiUser.tenant_id, m.ApiUser.application_id).in_(pairs)
        )
        rows = {(r.tenant_id, r.application_id): r for r in (await session.scalars(query)).all()}
        for tenant_id, application_id in pairs:
            row = rows.get((tenant_id, application_id))
            if row is None or row.deleted_at is not None:
                state.drop_api_user(tenant_id, application_id)
            else:
                state.put_api_user(_api_user(row))


async def refresh_roles(session: AsyncSession, state: RegistryState, keys: Collection[str]) -> None:
    for chunk in _chunks(keys):
        pairs = [tuple(key.split("/", 1)) for key in chunk]
        query = select(m.TenantRole).where(
            tuple_(m.TenantRole.tenant_id, m.TenantRole.name).in_(pairs)
        )
        rows = {(r.tenant_id, r.name): r for r in (await session.scalars(query)).all()}
        for tenant_id, name in pairs:
            row = rows.get((tenant_id, name))
            if row is None:
                state.drop_role(tenant_id, name)
            else:
                state.put_role(_role(row))


async def refresh_tokens(
    session: AsyncSession, state: RegistryState, keys: Collection[str]
) -> None:
    for chunk in _chunks(keys):
        query = select(m.RevokedToken.jti, m.RevokedToken.expires_at).where(
            m.RevokedToken.jti.in_(chunk)
        )
        for jti, expires_at in (await session.execute(query)).all():
            state.revoke(jti, expires_at)


Refresher = Callable[[AsyncSession, RegistryState, Collection[str]], Awaitable[None]]

REFRESHERS: dict[str, Refresher] = {
    "application": refresh_applications,
    "tenant": refresh_tenants,
    "api_user": refresh_api_users,
    "role": refresh_roles,
    "token": refresh_tokens,
}
