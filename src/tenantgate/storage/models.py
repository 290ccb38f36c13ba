"""The tables. Times are seconds since the epoch (UTC) stored as doubles, which reads the same
on SQLite and PostgreSQL; the API layers format them as ISO 8601."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tenantgate.storage.usage import CLASS_COLUMNS, LATENCY_COLUMNS


class Base(DeclarativeBase):
    pass


class Application(Base):
    """``owner`` is a contact label, free text, that grants nothing. The console account that
    owns the application is ``owner_account_id``, set only by an operator: directly or by an
    invite (``registry.ownership``)."""

    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_created", "created_at", "application_id"),
        Index("ix_applications_owner_account", "owner_account_id", "created_at", "application_id"),
    )

    application_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    owner: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)
    owner_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)
    last_token_at: Mapped[float | None] = mapped_column(Double, nullable=True)


class ClientSecret(Base):
    """``expires_at`` is when the secret stops authenticating, if ever; a retired secret
    authenticates nothing whatever its expiry."""

    __tablename__ = "client_secrets"

    secret_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    application_id: Mapped[str] = mapped_column(
        ForeignKey("applications.application_id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(128))
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Double)
    last_used_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    retired_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    expires_at: Mapped[float | None] = mapped_column(Double, nullable=True, index=True)


class Tenant(Base):
    __tablename__ = "tenants"
    __table_args__ = (Index("ix_tenants_created", "created_at", "tenant_id"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(32))
    cluster: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)


class TenantApp(Base):
    __tablename__ = "tenant_apps"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.tenant_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    graphql_url: Mapped[str] = mapped_column(Text)
    websocket_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    limits: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)


class TenantRole(Base):
    """A named set of grants that a tenant's API users may hold (``registry.grants``):
    ``grants`` is a list of ``{"app", "operations", "fields"}``."""

    __tablename__ = "tenant_roles"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.tenant_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    description: Mapped[str] = mapped_column(String(500))
    grants: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)


class ApiUser(Base):
    """A tenant's acceptance of one application. Deleting keeps the row as a tombstone so
    that ``generation`` only ever grows: tokens carry it, and a bump kills them all."""

    __tablename__ = "api_users"
    __table_args__ = (
        Index("ix_api_users_tenant_created", "tenant_id", "created_at", "application_id"),
    )

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.tenant_id", ondelete="CASCADE"), primary_key=True
    )
    application_id: Mapped[str] = mapped_column(
        ForeignKey("applications.application_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    apps: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    roles: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    rate_limit: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
    daily_quota: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    deleted_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)
    last_token_at: Mapped[float | None] = mapped_column(Double, nullable=True)


class RevokedToken(Base):
    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Double, index=True)
    revoked_at: Mapped[float] = mapped_column(Double)


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_key: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Double)
    retired_at: Mapped[float | None] = mapped_column(Double, nullable=True)


class ServerState(Base):
    __tablename__ = "server_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_tenant_at", "tenant_id", "at"),
        Index("ix_audit_application_at", "application_id", "at"),
        Index("ix_audit_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Double, index=True)
    kind: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str] = mapped_column(String(320))
    tenant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    application_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    count: Mapped[int] = mapped_column(Integer, server_default=text("1"), default=1)


class Change(Base):
    """The change feed: every write that the in-memory state mirrors adds a row here, and every
    node reads it to stay current. ``xid`` is the writing transaction's id, set by PostgreSQL
    itself (empty on SQLite)."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Double, index=True)
    entity: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    xid: Mapped[int | None] = mapped_column(
        BigInteger, server_default=FetchedValue(), nullable=True, index=True
    )


class Account(Base):
    """A person who signs in to the web console: an operator, a developer or a tenant admin."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Double)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class ApplicationInvite(Base):
    """A one-time, expiring invitation to own an application, made by an operator. Only the
    SHA-256 of its code is kept; ``used_at`` and ``used_by`` say who redeemed it."""

    __tablename__ = "application_invites"

    invite_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    application_id: Mapped[str] = mapped_column(
        ForeignKey("applications.application_id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double)
    used_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    used_by: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )


class AccountTenant(Base):
    """The tenants a tenant admin administers."""

    __tablename__ = "account_tenants"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.tenant_id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ConsoleSession(Base):
    """A signed-in console session. Only the SHA-256 of the session id is kept."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double, index=True)


class AsyncContextPayload(Base):
    """A payload (or error report) uploaded to ``/v1/asyncContext/<id>/upload|error``."""

    __tablename__ = "async_context_payloads"
    __table_args__ = (
        Index("ix_async_context_tenant_context", "tenant_id", "context_id"),
        Index("ix_async_context_tenant_id", "tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.tenant_id", ondelete="CASCADE"))
    application_id: Mapped[str] = mapped_column(String(20))
    context_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Double)


def _usage_table(name: str, *columns: Column[Any]) -> Table:
    """Gateway usage per (tenant, application, app) and minute (``storage.usage``): rows are
    only inserted, several per key and minute when several nodes (or one node twice) wrote it,
    and read summed. ``minute`` is seconds since the epoch // 60; a refusal before the token is
    read has no tenant, application or app."""
    return Table(
        name,
        Base.metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("minute", Integer, nullable=False),
        Column("tenant_id", String(64), nullable=True),
        Column("application_id", String(20), nullable=True),
        Column("app", String(100), nullable=True),
        *columns,
        Index(f"ix_{name}_minute", "minute"),
        Index(f"ix_{name}_tenant_minute", "tenant_id", "minute"),
        Index(f"ix_{name}_application_minute", "application_id", "minute"),
    )


UsageMinutes = _usage_table(
    "usage_minutes",
    Column("requests", Integer, nullable=False),
    *(Column(name, Integer, nullable=False) for name in (*CLASS_COLUMNS, *LATENCY_COLUMNS)),
)
UsageCodes = _usage_table(
    "usage_codes",
    Column("code", String(40), nullable=False),
    Column("count", Integer, nullable=False),
)
