"""A tenant admin writes the tenant's roles in the console: fields picked from each app's own
schema (read by introspection, or typed in when the upstream cannot tell), what each role
allows at a glance, roles given to API users, and a role that is held cannot be deleted."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tenantgate.console.schemas import QUERY
from tenantgate.proof import GatewayProof
from tests.console.visitor import Visitor


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def tenant(services):
    registry = services.registry
    tenant = await registry.create_tenant("Acme", "eu", "cluster-a", "test")
    await registry.put_app(
        tenant.tenant_id, "sdmo", "http://127.0.0.1:9/refapps/sdmo/graphql", None, "test"
    )
    return tenant


@pytest.fixture
async def admin(visitors, new_account, tenant) -> Visitor:
    visitor = visitors()
    await visitor.sign_in(await new_account("tenant_admin", (tenant.tenant_id,)))
    return visitor


def roles_of(tenant) -> str:
    return f"/console/tenants/{tenant.tenant_id}/roles"


def grant(i: int, app: str, *ops: str, fields=(), every=False, more="") -> dict[str, object]:
    return {
        f"g{i}-app": app,
        f"g{i}-op": list(ops),
        f"g{i}-scope": "all" if every else "some",
        f"g{i}-field": list(fields),
        f"g{i}-more": more,
    }


async def test_a_tenant_admin_creates_a_role_from_the_apps_fields(admin, tenant, services):
    editor = await admin.get(f"/console/tenants/{tenant.tenant_id}/new-role")
    assert editor.status_code == 200
    for offered in ('value="items"', 'value="stockLevels"', 'value="createSalesOrder"'):
        assert offered in editor.text

    form = {"do": "save", "name": "stock-reader", "description": "Reads stock", "rows": "1"}
    created = await admin.submit(
        f"/console/tenants/{tenant.tenant_id}/new-role",
        form | grant(0, "sdmo", "query", fields=["items", "stockLevels"]),
    )

    assert created.status_code == 303
    assert "Role created" in admin.page.text
    assert "query: items, stockLevels" in admin.page.text
    role = await services.registry.roles.get(tenant.tenant_id, "stock-reader")
    assert role.description == "Reads stock"
    assert role.grants == [
        {"app": "sdmo", "operations": ["query"], "fields": ["items", "stockLevels"]}
    ]


async def test_the_editor_adds_and_removes_grants_without_saving_then_saves(
    admin, tenant, services
):
    await services.registry.roles.put(
        tenant.tenant_id, "clerk", "test", grants=[{"app": "sdmo", "operations": ["query"],
                                                     "fields": ["items", "oldField"]}]
    )  # fmt: skip
    path = f"{roles_of(tenant)}/clerk"
    shown = await admin.get(path)
    assert 'value="items" checked' in shown.text
    assert 'value="oldField"' in shown.text  # not in the schema: kept as typed

    kept = grant(0, "sdmo", "query", fields=["items"], more="oldField")
    added = await admin.submit(path, {"do": "add", "add_app": "sdmo", "rows": "1"} | kept)
    assert added.status_code == 200 and "Grant 2" in added.text
    assert (await services.registry.roles.get(tenant.tenant_id, "clerk")).grants[0]["fields"] == [
        "items",
        "oldField",
    ]

    both = kept | grant(1, "sdmo", "mutation", fields=["adjustStock"])
    removed = await admin.submit(path, {"do": "remove:0", "rows": "2"} | both)
    assert "Grant 2" not in removed.text and 'value="adjustStock" checked' in removed.text

    saved = await admin.submit(path, {"do": "save", "rows": "2"} | both)
    assert saved.status_code == 303
    role = await services.registry.roles.get(tenant.tenant_id, "clerk")
    assert role.grants == [
        {"app": "sdmo", "operations": ["query"], "fields": ["items", "oldField"]},
        {"app": "sdmo", "operations": ["mutation"], "fields": ["adjustStock"]},
    ]


async def test_a_grant_the_registry_refuses_is_shown_with_the_form_kept(admin, tenant):
    path = f"/console/tenants/{tenant.tenant_id}/new-role"
    await admin.get(path)
    refused = await admin.submit(
        path,
        {"do": "save", "name": "loose", "rows": "1"} | grant(0, "sdmo", fields=["items"]),
    )
    assert refused.status_code == 400
    assert "Grant 1 (sdmo): operations: a non-empty list" in refused.text
    assert 'value="loose"' in refused.text and 'value="items" checked' in refused.text


async def test_an_unreachable_upstream_is_said_and_fields_are_typed_in(admin, tenant, services):
    url = f"http://127.0.0.1:{closed_port()}/graphql"
    await services.registry.put_app(tenant.tenant_id, "erp", url, None, "test")
    path = f"/console/tenants/{tenant.tenant_id}/new-role"

    editor = await admin.get(path)
    assert "The upstream of erp cannot be reached." in editor.text
    assert "type the root-field names" in editor.text

    form = {"do": "save", "name": "erp-user", "rows": "1"}
    await admin.submit(path, form | grant(0, "erp", "query", more="invoices, orders"))
    role = await services.registry.roles.get(tenant.tenant_id, "erp-user")
    assert role.grants[0]["fields"] == ["invoices", "orders"]


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def upstream(proof: GatewayProof, seen: list[str] | None = None) -> Starlette:
    """Describes its schema only to tenantgate: the proof of the tenant, the app and the
    console's request id. ``seen``: the tenants it was asked for."""

    async def graphql(request: Request) -> Response:
        body = await request.json()
        if seen is not None:
            seen.append(request.headers["x-tenant-id"])
        jti = "console:" + request.headers["x-request-id"]
        if body["query"] != QUERY or not proof.admits(request.headers, "erp", jti):
            return JSONResponse({"errors": [{"message": "no"}]}, status_code=403)
        fields = [{"name": "invoices", "description": "Open invoices"}, {"name": "orders"}]
        mutations = [{"name": "payInvoice", "description": None}]
        data = {"queryType": {"fields": fields}, "mutationType": {"fields": mutations}}
        return JSONResponse({"data": {"__schema": data | {"subscriptionType": None}}})

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


async def test_the_fields_come_from_the_upstream_which_sees_the_gateways_proof(
    admin, tenant, services
):
    seen: list[str] = []
    with serving(upstream(services.gateway_proof, seen)) as base:
        await services.registry.put_app(tenant.tenant_id, "erp", f"{base}/graphql", None, "t")
        editor = await admin.get(f"/console/tenants/{tenant.tenant_id}/new-role")

    assert seen == [tenant.tenant_id]
    assert 'value="invoices"' in editor.text and 'title="Open invoices"' in editor.text
    assert 'value="payInvoice"' in editor.text
    assert "The upstream of erp" not in editor.text


async def test_an_upstream_that_refuses_is_said(admin, tenant, services):
    with serving(upstream(GatewayProof(b"another key"))) as base:
        await services.registry.put_app(tenant.tenant_id, "erp", f"{base}/graphql", None, "t")
        editor = await admin.get(f"/console/tenants/{tenant.tenant_id}/new-role")
    assert "The upstream of erp refused to describe its schema (HTTP 403)." in editor.text
    assert 'value="invoices"' not in editor.text


async def test_roles_are_given_to_an_api_user_and_a_held_role_is_not_deleted(
    admin, tenant, services
):
    registry = services.registry
    await registry.roles.put(
        tenant.tenant_id, "reader", "test",
        grants=[{"app": "sdmo", "operations": ["query"], "fields": ["*"]}],
    )  # fmt: skip
    application, _ = await registry.create_application("Integration", "test")
    await registry.put_api_user(
        tenant.tenant_id, application.application_id, "test", first_name="A", last_name="B"
    )
    user_path = f"/console/tenants/{tenant.tenant_id}/api-users/{application.application_id}"
    page = await admin.get(user_path)
    assert 'id="role-reader"' in page.text
    assert 'id="access-apps" name="access" value="apps" checked' in page.text

    await admin.submit(user_path, {"scope": "all", "access": "roles", "roles": ["reader"]})
    user = await registry.get_api_user(tenant.tenant_id, application.application_id)
    assert user.roles == ["reader"]
    assert "roles: reader" in (await admin.get(f"/console/tenants/{tenant.tenant_id}")).text
    await admin.submit(user_path, {"scope": "all", "first_name": "Renamed"})  # no access: kept
    user = await registry.get_api_user(tenant.tenant_id, application.application_id)
    assert (user.first_name, user.roles) == ("Renamed", ["reader"])

    await admin.get(f"{roles_of(tenant)}/reader/delete")
    refused = await admin.submit(f"{roles_of(tenant)}/reader/delete")
    assert refused.status_code == 409
    assert (
        f"The role reader is not deleted: the API user of application "
        f"{application.application_id} holds this role." in refused.text
    )

    await admin.submit(user_path, {"scope": "all", "access": "apps"})
    assert (await registry.get_api_user(tenant.tenant_id, application.application_id)).roles is None
    await admin.get(f"{roles_of(tenant)}/reader/delete")
    deleted = await admin.submit(f"{roles_of(tenant)}/reader/delete")
    assert deleted.status_code == 303 and "Role deleted." in admin.page.text


async def test_only_the_tenants_admins_and_operators_reach_its_roles(
    visitors, new_account, developer, operator, tenant, services
):
    await services.registry.roles.put(tenant.tenant_id, "reader", "test", grants=[])
    stranger = visitors()
    other = await services.registry.create_tenant("Other", "eu", "cluster-a", "test")
    await stranger.sign_in(await new_account("tenant_admin", (other.tenant_id,)))
    for path in (roles_of(tenant), f"{roles_of(tenant)}/reader"):
        assert (await stranger.get(path)).status_code == 404
        assert (await developer.get(path)).status_code == 403
        assert (await operator.get(path)).status_code == 200
    await stranger.get(roles_of(other))
    assert (await stranger.submit(f"{roles_of(tenant)}/reader/delete")).status_code == 404
    no_token = await operator.client.post(f"{roles_of(tenant)}/reader/delete")
    assert no_token.status_code == 403
    assert (await services.registry.roles.get(tenant.tenant_id, "reader")).name == "reader"


async def test_a_slow_upstream_is_given_up_after_the_upstream_timeout(services):
    from tenantgate.console.schemas import SchemaReader

    async def slow(_request: Request) -> Response:
        await asyncio.sleep(2)
        return JSONResponse({})

    app = Starlette(routes=[Route("/graphql", slow, methods=["POST"])])
    with serving(app) as base:
        reader = SchemaReader(services.gateway_proof, 0.2)
        fields = await reader.read("t", "erp", f"{base}/graphql")
    assert fields.problem == "The upstream of erp did not answer within 0.2 s."
    assert fields.fields == {}
