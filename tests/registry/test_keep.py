"""The console, the CLI and configuration as code write API users and apps without naming
their roles or limits: such a write keeps them, where the admin API's PUT replaces them."""

from __future__ import annotations

from tests import factories as f

ROLE = {"grants": [{"app": "sdmo", "operations": ["query"], "fields": ["*"]}]}


async def test_a_write_that_does_not_name_roles_keeps_them(client, services):
    setup = await f.accepted_setup(client)
    tenant, application = setup.tenant_id, setup.application_id
    await client.put(f"/admin/v1/tenants/{tenant}/roles/reader", json=ROLE, headers=f.ADMIN)
    user = {"first_name": "Api", "last_name": "User"}
    path = f"/admin/v1/tenants/{tenant}/api-users/{application}"
    await client.put(path, json={**user, "roles": ["reader"]}, headers=f.ADMIN)

    kept, _ = await services.registry.put_api_user(
        tenant, application, "cli", first_name="Renamed", last_name="User"
    )
    replaced = await client.put(path, json=user, headers=f.ADMIN)

    assert kept.roles == ["reader"]
    assert services.state.api_users[(tenant, application)].roles is None
    assert replaced.json()["roles"] is None


async def test_a_write_that_does_not_name_limits_keeps_them(client, services):
    setup = await f.accepted_setup(client)
    path = f"/admin/v1/tenants/{setup.tenant_id}/apps/sdmo"
    url = "http://127.0.0.1:9/sdmo/graphql"
    await client.put(path, json={"graphql_url": url, "limits": {"max_depth": 5}}, headers=f.ADMIN)

    await services.registry.put_app(setup.tenant_id, "sdmo", url + "?v=2", None, "cli")

    tenant = (await client.get(f"/admin/v1/tenants/{setup.tenant_id}", headers=f.ADMIN)).json()
    sdmo = next(app for app in tenant["apps"] if app["name"] == "sdmo")
    assert sdmo["graphql_url"].endswith("?v=2")
    assert sdmo["limits"] == {"max_depth": 5}
    route = services.state.tenants[setup.tenant_id].apps["sdmo"]
    assert route.limits is not None and route.limits.max_depth == 5
