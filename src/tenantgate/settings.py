"""The one settings object, read from ``TENANTGATE_*`` environment variables and handed to
``create_app(settings)``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tenantgate.edge.proxies import Network, parse_networks
from tenantgate.home import default_database_url, default_home


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TENANTGATE_", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the database: SQLite (aiosqlite) or PostgreSQL (asyncpg). "
        "Unset: the SQLite file tenantgate.db in TENANTGATE_HOME.",
        json_schema_extra={"shown_default": "sqlite:///<home>/tenantgate.db"},
    )
    data_dir: Path = Field(
        default_factory=default_home,
        validation_alias=AliasChoices("TENANTGATE_HOME", "TENANTGATE_DATA_DIR"),
        description="The folder of tenantgate's state: the SQLite database (unless "
        "TENANTGATE_DATABASE_URL names another), the server secret file (unless "
        "TENANTGATE_SECRET_KEY is set) and the records of running servers. Unset: "
        "$XDG_DATA_HOME/tenantgate, or ~/.local/share/tenantgate. TENANTGATE_DATA_DIR is its "
        "older name, read when TENANTGATE_HOME is unset.",
        json_schema_extra={
            "env_name": "TENANTGATE_HOME",
            "shown_default": "$XDG_DATA_HOME/tenantgate",
        },
    )
    secret_key: str | None = Field(
        None,
        description="Server secret: peppers client-secret hashes and encrypts signing keys. "
        "Every node of a deployment needs the same value. Unset: generated once into "
        "<home>/tenantgate-secret.key, readable by its owner only.",
    )
    admin_token: str | None = Field(
        None,
        description="Operator bearer token for /admin/v1. Unset: one is generated at first "
        "start, printed once, and only its hash is kept.",
    )
    metrics_token: str | None = Field(
        None,
        description="Bearer token for GET /metrics (Prometheus), so that a scraper needs no "
        "admin token. The admin token is accepted too.",
    )
    token_ttl: int = Field(900, ge=30, le=86400, description="Access-token lifetime, seconds.")
    clock_leeway: float = Field(
        30.0,
        ge=0,
        le=300,
        description="Seconds of clock difference tolerated between nodes and apps: a token "
        "issued up to this far in the future, living up to this much longer than token_ttl, "
        "or signed this long after its key was retired is still accepted.",
    )
    public_url: str | None = Field(
        None,
        description="Public base URL used in the `urls` block, e.g. https://api.example.com. "
        "Unset: the base URL the request came in on.",
    )
    region_urls: dict[str, str] = Field(
        default_factory=dict,
        description='Per-region public base URLs as JSON, e.g. {"eu": "https://api.eu.example.com"}.',
    )
    websocket_url: str | None = Field(
        None,
        description="Public WebSocket URL; default: the public base URL with ws(s) and /v1/ws.",
    )
    issuer: str | None = Field(
        None,
        description="The `iss` of access tokens; default: the public base URL or the request's.",
    )
    token_audience: str = Field("tenantgate", description="The `aud` of access tokens.")
    api_user_domain: str = Field(
        "api.tenantgate.local",
        description="Domain of API-user e-mails: <application_id>@<api_user_domain>.",
    )
    upstream_timeout: float = Field(
        30.0, gt=0, description="Seconds the gateway waits for an upstream answer (then 504)."
    )
    gateway_usage: bool = Field(
        True,
        description="Count the gateway's requests per (tenant, application, app) and minute, "
        "in memory, written once a minute (docs/usage.md). false: nothing counted.",
    )
    query_max_depth: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="Default query limit of every app: the deepest field nesting of an "
        "operation (a root field is at depth 1). Unset: none. An app's own limits win.",
    )
    query_max_aliases: int | None = Field(
        None,
        ge=0,
        le=100_000,
        description="Default query limit: aliased fields of an operation, each fragment "
        "spread counted. Unset: none.",
    )
    query_max_root_fields: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="Default query limit: root fields of an operation, each fragment spread "
        "counted, __typename and introspection not. Unset: none.",
    )
    query_max_tokens: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Default query limit: lexical tokens of a document (parsing stops past "
        "it). Unset: none.",
    )
    query_introspection: bool = Field(
        True,
        description="Default of every app: whether operations may select __schema and __type.",
    )
    query_cache_size: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="GraphQL documents whose analysis the gateway keeps, per process "
        "(least recently used dropped first), and as many POST bodies (of up to 2 KiB) whose "
        "operation it keeps; only requests it checks are parsed.",
    )
    max_body_bytes: int = Field(
        1_048_576,
        gt=0,
        description="Largest request body the gateway and uploads accept (then 413).",
    )
    failure_limit: int = Field(
        10,
        ge=1,
        description="Failed token requests (and client authentications at revocation and "
        "introspection) of one client id from one address within the window before that pair "
        "is answered 429; the same client id from other addresses is still served.",
    )
    failure_limit_per_address: int | None = Field(
        None,
        ge=1,
        description="Failed requests from one address, whatever the client ids, within the "
        "window before that address is answered 429 (the guard against spraying). Unset: 5 x "
        "TENANTGATE_FAILURE_LIMIT.",
    )
    failure_limit_per_client: int | None = Field(
        None,
        ge=1,
        description="Failed requests of one client id, from all addresses together, within the "
        "window before that client id is answered 429 everywhere (slows a distributed guess). "
        "Unset: 10 x TENANTGATE_FAILURE_LIMIT.",
    )
    failure_window: float = Field(
        60.0, gt=0, description="Window of the three failure limits, seconds."
    )
    redis_url: str | None = Field(
        None,
        description="Redis that the nodes share the failure limits through, e.g. "
        "redis://10.0.0.9:6379/0. Unset: each node counts on its own.",
    )
    redis_prefix: str = Field(
        "tenantgate:", description="Prefix of every Redis key tenantgate writes."
    )
    redis_timeout: float = Field(
        0.25,
        gt=0,
        description="Seconds a Redis call may take, connecting included; past that the node "
        "counts in its own memory, and asks Redis again after 2 s.",
    )
    rate_limit_per_minute: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Default gateway rate of every API user, requests per minute (over it: "
        "429 RATE_LIMITED). Unset: none. An API user's own rate_limit wins.",
    )
    rate_limit_burst: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Default burst: requests an API user may send at once before the rate "
        "applies. Unset: a minute's worth.",
    )
    daily_quota: int | None = Field(
        None,
        ge=1,
        le=1_000_000_000,
        description="Default gateway requests per API user and UTC day. Unset: none.",
    )
    trust_forwarded_for: bool = Field(
        False,
        description="The direct peer is a trusted proxy: shorthand for one hop of "
        "TENANTGATE_TRUSTED_PROXIES (the right-most X-Forwarded-For entry is the caller).",
    )
    trusted_proxies: Annotated[list[Network], NoDecode] = Field(
        default_factory=list,
        description="Addresses and CIDRs of the proxies in front (IPv4 and IPv6), comma-separated "
        "or a JSON list. The caller is the first untrusted hop from the right of "
        "X-Forwarded-For (or Forwarded); from any other peer those headers are ignored.",
    )
    forwarded_headers: Literal["x-forwarded", "forwarded"] = Field(
        "x-forwarded",
        description="Which headers the trusted proxies write: x-forwarded (X-Forwarded-For, "
        "-Proto, -Host) or forwarded (RFC 7239 Forwarded: for=, proto=, host=). The other kind "
        "is ignored, since a caller may have sent it.",
    )
    commit_interval_ms: float = Field(
        0.0,
        ge=0,
        description="Extra wait before committing a batch of token issuances. 0: commit as soon "
        "as the previous commit ends; what arrives meanwhile joins the next batch.",
    )
    change_poll_interval: float = Field(
        0.5, gt=0, description="Seconds between polls of the change feed that keeps nodes current."
    )
    max_staleness: float = Field(
        5.0,
        ge=0,
        description="Seconds a node may go without confirming, by a read of the change feed, "
        "that its memory is current; past that it refuses gateway and token requests with 503 "
        "and /readyz reports not ready. 0: never refuse.",
    )
    database_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds that bound every database call: connecting, waiting for a pooled "
        "connection, each statement (and, on PostgreSQL, an idle transaction). A request that "
        "needed the database answers 503 after at most this plus a second.",
    )
    database_pool_size: int = Field(
        5,
        ge=1,
        description="PostgreSQL connections each node keeps for the admin API, the console and "
        "the change feed (one more is opened for LISTEN).",
    )
    database_max_overflow: int = Field(
        5, ge=0, description="Extra PostgreSQL connections a node may open under load."
    )
    writer_pool_size: int = Field(
        4,
        ge=1,
        description="PostgreSQL connections of the group-commit writer: batches in flight.",
    )
    shutdown_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a node waits, after SIGTERM, for requests in flight to finish.",
    )
    audit_retention_days: float = Field(
        90.0,
        ge=0,
        description="Days the audit trail is kept; older rows are deleted in small batches "
        "every hour. 0: keep everything.",
    )
    audit_refusal_groups: int = Field(
        100,
        ge=1,
        description="Distinct (kind, reason, caller) groups of refused requests a node writes "
        "per minute; further refusals are counted in one row per reason.",
    )
    demo: bool = Field(False, description="Create the demo tenant, application and reference apps.")
    refapps: bool = Field(True, description="Serve the reference apps in-process under /refapps.")
    introspection_clients: list[str] = Field(
        default_factory=list,
        description="Client ids allowed to call /v1/token/introspect besides the admin token.",
    )
    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        "info", description="Least severe level logged (debug, info, warning, error, critical)."
    )
    log_format: Literal["console", "json"] = Field(
        "console",
        description="console: readable lines; json: one JSON object per line, for a collector.",
    )
    secret_lifetime_days: int | None = Field(
        None,
        ge=1,
        le=3650,
        description="Days a new client secret works, unless its request names its own "
        "lifetime (expires_in_days): applies to the secret made at registration and to added "
        "ones. Unset: secrets never expire unless asked to.",
    )
    console_signup: bool = Field(
        False, description="Developers may sign up to the web console by themselves."
    )
    console_secure_cookies: bool | None = Field(
        None,
        description="Mark console cookies Secure. Unset: Secure when the request came over HTTPS.",
    )
    console_invite_ttl: int = Field(
        7 * 86400,
        ge=300,
        le=30 * 86400,
        description="Seconds an operator's invite to own an application can be redeemed, once.",
    )

    @field_validator("log_level", "log_format", "forwarded_headers", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value) if value.lstrip().startswith("[") else value.split(",")
            value = [entry for entry in value if entry.strip()]
        if isinstance(value, list) and all(isinstance(entry, str) for entry in value):
            return parse_networks(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        for plain, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if value.startswith(plain):
                return driver + value[len(plain) :]
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @model_validator(mode="after")
    def _database_in_home(self) -> Settings:
        if not self.database_url:
            self.database_url = default_database_url(self.data_dir)
        return self

    @field_validator("public_url", "issuer", "websocket_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value
