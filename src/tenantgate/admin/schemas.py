"""Request and response bodies of the admin API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL
OWNER = "A contact label, free text such as an e-mail. It grants nothing: see owner_account_id."
MAX_SECRET_DAYS = 3650
SECRET_DAYS = (
    "Days the secret works, a whole number from 1 to 3650. Left out or null: "
    "TENANTGATE_SECRET_LIFETIME_DAYS, or never when that is unset."
)
EXPIRES_AT = "When the secret stops authenticating (ISO 8601 UTC); null: never."
OWNER_ACCOUNT = (
    "The id of the developer console account that owns the application and manages it in the "
    "console (the console's Accounts page lists the ids); null: none, only operators manage it."
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Acme integration"])
    owner: str | None = Field(None, max_length=320, description=OWNER)
    owner_account_id: int | None = Field(None, ge=1, le=MAX_ID, description=OWNER_ACCOUNT)
    secret_expires_in_days: int | None = Field(
        None,
        ge=1,
        le=MAX_SECRET_DAYS,
        strict=True,
        description="Of the first secret: " + SECRET_DAYS,
    )


class ApplicationPatch(Strict):
    """Only the fields given change."""

    status: Literal["active", "suspended"] | None = None
    owner_account_id: int | None = Field(
        None, ge=1, le=MAX_ID, description=OWNER_ACCOUNT + " Left out: unchanged."
    )


class SecretIn(Strict):
    expires_in_days: int | None = Field(
        None, ge=1, le=MAX_SECRET_DAYS, strict=True, description=SECRET_DAYS, examples=[90]
    )


class SecretOut(BaseModel):
    secret_id: str
    hint: str
    created_at: str | None
    last_used_at: str | None
    retired_at: str | None
    expires_at: str | None = Field(description=EXPIRES_AT)


class ApplicationOut(BaseModel):
    application_id: str
    client_id: str
    name: str
    status: str
    owner: str | None = Field(description=OWNER)
    owner_account_id: int | None = Field(description=OWNER_ACCOUNT)
    created_at: str | None
    last_token_at: str | None
    secrets: list[SecretOut]


class ApplicationCreated(BaseModel):
    application_id: str
    client_id: str
    client_secret: str = Field(description="Shown once; only its hash is kept.")
    secret_id: str
    secret_expires_at: str | None = Field(description=EXPIRES_AT)
    name: str
    status: str


class NewSecretOut(BaseModel):
    secret_id: str
    client_secret: str = Field(description="Shown once; only its hash is kept.")
    expires_at: str | None = Field(description=EXPIRES_AT)


class TenantIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    region: str = Field(examples=["eu"])
    cluster: str = Field(examples=["cluster-release"])


class TenantPatch(Strict):
    name: str | None = None
    region: str | None = None
    cluster: str | None = None
    status: Literal["active", "suspended"] | None = None


class LimitsIn(Strict):
    """Each left out (or null) is the operator's default (TENANTGATE_QUERY_*)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    max_depth: int | None = Field(
        None, ge=1, le=1000, examples=[12], description="Deepest field nesting; a root field is 1."
    )
    max_aliases: int | None = Field(
        None, ge=0, le=100_000, examples=[30], description="Aliased fields, spreads expanded."
    )
    max_root_fields: int | None = Field(
        None,
        ge=1,
        le=10_000,
        examples=[20],
        description="Root fields, spreads expanded; __typename and introspection not counted.",
    )
    max_tokens: int | None = Field(
        None, ge=1, le=1_000_000, examples=[5000], description="Lexical tokens of the document."
    )
    introspection: bool | None = Field(
        None, examples=[True], description="Whether __schema and __type may be selected."
    )


class AppIn(Strict):
    graphql_url: str = Field(examples=["http://127.0.0.1:9001/graphql"])
    websocket_url: str | None = None
    limits: LimitsIn | None = Field(
        None,
        description="Query limits the gateway applies to every request to this app (over one: "
        "400 QUERY_TOO_COMPLEX). Left out or null: the operator's defaults.",
    )


class AppOut(BaseModel):
    name: str
    graphql_url: str
    websocket_url: str | None
    limits: dict[str, int | bool] | None = Field(
        None, description="The app's own query limits; null: the operator's defaults."
    )


class TenantOut(BaseModel):
    tenant_id: str
    name: str
    region: str
    cluster: str
    status: str
    created_at: str | None
    apps: list[AppOut]


class GrantIn(Strict):
    app: str = Field(examples=["sdmo"], description="One of the tenant's apps.")
    operations: list[Literal["query", "mutation", "subscription"]] = Field(
        min_length=1, examples=[["query"]], description="The operation types it allows."
    )
    fields: list[str] = Field(
        min_length=1,
        max_length=500,
        examples=[["items", "stockLevels"]],
        description='Root fields of those operation types it allows, or ["*"] for all.',
    )


class RoleIn(Strict):
    description: str = Field("", max_length=500)
    grants: list[GrantIn] = Field(
        max_length=100,
        description="What the role allows: a request is allowed if some grant covers its "
        "app, its operation type and every root field it selects.",
    )


class GrantOut(BaseModel):
    app: str
    operations: list[str]
    fields: list[str]


class RoleOut(BaseModel):
    tenant_id: str
    name: str
    description: str
    grants: list[GrantOut]
    created_at: str | None
    updated_at: str | None


class RateLimitIn(Strict):
    """A bucket of burst requests that refills at requests_per_minute."""

    model_config = ConfigDict(extra="forbid", strict=True)

    requests_per_minute: int | None = Field(None, ge=1, le=1_000_000, examples=[600])
    burst: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        examples=[60],
        description="Requests that may come at once; left out: a minute's worth.",
    )


class ApiUserIn(Strict):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    enabled: bool = True
    apps: list[str] | None = Field(
        None, description="Apps of the tenant this application may use; null means all."
    )
    roles: list[str] | None = Field(
        None,
        max_length=50,
        examples=[["stock-reader"]],
        description="Roles of the tenant it holds: a request is then allowed only when some "
        "grant of one of them covers it. Left out or null: whatever apps allow.",
    )
    rate_limit: RateLimitIn | None = Field(
        None,
        description="Gateway requests it may make (over it: 429 RATE_LIMITED). Left out or "
        "null: the operator's defaults (TENANTGATE_RATE_LIMIT_*).",
    )
    daily_quota: int | None = Field(
        None,
        ge=1,
        le=1_000_000_000,
        strict=True,
        examples=[100_000],
        description="Gateway requests per UTC day. Left out or null: TENANTGATE_DAILY_QUOTA.",
    )


class ApiUserOut(BaseModel):
    tenant_id: str
    application_id: str
    email: str
    first_name: str
    last_name: str
    enabled: bool
    apps: list[str] | None
    roles: list[str] | None
    rate_limit: dict[str, int] | None = None
    daily_quota: int | None = None
    created_at: str | None
    updated_at: str | None
    last_token_at: str | None


class AuditOut(BaseModel):
    id: int
    at: str | None
    kind: str
    actor: str
    tenant_id: str | None
    application_id: str | None
    reason: str | None
    detail: dict[str, object] | None
    count: int = Field(
        1, description="How many events the row stands for: refusals are counted per minute."
    )


class ErrorOut(BaseModel):
    error: str
    error_description: str


class PayloadOut(BaseModel):
    id: int
    tenant_id: str
    application_id: str
    context_id: str
    kind: str
    content_type: str
    size: int
    created_at: str | None
