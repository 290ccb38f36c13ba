"""Making the registry match a document (``registry.declared``): export what is, plan what would
change, apply the plan.

Matching. A tenant or an application with an id in the file is that record (an unknown id is a
problem: the file cannot choose ids). One without an id is matched by its name among the
records no entry of the file names by id: none is a create, one is that record, several is a
problem (give the id). So a file applied twice plans nothing the second time, whether or not
its new entries were given the ids the first apply made.

Applying. Every step is one of the registry's own writes (audited, in the change feed, seen by
every node), with the actor the caller gives. Each step commits on its own: the whole file is
checked and planned before the first write, and a step that fails (the database, a record
changed meanwhile) stops the apply there, with the steps before it done. Apply again once the
cause is fixed: what is done plans nothing. Secrets of applications made are kept in the
result even then.

Deletes (with ``prune``) reach what the registry can delete: the apps and API users of the
tenants in the file. Tenants and applications missing from the file are left alone; suspend
one by giving it ``status: suspended``. Adding a field (a tenant's roles, an app's limits) is a
field of its model in ``declared``, its line in ``export``, and one comparison in its planner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tenantgate.registry.declared import (
    DeclaredApiUser,
    DeclaredApplication,
    DeclaredTenant,
    InvalidDocument,
    Problem,
    Source,
)
from tenantgate.registry.errors import RegistryError
from tenantgate.registry.paging import MAX_LIMIT
from tenantgate.registry.views import ApiUserView, ApplicationView, RoleView, TenantView

if TYPE_CHECKING:
    from tenantgate.services import Services

Action = Literal["create", "update", "delete"]
Run = Callable[["Services"], Awaitable[None]]
DELETE_ORDER = ("api_user", "role", "app")  # what holds a role first, what a role grants last


@dataclass
class Current:
    """The registry as it is: every application, tenant (with apps) and live API user."""

    applications: dict[str, ApplicationView]
    tenants: dict[str, TenantView]
    api_users: dict[str, dict[str, ApiUserView]]
    roles: dict[str, dict[str, RoleView]] = field(default_factory=dict)


async def read_current(services: Services) -> Current:
    registry = services.registry
    applications = {
        a.application_id: a
        async for a in _every(lambda c: registry.list_applications(cursor=c, limit=MAX_LIMIT))
    }
    tenants = {
        t.tenant_id: t
        async for t in _every(lambda c: registry.list_tenants(cursor=c, limit=MAX_LIMIT))
    }
    # Every API user and every role in a few pages, not one list per tenant: an export of
    # 1,000 tenants read one list of roles per tenant, 1,000 queries (seconds on SQLite).
    users: dict[str, dict[str, ApiUserView]] = {t: {} for t in tenants}
    async for user in registry.every_api_user():
        users.setdefault(user.tenant_id, {})[user.application_id] = user
    roles: dict[str, dict[str, RoleView]] = {t: {} for t in tenants}
    async for role in registry.roles.every():
        roles.setdefault(role.tenant_id, {})[role.name] = role
    return Current(applications, tenants, users, roles)


async def _every(listing: Callable[[str | None], Awaitable[Any]]) -> Any:
    cursor = None
    while True:
        page = await listing(cursor)
        for item in page.items:
            yield item
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# export


def export(current: Current) -> dict[str, Any]:
    """The document of ``current``: ids included, secrets never, defaults written out."""
    return {
        "version": 1,
        "applications": [_application(a) for a in current.applications.values()],
        "tenants": [
            _tenant(t, current.api_users.get(t.tenant_id, {}), current.roles.get(t.tenant_id, {}))
            for t in current.tenants.values()
        ],
    }


def _application(view: ApplicationView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "application_id": view.application_id,
        "client_id": view.client_id,
        "name": view.name,
        "status": view.status,
    }
    if view.owner is not None:
        out["owner"] = view.owner
    if view.owner_account_id is not None:
        out["owner_account_id"] = view.owner_account_id
    return out


def _tenant(
    view: TenantView, users: dict[str, ApiUserView], roles: dict[str, RoleView]
) -> dict[str, Any]:
    apps: dict[str, Any] = {}
    for app in view.apps:
        apps[app.name] = {"graphql_url": app.graphql_url}
        if app.websocket_url is not None:
            apps[app.name]["websocket_url"] = app.websocket_url
    return {
        "tenant_id": view.tenant_id,
        "name": view.name,
        "region": view.region,
        "cluster": view.cluster,
        "status": view.status,
        "apps": apps,
        "roles": {
            r.name: {"description": r.description, "grants": r.grants} for r in roles.values()
        },
        "api_users": [_api_user(u) for u in users.values()],
    }


def _api_user(view: ApiUserView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "application_id": view.application_id,
        "first_name": view.first_name,
        "last_name": view.last_name,
        "enabled": view.enabled,
    }
    if view.apps is not None:
        out["apps"] = view.apps
    if view.roles is not None:
        out["roles"] = view.roles
    return out


# the plan


@dataclass
class Ref:
    """A record a step acts on: its id once known (a record the plan creates gets it when
    its step runs), and how the plan names it."""

    id: str | None
    label: str

    def __str__(self) -> str:
        return f"{self.label} ({self.id})" if self.id else self.label


AMBIGUOUS = Ref(None, "two applications of the file have this name")


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass
class Step:
    action: Action
    kind: str
    target: str
    changes: list[Change]
    run: Run = field(repr=False, compare=False)

    @property
    def line(self) -> str:
        kind = self.kind.replace("_", " ")
        text = f"{self.action} {kind} {self.target}"
        if self.changes:
            text += ": " + ", ".join(_change(c) for c in self.changes)
        return text


def _change(change: Change) -> str:
    return f"{change.field} {_shown(change.old)} -> {_shown(change.new)}"


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("'", '"')


@dataclass(frozen=True)
class CreatedSecret:
    """The one client secret of an application the apply made: shown once, kept nowhere."""

    application_id: str
    client_id: str
    name: str
    secret_id: str
    client_secret: str


@dataclass
class Plan:
    steps: list[Step]
    secrets: list[CreatedSecret] = field(default_factory=list)
    applied: int = 0

    def count(self, action: Action) -> int:
        return sum(1 for s in self.steps if s.action == action)

    @property
    def summary(self) -> str:
        if not self.steps:
            return "no changes: the registry matches the file"
        counts = (f"{self.count(a)} to {a}" for a in ("create", "update", "delete"))
        return "plan: " + ", ".join(counts)

    def as_dict(self, *, dry_run: bool) -> dict[str, Any]:
        """What ``apply --json`` prints and ``POST /admin/v1/apply`` answers."""
        return {
            "dry_run": dry_run,
            "steps": [
                {
                    "action": s.action,
                    "kind": s.kind,
                    "target": s.target,
                    "changes": [{"field": c.field, "from": c.old, "to": c.new} for c in s.changes],
                    "line": s.line,
                }
                for s in self.steps
            ],
            "summary": {a: self.count(a) for a in ("create", "update", "delete")},
            "applied": self.applied,
            "secrets": [asdict(secret) for secret in self.secrets],
        }


def plan(source: Source, current: Current, actor: str, *, prune: bool = False) -> Plan:
    """Every step that makes ``current`` match the file, or :class:`InvalidDocument` with every
    reason it cannot: nothing is written here."""
    planner = _Planner(source, current, actor, prune)
    planner.applications()
    planner.tenants()
    if planner.problems:
        raise InvalidDocument(planner.problems, source.name)
    deletes = sorted(planner.deletes, key=lambda s: DELETE_ORDER.index(s.kind))
    return Plan(planner.creates_updates + deletes, planner.secrets)


class ApplyFailed(RegistryError):
    """A step failed; the steps before it stay done (``plan.applied`` of them)."""

    def __init__(self, plan: Plan, step: Step, cause: RegistryError) -> None:
        done = (
            f"the {plan.applied} step(s) before it were applied"
            if plan.applied
            else "nothing was applied"
        )
        super().__init__(
            f"{step.action} {step.kind.replace('_', ' ')} {step.target}: {cause.description}"
            f" ({done})"
        )
        self.status_code, self.code = cause.status_code, cause.code
        self.plan = plan


async def apply(the_plan: Plan, services: Services) -> Plan:
    for step in the_plan.steps:
        try:
            await step.run(services)
        except RegistryError as exc:
            raise ApplyFailed(the_plan, step, exc) from exc
        the_plan.applied += 1
    return the_plan


class _Planner:
    def __init__(self, source: Source, current: Current, actor: str, prune: bool) -> None:
        self.source, self.current, self.actor, self.prune = source, current, actor, prune
        self.problems: list[Problem] = []
        self.creates_updates: list[Step] = []
        self.deletes: list[Step] = []
        self.by_name: dict[str, Ref] = {}  # applications of the file, for api_users[].application
        self.secrets: list[CreatedSecret] = []

    def problem(self, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append(self.source.problem(path, message))

    def step(
        self, action: Action, kind: str, target: Ref | str, run: Run, *changes: Change
    ) -> None:
        steps = self.deletes if action == "delete" else self.creates_updates
        steps.append(Step(action, kind, str(target), list(changes), run))

    # applications

    def applications(self) -> None:
        declared = self.source.document.applications
        named = {a.application_id for a in declared if a.application_id}
        free = [a for a in self.current.applications.values() if a.application_id not in named]
        for i, entry in enumerate(declared):
            path = ("applications", i)
            view = self._match_application(path, entry, free)
            if view is False:
                continue
            ref = Ref(view.application_id if view else None, f'"{entry.name}"')
            if entry.name in self.by_name:
                self.by_name[entry.name] = AMBIGUOUS
            else:
                self.by_name[entry.name] = ref
            if view is None:
                self._create_application(ref, entry)
            else:
                self._update_application(path, ref, entry, view)

    def _match_application(
        self, path: tuple[str | int, ...], entry: DeclaredApplication, free: list[ApplicationView]
    ) -> ApplicationView | Literal[False] | None:
        if entry.application_id is not None:
            view = self.current.applications.get(entry.application_id)
            if view is None:
                self.problem(
                    (*path, "application_id"),
                    f"no application {entry.application_id} "
                    "(leave application_id out to create one)",
                )
                return False
            if entry.client_id is not None and entry.client_id != view.client_id:
                self.problem((*path, "client_id"), "is not this application's client_id")
                return False
            return view
        if entry.client_id is not None:
            self.problem((*path, "client_id"), "is made by the server: give application_id too")
            return False
        same = [a for a in free if a.name == entry.name]
        if len(same) > 1:
            self.problem(
                (*path, "name"),
                f"{len(same)} applications are named {entry.name!r}: give application_id",
            )
            return False
        return same[0] if same else None

    def _create_application(self, ref: Ref, entry: DeclaredApplication) -> None:
        async def run(services: Services) -> None:
            view, secret = await services.registry.create_application(
                entry.name, self.actor, owner=entry.owner, owner_account_id=entry.owner_account_id
            )
            ref.id = view.application_id
            self.secrets.append(
                CreatedSecret(
                    view.application_id,
                    view.client_id,
                    view.name,
                    secret.secret_id,
                    secret.client_secret,
                )
            )
            if entry.status != "active":
                await services.registry.set_application_status(
                    view.application_id, entry.status, self.actor
                )

        self.step("create", "application", ref, run)

    def _update_application(
        self,
        path: tuple[str | int, ...],
        ref: Ref,
        entry: DeclaredApplication,
        view: ApplicationView,
    ) -> None:
        for name in ("name", "owner"):
            if getattr(entry, name) != getattr(view, name):
                self.problem(
                    (*path, name),
                    f"an application's {name} cannot be changed yet "
                    f"(it is {getattr(view, name)!r})",
                )
        changes = [
            Change(name, getattr(view, name), getattr(entry, name))
            for name in ("status", "owner_account_id")
            if getattr(entry, name) != getattr(view, name)
        ]
        if not changes:
            return

        async def run(services: Services) -> None:
            if entry.status != view.status:
                await services.registry.set_application_status(
                    view.application_id, entry.status, self.actor
                )
            if entry.owner_account_id != view.owner_account_id:
                await services.ownership.assign(
                    view.application_id, entry.owner_account_id, self.actor
                )

        self.step("update", "application", ref, run, *changes)

    # tenants

    def tenants(self) -> None:
        declared = self.source.document.tenants
        named = {t.tenant_id for t in declared if t.tenant_id}
        free = [t for t in self.current.tenants.values() if t.tenant_id not in named]
        for i, entry in enumerate(declared):
            path = ("tenants", i)
            view = self._match_tenant(path, entry, free)
            if view is False:
                continue
            ref = Ref(view.tenant_id if view else None, f'"{entry.name}"')
            if view is None:
                self._create_tenant(ref, entry)
            else:
                self._update_tenant(ref, entry, view)
            self._apps(ref, entry, view)
            self._roles(ref, entry, view)
            self._api_users(path, ref, entry, view)

    def _match_tenant(
        self, path: tuple[str | int, ...], entry: DeclaredTenant, free: list[TenantView]
    ) -> TenantView | Literal[False] | None:
        if entry.tenant_id is not None:
            view = self.current.tenants.get(entry.tenant_id)
            if view is None:
                self.problem(
                    (*path, "tenant_id"),
                    f"no tenant {entry.tenant_id} (leave tenant_id out to create one)",
                )
                return False
            return view
        same = [t for t in free if t.name == entry.name]
        if len(same) > 1:
            self.problem(
                (*path, "name"), f"{len(same)} tenants are named {entry.name!r}: give tenant_id"
            )
            return False
        return same[0] if same else None

    def _create_tenant(self, ref: Ref, entry: DeclaredTenant) -> None:
        async def run(services: Services) -> None:
            view = await services.registry.create_tenant(
                entry.name, entry.region, entry.cluster, self.actor
            )
            ref.id = view.tenant_id
            if entry.status != "active":
                await services.registry.update_tenant(
                    view.tenant_id, self.actor, status=entry.status
                )

        self.step("create", "tenant", ref, run)

    def _update_tenant(self, ref: Ref, entry: DeclaredTenant, view: TenantView) -> None:
        changes = [
            Change(name, getattr(view, name), getattr(entry, name))
            for name in ("name", "region", "cluster", "status")
            if getattr(entry, name) != getattr(view, name)
        ]
        if not changes:
            return

        async def run(services: Services) -> None:
            fields = {c.field: c.new for c in changes}
            await services.registry.update_tenant(view.tenant_id, self.actor, **fields)

        self.step("update", "tenant", ref, run, *changes)

    def _apps(self, tenant: Ref, entry: DeclaredTenant, view: TenantView | None) -> None:
        have = {a.name: a for a in view.apps} if view else {}
        for name, app in entry.apps.items():
            old = have.get(name)
            target = f"{name} on tenant {tenant}"
            if old is not None and (old.graphql_url, old.websocket_url) == (
                app.graphql_url,
                app.websocket_url,
            ):
                continue

            async def put(services: Services, name: str = name, app: Any = app) -> None:
                assert tenant.id is not None
                await services.registry.put_app(
                    tenant.id, name, app.graphql_url, app.websocket_url, self.actor
                )

            if old is None:
                self.step("create", "app", target, put)
                continue
            changes = [
                Change(f, getattr(old, f), getattr(app, f))
                for f in ("graphql_url", "websocket_url")
                if getattr(old, f) != getattr(app, f)
            ]
            self.step("update", "app", target, put, *changes)
        if not self.prune:
            return
        for name in have.keys() - entry.apps.keys():

            async def delete(services: Services, name: str = name) -> None:
                assert tenant.id is not None
                await services.registry.delete_app(tenant.id, name, self.actor)

            self.step("delete", "app", f"{name} on tenant {tenant}", delete)

    def _roles(self, tenant: Ref, entry: DeclaredTenant, view: TenantView | None) -> None:
        have = self.current.roles.get(view.tenant_id, {}) if view else {}
        for name, role in entry.roles.items():
            old = have.get(name)
            if old is not None and (old.description, old.grants) == (role.description, role.grants):
                continue

            async def put(services: Services, name: str = name, role: Any = role) -> None:
                assert tenant.id is not None
                await services.registry.roles.put(
                    tenant.id, name, self.actor, grants=role.grants, description=role.description
                )

            changes = [
                Change(f, getattr(old, f), getattr(role, f))
                for f in ("description", "grants")
                if old is not None and getattr(old, f) != getattr(role, f)
            ]
            action: Action = "create" if old is None else "update"
            self.step(action, "role", f"{name} on tenant {tenant}", put, *changes)
        if not self.prune:
            return
        for name in have.keys() - entry.roles.keys():

            async def delete(services: Services, name: str = name) -> None:
                assert tenant.id is not None
                await services.registry.roles.delete(tenant.id, name, self.actor)

            self.step("delete", "role", f"{name} on tenant {tenant}", delete)

    def _api_users(
        self,
        path: tuple[str | int, ...],
        tenant: Ref,
        entry: DeclaredTenant,
        view: TenantView | None,
    ) -> None:
        have = self.current.api_users.get(view.tenant_id, {}) if view else {}
        kept: set[str] = set()
        for j, user in enumerate(entry.api_users):
            application = self._application_ref((*path, "api_users", j), user)
            if application is None:
                continue
            if application.id is not None:
                kept.add(application.id)
            old = have.get(application.id) if application.id else None
            self._api_user(tenant, application, user, old)
        if not self.prune:
            return
        for application_id in have.keys() - kept:

            async def delete(services: Services, application_id: str = application_id) -> None:
                assert tenant.id is not None
                await services.registry.delete_api_user(tenant.id, application_id, self.actor)

            self.step("delete", "api_user", f"of {application_id} on tenant {tenant}", delete)

    def _application_ref(self, path: tuple[str | int, ...], user: DeclaredApiUser) -> Ref | None:
        if user.application_id is not None:
            view = self.current.applications.get(user.application_id)
            if view is None:
                self.problem((*path, "application_id"), f"no application {user.application_id}")
                return None
            return Ref(view.application_id, f'"{view.name}"')
        assert user.application is not None
        ref = self.by_name.get(user.application)
        if ref is AMBIGUOUS:
            self.problem(
                (*path, "application"),
                f"two applications of this file are named "
                f"{user.application!r}: give application_id",
            )
            return None
        if ref is None:
            same = [a for a in self.current.applications.values() if a.name == user.application]
            if len(same) != 1:
                many = f"{len(same)} applications are" if same else "no application is"
                self.problem((*path, "application"), f"{many} named {user.application!r}")
                return None
            ref = Ref(same[0].application_id, f'"{same[0].name}"')
        return ref

    def _api_user(
        self, tenant: Ref, application: Ref, user: DeclaredApiUser, old: ApiUserView | None
    ) -> None:
        fields = ("first_name", "last_name", "enabled", "apps", "roles")
        changes = [
            Change(f, getattr(old, f), getattr(user, f))
            for f in fields
            if old is not None and getattr(old, f) != getattr(user, f)
        ]
        if old is not None and not changes:
            return

        async def put(services: Services) -> None:
            assert tenant.id is not None and application.id is not None
            await services.registry.put_api_user(
                tenant.id,
                application.id,
                self.actor,
                first_name=user.first_name,
                last_name=user.last_name,
                enabled=user.enabled,
                apps=user.apps,
                roles=user.roles,
            )

        action: Action = "create" if old is None else "update"
        self.step(action, "api_user", f"of {application} on tenant {tenant}", put, *changes)
