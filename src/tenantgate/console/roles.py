"""A tenant's roles in the console, for its tenant admins and operators: the list, with what
each role allows at a glance; the editor, whose grants pick fields from each app's own schema
(``console.schemas``), or take them typed in when it cannot be read; and delete, refused
while an API user holds the role. Roles change through the same registry calls as the admin
API, so the gateway obeys a change from the next request on.

The editor works without JavaScript: a grant is a row of the form (its app fixed, since the
fields offered are that app's), and *Add a grant* and *Remove* submit the form to show it
again, changed and not saved, with everything typed so far."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from tenantgate.console.errors import Conflict, InvalidInput, NotFound
from tenantgate.console.schemas import OPERATION_TYPES, RootFields, SchemaReader
from tenantgate.console.tenants import ROLES, TENANT, _mine
from tenantgate.console.web import PAGE_SIZE, Call, Console
from tenantgate.registry.grants import ALL_FIELDS, MAX_GRANTS, ROLE_NAME
from tenantgate.registry.views import RoleView, TenantView

ROLE = TENANT + "/roles/{role:str}"
NEW_ROLE = TENANT + "/new-role"
SEPARATORS = re.compile(r"[\s,]+")
GRANT_INDEX = re.compile(r"^grants\[(\d+)\]")


def routes(console: Console) -> list[Route]:
    page, action = console.page, console.action
    return [
        Route(TENANT + "/roles", page(roles_page, *ROLES), methods=["GET"]),
        Route(NEW_ROLE, page(new_role_page, *ROLES), methods=["GET"]),
        Route(NEW_ROLE, action(create_role, *ROLES, retry=new_role_page), methods=["POST"]),
        Route(ROLE, page(role_page, *ROLES), methods=["GET"]),
        Route(ROLE, action(save_role, *ROLES, retry=role_page), methods=["POST"]),
        Route(ROLE + "/delete", page(delete_role_page, *ROLES), methods=["GET"]),
        Route(ROLE + "/delete", action(delete_role, *ROLES, retry=roles_page), methods=["POST"]),
    ]


@dataclass
class GrantRow:
    """One grant as the editor shows it: the fields the schema offers are ticked, the others
    typed in."""

    app: str
    operations: set[str] = field(default_factory=set)
    every_field: bool = False
    fields: set[str] = field(default_factory=set)
    more: str = ""

    def as_grant(self) -> dict[str, object]:
        fields = [ALL_FIELDS] if self.every_field else sorted(self.fields | _names(self.more))
        operations = [kind for kind in OPERATION_TYPES if kind in self.operations]
        return {"app": self.app, "operations": operations, "fields": fields}

    @property
    def blank(self) -> bool:
        return not self.operations and not self.every_field and not self.fields and not self.more

    @classmethod
    def of(cls, grant: Mapping[str, Any], offered: set[str]) -> GrantRow:
        fields = set(grant["fields"])
        every = ALL_FIELDS in fields
        ticked = set() if every else fields & offered
        typed = "" if every else ", ".join(sorted(fields - offered))
        return cls(str(grant["app"]), set(grant["operations"]), every, ticked, typed)


def summary(grants: Iterable[Mapping[str, Any]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """What a role allows, app by app: each grant as (operation types, fields)."""
    apps: dict[str, list[tuple[str, str]]] = {}
    for grant in grants:
        fields = list(grant["fields"])
        shown = "every root field" if fields == [ALL_FIELDS] else ", ".join(fields)
        apps.setdefault(str(grant["app"]), []).append((", ".join(grant["operations"]), shown))
    return sorted(apps.items())


async def roles_page(call: Call) -> Response:
    tenant = await _mine(call)
    page = await call.services.registry.roles.list(
        tenant.tenant_id, cursor=call.cursor, limit=PAGE_SIZE
    )
    rows = [(role, summary(role.grants)) for role in page.items]
    return call.render("roles.html", tenant=tenant, rows=rows, page=page)


async def new_role_page(call: Call) -> Response:
    tenant = await _mine(call)
    return await _editor(call, tenant, None)


async def role_page(call: Call) -> Response:
    tenant = await _mine(call)
    return await _editor(call, tenant, await _role(call, tenant))


async def create_role(call: Call) -> Response:
    tenant = await _mine(call)
    if call.value("do") != "save":
        return await _editor(call, tenant, None)
    name = call.value("name")
    registry = call.services.registry
    if ROLE_NAME.fullmatch(name):
        try:
            await registry.roles.get(tenant.tenant_id, name)
        except NotFound:
            pass
        else:
            raise Conflict(f"This tenant already has a role {name}; edit that one instead.")
    await _put(call, tenant, name)
    return call.redirect(f"/tenants/{tenant.tenant_id}/roles", notice="role-created")


async def save_role(call: Call) -> Response:
    tenant = await _mine(call)
    role = await _role(call, tenant)
    if call.value("do") != "save":
        return await _editor(call, tenant, role)
    await _put(call, tenant, role.name)
    return call.redirect(f"/tenants/{tenant.tenant_id}/roles", notice="role-saved")


async def delete_role_page(call: Call) -> Response:
    tenant = await _mine(call)
    role = await _role(call, tenant)
    path = f"/tenants/{tenant.tenant_id}/roles/{role.name}"
    return call.render(
        "confirm.html",
        title=f"Delete the role {role.name}?",
        message="The role and its grants go away. While an API user holds it, it cannot be "
        "deleted: take it from that API user first.",
        action=path + "/delete",
        button="Delete role",
        back=path,
    )


async def delete_role(call: Call) -> Response:
    tenant = await _mine(call)
    role = await _role(call, tenant)
    try:
        await call.services.registry.roles.delete(tenant.tenant_id, role.name, call.account.actor)
    except Conflict as error:
        raise Conflict(
            f"The role {role.name} is not deleted: {error.description}. "
            "Take the role from that API user first."
        ) from None
    return call.redirect(f"/tenants/{tenant.tenant_id}/roles", notice="role-deleted")


async def _put(call: Call, tenant: TenantView, name: str) -> None:
    rows = [row for row in _rows_of_form(call) if not row.blank]
    try:
        await call.services.registry.roles.put(
            tenant.tenant_id,
            name,
            call.account.actor,
            grants=[row.as_grant() for row in rows],
            description=call.value("description"),
        )
    except InvalidInput as error:
        raise InvalidInput(_readable(error.description, rows)) from None


def _readable(description: str, rows: Sequence[GrantRow]) -> str:
    """``grants[1].fields: …`` as ``Grant 2 (sdmo): fields: …``."""
    found = GRANT_INDEX.match(description)
    if found is None:
        return description
    index = int(found.group(1))
    app = f" ({rows[index].app})" if index < len(rows) else ""
    return f"Grant {index + 1}{app}: " + description[found.end() :].lstrip(".")


async def _editor(call: Call, tenant: TenantView, role: RoleView | None) -> Response:
    apps = {app.name: app.graphql_url for app in tenant.apps}
    reader = SchemaReader(call.services.gateway_proof, call.console.settings.upstream_timeout)
    schemas = await reader.read_all(tenant.tenant_id, apps)
    if call.form is not None:
        rows = [_settled(row, schemas) for row in _edited(call, _rows_of_form(call), set(apps))]
    elif role is not None:
        rows = [GrantRow.of(g, _offered(schemas, str(g["app"]))) for g in role.grants]
    else:
        rows = [GrantRow(_first(apps, schemas))] if apps else []
    return call.render(
        "role.html",
        tenant=tenant,
        role=role,
        name=call.value("name") if role is None else role.name,
        description=call.value("description") if call.form is not None else _text(role),
        rows=rows,
        schemas=schemas,
        operation_types=OPERATION_TYPES,
        can_add=len(rows) < MAX_GRANTS,
        unreachable=[s.problem for s in schemas.values() if s.problem],
    )


def _edited(call: Call, rows: list[GrantRow], apps: set[str]) -> list[GrantRow]:
    """The rows after *Add a grant* (for ``add_app``) or *Remove* (``remove:<index>``)."""
    action = call.value("do")
    if action == "add" and call.value("add_app") in apps and len(rows) < MAX_GRANTS:
        rows.append(GrantRow(call.value("add_app")))
    elif action.startswith("remove:") and action[7:].isdigit():
        index = int(action[7:])
        rows = [row for i, row in enumerate(rows) if i != index]
    return rows


def _rows_of_form(call: Call) -> list[GrantRow]:
    count = call.value("rows")
    rows = []
    for i in range(min(int(count) if count.isdigit() else 0, MAX_GRANTS)):
        app = call.value(f"g{i}-app")
        if not app:
            continue
        rows.append(
            GrantRow(
                app,
                set(call.values(f"g{i}-op")) & set(OPERATION_TYPES),
                call.value(f"g{i}-scope") == "all",
                set(call.values(f"g{i}-field")),
                call.value(f"g{i}-more"),
            )
        )
    return rows


def _first(apps: Mapping[str, str], schemas: Mapping[str, RootFields]) -> str:
    """The app of a new role's first grant: the first whose fields could be read."""
    return next((app for app in apps if not schemas[app].problem), next(iter(apps)))


def _settled(row: GrantRow, schemas: Mapping[str, RootFields]) -> GrantRow:
    """Ticked fields the schema no longer offers move to the typed ones, so none is lost."""
    offered = _offered(schemas, row.app)
    gone = row.fields - offered
    if gone:
        row.fields &= offered
        row.more = ", ".join(sorted(gone | _names(row.more)))
    return row


def _offered(schemas: Mapping[str, RootFields], app: str) -> set[str]:
    fields = schemas.get(app)
    return fields.all_names if fields is not None else set()


def _names(text: str) -> set[str]:
    return {name for name in SEPARATORS.split(text) if name}


def _text(role: RoleView | None) -> str:
    return role.description if role is not None else ""


async def _role(call: Call, tenant: TenantView) -> RoleView:
    name = call.param("role")
    if not ROLE_NAME.fullmatch(name):
        raise NotFound("This tenant has no such role.")
    try:
        return await call.services.registry.roles.get(tenant.tenant_id, name)
    except NotFound:
        raise NotFound("This tenant has no such role.") from None
