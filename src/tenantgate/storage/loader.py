"""Reads records into the in-memory ``RegistryState``: all at start, one entity per change."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantgate.registry.state import (
    ApiUserRecord,
    ApplicationRecord,
    AppRoute,
    RegistryState,
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
            SecretRecord(s.secret_id, s.secret_hash, s.retired_at)
            for s in sorted(secrets, key=lambda s: s.created_at)
        ),
    )


def _tenant(row: m.Tenant, apps: list[m.TenantApp]) -> TenantRecord:
    routes = {a.name: AppRoute(a.name, a.graphql_url, a.websocket_url) for a in apps}
    return TenantRecord(row.tenant_id, row.name, row.region, row.cluster, row.status, routes)


def _api_user(row: m.ApiUser) -> ApiUserRecord:
    apps = frozenset(row.apps) if row.apps is not None else None
    return ApiUserRecord(row.tenant_id, row.application_id, row.enabled, apps, row.generation)


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
    live_revocations = select(m.RevokedToken).where(m.RevokedToken.expires_at >= now)
    for revoked in (await session.scalars(live_revocations)).all():
        state.revoke(revoked.jti, revoked.expires_at)


async def refresh_application(session: AsyncSession, state: RegistryState, key: str) -> None:
    row = await session.get(m.Application, key)
    if row is None:
        state.drop_application(key)
        return
    query = select(m.ClientSecret).where(m.ClientSecret.application_id == key)
    state.put_application(_application(row, list((await session.scalars(query)).all())))


async def refresh_tenant(session: AsyncSession, state: RegistryState, key: str) -> None:
    row = await session.get(m.Tenant, key)
    if row is None:
        state.drop_tenant(key)
        return
    query = select(m.TenantApp).where(m.TenantApp.tenant_id == key)
    state.put_tenant(_tenant(row, list((await session.scalars(query)).all())))


async def refresh_api_user(session: AsyncSession, state: RegistryState, key: str) -> None:
    tenant_id, application_id = key.split("/", 1)
    row = await session.get(m.ApiUser, (tenant_id, application_id))
    if row is None or row.deleted_at is not None:
        state.drop_api_user(tenant_id, application_id)
    else:
        state.put_api_user(_api_user(row))


async def refresh_token(session: AsyncSession, state: RegistryState, key: str) -> None:
    row = await session.get(m.RevokedToken, key)
    if row is not None:
        state.revoke(row.jti, row.expires_at)


REFRESHERS = {
    "application": refresh_application,
    "tenant": refresh_tenant,
    "api_user": refresh_api_user,
    "token": refresh_token,
}
