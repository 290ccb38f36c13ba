"""What the registry hands back to the admin API, the console and the CLI: plain data, times in
ISO 8601 UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tenantgate.storage import models as m


def iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def epoch(at: str | None) -> float | None:
    """The inverse of :func:`iso`."""
    if at is None:
        return None
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class SecretView:
    secret_id: str
    hint: str
    created_at: str | None
    last_used_at: str | None
    retired_at: str | None
    expires_at: str | None
    """When it stops authenticating; ``None``: never."""

    @classmethod
    def of(cls, row: m.ClientSecret) -> SecretView:
        return cls(
            row.secret_id,
            row.hint,
            iso(row.created_at),
            iso(row.last_used_at),
            iso(row.retired_at),
            iso(row.expires_at),
        )

    def expires_within(self, now: float, seconds: float) -> bool:
        """Unretired, and expiring within ``seconds`` from ``now`` or expired already."""
        expires_at = epoch(self.expires_at)
        return self.retired_at is None and expires_at is not None and expires_at <= now + seconds

    def expired(self, now: float) -> bool:
        return self.expires_within(now, 0)

    def active(self, now: float) -> bool:
        """It authenticates: neither retired nor expired."""
        return self.retired_at is None and not self.expired(now)


@dataclass(frozen=True)
class ApplicationView:
    application_id: str
    client_id: str
    name: str
    status: str
    owner: str | None
    """A contact label: grants nothing."""
    owner_account_id: int | None
    """The console account that owns it, set by an operator."""
    created_at: str | None
    last_token_at: str | None
    secrets: list[SecretView]

    @classmethod
    def of(cls, row: m.Application, secrets: list[m.ClientSecret]) -> ApplicationView:
        return cls(
            row.application_id,
            row.client_id,
            row.name,
            row.status,
            row.owner,
            row.owner_account_id,
            iso(row.created_at),
            iso(row.last_token_at),
            [SecretView.of(s) for s in sorted(secrets, key=lambda s: s.created_at)],
        )


@dataclass(frozen=True)
class NewSecret:
    application_id: str
    secret_id: str
    client_secret: str
    expires_at: str | None

    @classmethod
    def of(cls, row: m.ClientSecret, client_secret: str) -> NewSecret:
        return cls(row.application_id, row.secret_id, client_secret, iso(row.expires_at))


@dataclass(frozen=True)
class InviteView:
    """An invite to own an application; its code is never part of it."""

    invite_id: str
    application_id: str
    application_name: str
    created_at: str | None
    expires_at: str | None


@dataclass(frozen=True)
class NewInvite:
    """An invite just made: the only time its code exists outside the operator's hands."""

    invite: InviteView
    code: str


@dataclass(frozen=True)
class AppView:
    name: str
    graphql_url: str
    websocket_url: str | None
    limits: dict[str, Any] | None
    """The app's own query limits; ``None``: the operator's defaults."""

    @classmethod
    def of(cls, row: m.TenantApp) -> AppView:
        return cls(row.name, row.graphql_url, row.websocket_url, row.limits)


@dataclass(frozen=True)
class TenantView:
    tenant_id: str
    name: str
    region: str
    cluster: str
    status: str
    created_at: str | None
    apps: list[AppView]

    @classmethod
    def of(cls, row: m.Tenant, apps: list[m.TenantApp]) -> TenantView:
        views = [AppView.of(a) for a in sorted(apps, key=lambda a: a.name)]
        return cls(
            row.tenant_id, row.name, row.region, row.cluster, row.status, iso(row.created_at), views
        )


@dataclass(frozen=True)
class ApiUserView:
    tenant_id: str
    application_id: str
    email: str
    first_name: str
    last_name: str
    enabled: bool
    apps: list[str] | None
    roles: list[str] | None
    """The tenant's roles it holds; ``None``: whatever ``apps`` allow."""
    rate_limit: dict[str, int] | None
    """Its own ``requests_per_minute`` and ``burst``; ``None``: the operator's defaults."""
    daily_quota: int | None
    created_at: str | None
    updated_at: str | None
    last_token_at: str | None

    @classmethod
    def of(cls, row: m.ApiUser) -> ApiUserView:
        return cls(
            row.tenant_id,
            row.application_id,
            row.email,
            row.first_name,
            row.last_name,
            row.enabled,
            row.apps,
            row.roles,
            row.rate_limit,
            row.daily_quota,
            iso(row.created_at),
            iso(row.updated_at),
            iso(row.last_token_at),
        )


@dataclass(frozen=True)
class RoleView:
    tenant_id: str
    name: str
    description: str
    grants: list[dict[str, Any]]
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, row: m.TenantRole) -> RoleView:
        return cls(
            row.tenant_id,
            row.name,
            row.description,
            row.grants,
            iso(row.created_at),
            iso(row.updated_at),
        )


@dataclass(frozen=True)
class AuditView:
    id: int
    at: str | None
    kind: str
    actor: str
    tenant_id: str | None
    application_id: str | None
    reason: str | None
    detail: dict[str, Any] | None
    count: int
    """How many events the row stands for: refusals are counted per minute."""

    @classmethod
    def of(cls, row: m.AuditEvent) -> AuditView:
        return cls(
            row.id,
            iso(row.at),
            row.kind,
            row.actor,
            row.tenant_id,
            row.application_id,
            row.reason,
            row.detail,
            row.count,
        )
