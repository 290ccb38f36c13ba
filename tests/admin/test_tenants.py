"""Creating a tenant and giving it apps; the next token's URLs follow."""

from __future__ import annotations

import re

from tests import factories as f


async def test_creating_a_tenant_answers_a_21_character_url_safe_id(client):
    response = await client.post(
        "/admin/v1/tenants",
        json={"name": "Acme GmbH", "region": "eu", "cluster": "cluster-release"},
        headers=f.ADMIN,
    )

    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"[A-Za-z0-9_-]{21}", body["tenant_id"])
    assert body["name"] == "Acme GmbH"
    assert body["region"] == "eu"
    assert body["cluster"] == "cluster-release"
    assert body["status"] == "active"
    assert body["apps"] == []


async def test_a_tenant_reads_back_with_its_apps(client):
    tenant = await f.tenant(client, f.DEFAULT_APPS)

    response = await client.get(f"/admin/v1/tenants/{tenant['tenant_id']}", headers=f.ADMIN)

    assert response.status_code == 200
    body = response.json()
    assert body["tenant_id"] == tenant["tenant_id"]
    assert [(a["name"], a["graphql_url"]) for a in body["apps"]] == sorted(f.DEFAULT_APPS.items())
    # The newest tenant is on the last page of the shared database's list: follow the cursors.
    listed, params = [], {"limit": "1000"}
    while True:
        page = await client.get("/admin/v1/tenants", params=params, headers=f.ADMIN)
        assert page.status_code == 200
        listed += [t["tenant_id"] for t in page.json()]
        if "x-next-cursor" not in page.headers:
            break
        params = {"limit": "1000", "cursor": page.headers["x-next-cursor"]}
    assert tenant["tenant_id"] in listed


async def test_putting_an_app_creates_it_then_updates_it(client):
    tenant = await f.tenant(client)
    path = f"/admin/v1/tenants/{tenant['tenant_id']}/apps/sdmo"

    created = await client.put(path, json={"graphql_url": "http://127.0.0.1:9/v1"}, headers=f.ADMIN)
    updated = await client.put(
        path,
        json={"graphql_url": "https://sdmo.internal/v2", "websocket_url": "wss://sdmo.internal/ws"},
        headers=f.ADMIN,
    )

    assert created.status_code == 201
    assert created.json()["name"] == "sdmo"
    assert updated.status_code == 200
    assert updated.json()["graphql_url"] == "https://sdmo.internal/v2"
    shown = (await client.get(f"/admin/v1/tenants/{tenant['tenant_id']}", headers=f.ADMIN)).json()
    assert shown["apps"] == [
        {
            "name": "sdmo",
            "graphql_url": "https://sdmo.internal/v2",
            "websocket_url": "wss://sdmo.internal/ws",
            "limits": None,
        }
    ]


async def test_a_deleted_app_is_gone_from_the_tenant_and_from_new_tokens(client):
    setup = await f.accepted_setup(client)
    path = f"/admin/v1/tenants/{setup.tenant_id}/apps/shopfloor"

    deleted = await client.delete(path, headers=f.ADMIN)

    assert deleted.status_code == 204
    assert (await client.delete(path, headers=f.ADMIN)).status_code == 404
    shown = (await client.get(f"/admin/v1/tenants/{setup.tenant_id}", headers=f.ADMIN)).json()
    assert [a["name"] for a in shown["apps"]] == ["sdmo"]
    assert set((await f.get_token(client, setup))["urls"]["apps"]) == {"sdmo"}


async def test_an_app_added_later_shows_up_in_the_next_token(client):
    setup = await f.accepted_setup(client, apps={"sdmo": "http://127.0.0.1:9/sdmo"})
    assert set((await f.get_token(client, setup))["urls"]["apps"]) == {"sdmo"}

    await client.put(
        f"/admin/v1/tenants/{setup.tenant_id}/apps/shopfloor",
        json={"graphql_url": "http://127.0.0.1:9/shopfloor"},
        headers=f.ADMIN,
    )

    assert set((await f.get_token(client, setup))["urls"]["apps"]) == {"sdmo", "shopfloor"}


async def test_a_suspended_tenant_refuses_tokens_and_takes_them_back(client):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]

    patched = await client.patch(
        f"/admin/v1/tenants/{setup.tenant_id}", json={"status": "suspended"}, headers=f.ADMIN
    )

    assert patched.status_code == 200
    assert patched.json()["status"] == "suspended"
    refused = await client.post("/v1/token", data=setup.form())
    assert refused.status_code == 403
    assert refused.json()["error"] == "access_denied"
    introspected = await client.post("/v1/token/introspect", data={"token": token}, headers=f.ADMIN)
    assert introspected.json() == {"active": False}
