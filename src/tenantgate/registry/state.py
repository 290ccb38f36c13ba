"""The in-memory picture of the registry that the token endpoint and the gateway read.

It holds no database handle: ``registry.loader`` fills it, and ``registry.feed`` keeps it
current. Records are immutable; an update swaps the whole record, so a reader never sees a
half-applied change."""

from __future__ import annotations

from dataclasses import dataclass, field

from tenantgate.registry.grants import Grant, Permissions
from tenantgate.registry.limits import QueryLimits
from tenantgate.registry.rates import UNLIMITED, Allowance


@dataclass(frozen=True, slots=True)
class SecretRecord:
    secret_id: str
    secret_hash: str
    retired_at: float | None
    expires_at: float | None = None
    """From then on it authenticates nothing; ``None``: never."""


@dataclass(frozen=True, slots=True)
class ApplicationRecord:
    application_id: str
    client_id: str
    name: str
    status: str
    secrets: tuple[SecretRecord, ...]

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class AppRoute:
    name: str
    graphql_url: str
    websocket_url: str | None
    limits: QueryLimits | None = None
    """The app's own query limits; ``None``: the operator's defaults."""


@dataclass(frozen=True, slots=True)
class TenantRecord:
    tenant_id: str
    name: str
    region: str
    cluster: str
    status: str
    apps: dict[str, AppRoute]

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class ApiUserRecord:
    tenant_id: str
    application_id: str
    enabled: bool
    apps: frozenset[str] | None
    generation: int
    roles: tuple[str, ...] | None = None
    """The tenant's roles it holds; ``None``: it may do whatever ``apps`` allows."""
    allowance: Allowance = UNLIMITED
    """Its own rate limit and daily quota; each ``None``: the operator's default."""

    def allowed_apps(self, tenant: TenantRecord) -> list[str]:
        names = sorted(tenant.apps)
        if self.apps is None:
            return names
        return [name for name in names if name in self.apps]


@dataclass(frozen=True, slots=True)
class RoleRecord:
    tenant_id: str
    name: str
    grants: tuple[Grant, ...]


@dataclass
class RegistryState:
    applications: dict[str, ApplicationRecord] = field(default_factory=dict)
    by_client_id: dict[str, ApplicationRecord] = field(default_factory=dict)
    tenants: dict[str, TenantRecord] = field(default_factory=dict)
    api_users: dict[tuple[str, str], ApiUserRecord] = field(default_factory=dict)
    revoked: dict[str, float] = field(default_factory=dict)
    roles: dict[tuple[str, str], RoleRecord] = field(default_factory=dict)
    _permissions: dict[str, dict[str, tuple[ApiUserRecord, Permissions]]] = field(
        default_factory=dict, repr=False
    )

    def put_application(self, record: ApplicationRecord) -> None:
        old = self.applications.get(record.application_id)
        if old is not None and old.client_id != record.client_id:
            self.by_client_id.pop(old.client_id, None)
        self.applications[record.application_id] = record
        self.by_client_id[record.client_id] = record

    def drop_application(self, application_id: str) -> None:
        old = self.applications.pop(application_id, None)
        if old is not None:
            self.by_client_id.pop(old.client_id, None)

    def put_tenant(self, record: TenantRecord) -> None:
        self.tenants[record.tenant_id] = record

    def drop_tenant(self, tenant_id: str) -> None:
        self.tenants.pop(tenant_id, None)

    def put_api_user(self, record: ApiUserRecord) -> None:
        self.api_users[(record.tenant_id, record.application_id)] = record

    def drop_api_user(self, tenant_id: str, application_id: str) -> None:
        self.api_users.pop((tenant_id, application_id), None)
        self._permissions.get(tenant_id, {}).pop(application_id, None)

    def put_role(self, record: RoleRecord) -> None:
        self.roles[(record.tenant_id, record.name)] = record
        self._permissions.pop(record.tenant_id, None)

    def drop_role(self, tenant_id: str, name: str) -> None:
        self.roles.pop((tenant_id, name), None)
        self._permissions.pop(tenant_id, None)

    def permissions(self, user: ApiUserRecord) -> Permissions | None:
        """What the API user's roles allow, or ``None`` if it holds none. Compiled once for
        each record of the user, until a role of its tenant changes: the gateway asks on
        every request, and then pays a dictionary look-up."""
        if user.roles is None:
            return None
        of_tenant = self._permissions.get(user.tenant_id)
        if of_tenant is None:
            of_tenant = self._permissions[user.tenant_id] = {}
        cached = of_tenant.get(user.application_id)
        if cached is not None and cached[0] is user:
            return cached[1]
        roles = self.roles
        keys = [(user.tenant_id, name) for name in user.roles]
        permissions = Permissions(roles[key].grants for key in keys if key in roles)
        of_tenant[user.application_id] = (user, permissions)
        return permissions

    def revoke(self, jti: str, expires_at: float) -> None:
        self.revoked[jti] = expires_at

    def forget_expired(self, now: float) -> None:
        for jti in [jti for jti, exp in self.revoked.items() if exp < now]:
            del self.revoked[jti]

    def api_user(self, tenant_id: str, application_id: str) -> ApiUserRecord | None:
        return self.api_users.get((tenant_id, application_id))
