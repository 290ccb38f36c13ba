"""A tenant admin accepts an application by creating its API user, and withdraws it by
disabling or deleting it: every token already issued dies at once, and for good."""

from __future__ import annotations

from tests import factories as f
from tests.tokens.calls import assert_oauth_error, is_active

USER = {"first_name": "Api", "last_name": "User"}


def api_user_path(tenant_id: str, application_id: str) -> str:
    return f"/admin/v1/tenants/{tenant_id}/api-users/{application_id}"


async def test_creating_an_api_user_then_updating_it(server):
    services, client = await server(api_user_domain="users.example.org")
    app = await f.application(client)
    tenant = await f.tenant(client, f.DEFAULT_APPS)
    path = api_user_path(tenant["tenant_id"], app["application_id"])

    created = await client.put(path, json=USER, headers=f.ADMIN)
    updated = await client.put(path, json={**USER, "apps": ["sdmo"]}, headers=f.ADMIN)

    assert created.status_code == 201
    body = created.json()
    assert body["email"] == f"{app['application_id']}@users.example.org"
    assert body["tenant_id"] == tenant["tenant_id"]
    assert body["application_id"] == app["application_id"]
    assert body["enabled"] is True
    assert body["apps"] is None
    assert updated.status_code == 200
    assert updated.json()["apps"] == ["sdmo"]
    shown = await client.get(path, headers=f.ADMIN)
    assert shown.status_code == 200
    assert shown.json()["apps"] == ["sdmo"]
    assert shown.json()["email"] == f"{app['application_id']}@{services.settings.api_user_domain}"
    listed = await client.get(f"/admin/v1/tenants/{tenant['tenant_id']}/api-users", headers=f.ADMIN)
    assert [u["application_id"] for u in listed.json()] == [app["application_id"]]


async def test_disabling_kills_issued_tokens_and_enabling_admits_only_new_ones(client):
    setup = await f.accepted_setup(client)
    path = api_user_path(setup.tenant_id, setup.application_id)
    old = (await f.get_token(client, setup))["access_token"]

    disabled = await client.put(path, json={**USER, "enabled": False}, headers=f.ADMIN)

    assert disabled.status_code == 200
    assert disabled.json()["enabled"] is False
    assert not await is_active(client, old)
    assert_oauth_error(await client.post("/v1/token", data=setup.form()), 403, "access_denied")

    enabled = await client.put(path, json={**USER, "enabled": True}, headers=f.ADMIN)

    assert enabled.status_code == 200
    assert not await is_active(client, old)
    new = (await f.get_token(client, setup))["access_token"]
    assert await is_active(client, new)


async def test_deleting_kills_issued_tokens_and_a_new_api_user_starts_afresh(client):
    setup = await f.accepted_setup(client)
    path = api_user_path(setup.tenant_id, setup.application_id)
    old = (await f.get_token(client, setup))["access_token"]

    deleted = await client.delete(path, headers=f.ADMIN)

    assert deleted.status_code == 204
    assert (await client.get(path, headers=f.ADMIN)).status_code == 404
    assert (await client.delete(path, headers=f.ADMIN)).status_code == 404
    assert not await is_active(client, old)
    assert_oauth_error(await client.post("/v1/token", data=setup.form()), 403, "access_denied")

    recreated = await client.put(path, json=USER, headers=f.ADMIN)

    assert recreated.status_code == 201
    assert recreated.json()["enabled"] is True
    assert not await is_active(client, old)
    fresh = (await f.get_token(client, setup))["access_token"]
    assert await is_active(client, fresh)


async def test_an_api_user_created_disabled_admits_nobody(client):
    app = await f.application(client)
    tenant = await f.tenant(client, f.DEFAULT_APPS)
    path = api_user_path(tenant["tenant_id"], app["application_id"])

    created = await client.put(path, json={**USER, "enabled": False}, headers=f.ADMIN)

    assert created.status_code == 201
    form = {
        "grant_type": "client_credentials",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "scope": f"tenantid:{tenant['tenant_id']}",
    }
    assert_oauth_error(await client.post("/v1/token", data=form), 403, "access_denied")


async def test_limiting_the_apps_narrows_tokens_already_issued(client):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]

    await client.put(
        api_user_path(setup.tenant_id, setup.application_id),
        json={**USER, "apps": ["sdmo"]},
        headers=f.ADMIN,
    )

    introspected = await client.post("/v1/token/introspect", data={"token": token}, headers=f.ADMIN)
    assert introspected.json()["apps"] == ["sdmo"]
    assert set((await f.get_token(client, setup))["urls"]["apps"]) == {"sdmo"}


async def test_api_users_of_unknown_tenants_or_applications_are_404(client, subtests):
    app = await f.application(client)
    tenant = await f.tenant(client)
    cases = {
        "unknown tenant": api_user_path("Dz62IqY7R8o7W6oj_mreA", app["application_id"]),
        "unknown application": api_user_path(tenant["tenant_id"], "999999999999"),
    }

    for case, path in cases.items():
        put = await client.put(path, json=USER, headers=f.ADMIN)
        get = await client.get(path, headers=f.ADMIN)
        with subtests.test(case):
            assert put.status_code == 404
            assert put.json()["error"] == "not_found"
            assert get.status_code == 404
    not_accepted = await client.get(
        api_user_path(tenant["tenant_id"], app["application_id"]), headers=f.ADMIN
    )
    assert not_accepted.status_code == 404
    unknown_list = await client.get(
        "/admin/v1/tenants/Dz62IqY7R8o7W6oj_mreA/api-users", headers=f.ADMIN
    )
    assert unknown_list.status_code == 404
