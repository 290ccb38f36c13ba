"""A tenant admin names what its API users may do: roles, each a list of grants of an app's
operation types and root fields. Roles are written, read, listed and deleted over the admin
API, checked strictly, and reach every node through the change feed."""

from __future__ import annotations

import asyncio
import time

import pytest

from tenantgate.registry.grants import Grant
from tests import factories as f
from tests.tokens.servers import running

READER = {
    "description": "Reads stock",
    "grants": [{"app": "sdmo", "operations": ["query"], "fields": ["stockLevels", "items"]}],
}


def role_path(tenant_id: str, role: str = "stock-reader") -> str:
    return f"/admin/v1/tenants/{tenant_id}/roles/{role}"


async def test_a_role_is_created_replaced_read_listed_and_deleted(client):
    tenant = (await f.tenant(client, f.DEFAULT_APPS))["tenant_id"]
    writer = {"grants": [{"app": "sdmo", "operations": ["mutation", "query"], "fields": ["*"]}]}

    created = await client.put(role_path(tenant), json=READER, headers=f.ADMIN)
    replaced = await client.put(role_path(tenant), json=writer, headers=f.ADMIN)
    await client.put(role_path(tenant, "a.first_role"), json=READER, headers=f.ADMIN)

    assert created.status_code == 201
    body = created.json()
    assert body["tenant_id"] == tenant
    assert body["name"] == "stock-reader"
    assert body["description"] == "Reads stock"
    assert body["grants"] == [
        {"app": "sdmo", "operations": ["query"], "fields": ["items", "stockLevels"]}
    ]
    assert body["created_at"] and body["updated_at"]
    assert replaced.status_code == 200
    shown = (await client.get(role_path(tenant), headers=f.ADMIN)).json()
    assert shown["description"] == ""
    assert shown["grants"] == [
        {"app": "sdmo", "operations": ["query", "mutation"], "fields": ["*"]}
    ]
    listed = await client.get(f"/admin/v1/tenants/{tenant}/roles", headers=f.ADMIN)
    assert [r["name"] for r in listed.json()] == ["a.first_role", "stock-reader"]

    deleted = await client.delete(role_path(tenant), headers=f.ADMIN)

    assert deleted.status_code == 204
    assert (await client.get(role_path(tenant), headers=f.ADMIN)).status_code == 404
    assert (await client.delete(role_path(tenant), headers=f.ADMIN)).status_code == 404


async def test_roles_are_listed_a_page_at_a_time_by_name(client):
    tenant = (await f.tenant(client, f.DEFAULT_APPS))["tenant_id"]
    for name in ("c", "a", "b"):
        await client.put(role_path(tenant, name), json=READER, headers=f.ADMIN)

    first = await client.get(f"/admin/v1/tenants/{tenant}/roles?limit=2", headers=f.ADMIN)
    cursor = first.headers["x-next-cursor"]
    rest = await client.get(
        f"/admin/v1/tenants/{tenant}/roles?limit=2&cursor={cursor}", headers=f.ADMIN
    )

    assert [r["name"] for r in first.json()] == ["a", "b"]
    assert [r["name"] for r in rest.json()] == ["c"]
    assert "x-next-cursor" not in rest.headers


@pytest.mark.parametrize(
    "name", ["Stock", "stock reader", "x" * 64, "stock/reader", "caf\u00e9", "%2e"]
)
async def test_a_malformed_role_name_is_a_400(client, name):
    tenant = (await f.tenant(client, f.DEFAULT_APPS))["tenant_id"]

    response = await client.put(role_path(tenant, name), json=READER, headers=f.ADMIN)

    assert response.status_code in (400, 404)
    assert response.json()["error"] in ("invalid_request", "not_found")


async def test_role_names_take_letters_digits_dots_underscores_and_dashes(client):
    tenant = (await f.tenant(client, f.DEFAULT_APPS))["tenant_id"]
    name = "a1._-" + "z" * 58

    response = await client.put(role_path(tenant, name), json=READER, headers=f.ADMIN)

    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


@pytest.mark.parametrize(
    ("grant", "says"),
    [
        ({"app": "erp", "operations": ["query"], "fields": ["*"]}, "no app 'erp'"),
        ({"app": "sdmo", "operations": ["delete"], "fields": ["*"]}, "operations"),
        ({"app": "sdmo", "operations": [], "fields": ["*"]}, "operations"),
        ({"app": "sdmo", "operations": ["query"], "fields": []}, "fields"),
        ({"app": "sdmo", "operations": ["query"], "fields": ["*", "items"]}, "stands alone"),
        ({"app": "sdmo", "operations": ["query"], "fields": ["items { id }"]}, "root-field"),
        ({"app": "sdmo", "operations": ["query"], "fields": ["__schema"]}, "root-field"),
        ({"app": "sdmo", "operations": ["query"]}, "fields"),
        ({"app": "sdmo", "operations": ["query"], "fields": ["*"], "x": 1}, "x"),
        ({"app": "Sdmo", "operations": ["query"], "fields": ["*"]}, "app name"),
    ],
)
async def test_unknown_apps_and_malformed_grants_are_a_400(client, grant, says):
    tenant = (await f.tenant(client, f.DEFAULT_APPS))["tenant_id"]

    response = await client.put(role_path(tenant), json={"grants": [grant]}, headers=f.ADMIN)

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    assert says in body["error_description"]
    assert (await client.get(role_path(tenant), headers=f.ADMIN)).status_code == 404


async def test_roles_of_an_unknown_tenant_are_a_404(client):
    for response in (
        await client.put(role_path("no-such-tenant"), json=READER, headers=f.ADMIN),
        await client.get(role_path("no-such-tenant"), headers=f.ADMIN),
        await client.get("/admin/v1/tenants/no-such-tenant/roles", headers=f.ADMIN),
        await client.delete(role_path("no-such-tenant"), headers=f.ADMIN),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


async def test_role_writes_are_audited(client):
    tenant = (await f.tenant(client, f.DEFAULT_APPS))["tenant_id"]
    await client.put(role_path(tenant), json=READER, headers=f.ADMIN)
    await client.put(role_path(tenant), json=READER, headers=f.ADMIN)
    await client.delete(role_path(tenant), headers=f.ADMIN)

    events = await client.get(f"/admin/v1/audit?tenant_id={tenant}&kind=role.*", headers=f.ADMIN)

    kinds = [e["kind"] for e in events.json()]
    assert kinds == ["role.deleted", "role.updated", "role.created"]
    assert events.json()[-1]["detail"]["role"] == "stock-reader"


async def test_a_role_written_on_one_node_reaches_another_through_the_change_feed(client, settings):
    tenant = (await f.tenant(client, f.DEFAULT_APPS))["tenant_id"]
    fast = settings.model_copy(update={"change_poll_interval": 0.1, "refapps": False})
    async with running(fast) as other:
        await client.put(role_path(tenant), json=READER, headers=f.ADMIN)
        assert await _seen(other.state.roles, (tenant, "stock-reader"))
        assert other.state.roles[(tenant, "stock-reader")].grants == (
            Grant("sdmo", ("query",), ("items", "stockLevels")),
        )

        await client.delete(role_path(tenant), headers=f.ADMIN)

        assert await _seen(other.state.roles, (tenant, "stock-reader"), present=False)


async def _seen(table: dict, key: object, *, present: bool = True, within: float = 2.0) -> bool:
    deadline = time.monotonic() + within
    while (key in table) is not present:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def api_user_path(tenant_id: str, application_id: str) -> str:
    return f"/admin/v1/tenants/{tenant_id}/api-users/{application_id}"


async def test_an_api_user_holds_roles_of_its_tenant(client):
    setup = await f.accepted_setup(client)
    path = api_user_path(setup.tenant_id, setup.application_id)
    for name in ("stock-reader", "auditor"):
        await client.put(role_path(setup.tenant_id, name), json=READER, headers=f.ADMIN)
    user = {"first_name": "Api", "last_name": "User"}

    holding = await client.put(
        path, json={**user, "roles": ["stock-reader", "auditor", "auditor"]}, headers=f.ADMIN
    )
    shown = await client.get(path, headers=f.ADMIN)
    unknown = await client.put(path, json={**user, "roles": ["admin"]}, headers=f.ADMIN)
    malformed = await client.put(path, json={**user, "roles": ["Admin"]}, headers=f.ADMIN)

    assert holding.status_code == 200
    assert holding.json()["roles"] == ["auditor", "stock-reader"]
    assert shown.json()["roles"] == ["auditor", "stock-reader"]
    assert unknown.status_code == 400
    assert unknown.json() == {
        "error": "invalid_request",
        "error_description": "roles: this tenant has no role 'admin'",
    }
    assert malformed.status_code == 400
    assert (await client.get(path, headers=f.ADMIN)).json()["roles"] == ["auditor", "stock-reader"]

    dropped = await client.put(path, json=user, headers=f.ADMIN)

    assert dropped.json()["roles"] is None


async def test_a_role_of_another_tenant_cannot_be_held(client):
    setup = await f.accepted_setup(client)
    other = (await f.tenant(client, f.DEFAULT_APPS))["tenant_id"]
    await client.put(role_path(other), json=READER, headers=f.ADMIN)

    response = await client.put(
        api_user_path(setup.tenant_id, setup.application_id),
        json={"first_name": "Api", "last_name": "User", "roles": ["stock-reader"]},
        headers=f.ADMIN,
    )

    assert response.status_code == 400


async def test_a_role_cannot_be_deleted_while_an_api_user_holds_it(client):
    setup = await f.accepted_setup(client)
    path = api_user_path(setup.tenant_id, setup.application_id)
    await client.put(role_path(setup.tenant_id), json=READER, headers=f.ADMIN)
    user = {"first_name": "Api", "last_name": "User", "enabled": False}
    await client.put(path, json={**user, "roles": ["stock-reader"]}, headers=f.ADMIN)

    refused = await client.delete(role_path(setup.tenant_id), headers=f.ADMIN)

    assert refused.status_code == 409
    assert refused.json()["error"] == "conflict"
    assert setup.application_id in refused.json()["error_description"]
    assert (await client.get(role_path(setup.tenant_id), headers=f.ADMIN)).status_code == 200

    await client.delete(path, headers=f.ADMIN)

    assert (await client.delete(role_path(setup.tenant_id), headers=f.ADMIN)).status_code == 204


async def test_the_roles_an_api_user_holds_reach_another_node(client, settings):
    setup = await f.accepted_setup(client)
    await client.put(role_path(setup.tenant_id), json=READER, headers=f.ADMIN)
    fast = settings.model_copy(update={"change_poll_interval": 0.1, "refapps": False})
    async with running(fast) as other:
        key = (setup.tenant_id, setup.application_id)
        await client.put(
            api_user_path(*key),
            json={"first_name": "Api", "last_name": "User", "roles": ["stock-reader"]},
            headers=f.ADMIN,
        )
        deadline = time.monotonic() + 2
        while other.state.api_users[key].roles is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

        assert other.state.api_users[key].roles == ("stock-reader",)
        permissions = other.state.permissions(other.state.api_users[key])
        assert permissions is not None
        assert permissions.refused("sdmo", "query", ["items"], "items") is None
