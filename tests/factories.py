"""Small builders for what most tests need: an application, a tenant with apps, an acceptance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

ADMIN = {"Authorization": "Bearer tga_test-admin-token"}


@dataclass
class Setup:
    application_id: str
    client_id: str
    client_secret: str
    secret_id: str
    tenant_id: str

    def form(self, **overrides: str) -> dict[str, str]:
        fields = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": f"tenantid:{self.tenant_id}",
        }
        fields.update(overrides)
        return fields


async def application(client: httpx.AsyncClient, name: str = "Acme integration") -> dict[str, Any]:
    response = await client.post("/admin/v1/applications", json={"name": name}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def tenant(
    client: httpx.AsyncClient,
    apps: dict[str, str] | None = None,
    region: str = "eu",
    cluster: str = "cluster-release",
) -> dict[str, Any]:
    body = {"name": "Tenant", "region": region, "cluster": cluster}
    response = await client.post("/admin/v1/tenants", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    created = response.json()
    for app, url in (apps or {}).items():
        put = await client.put(
            f"/admin/v1/tenants/{created['tenant_id']}/apps/{app}",
            json={"graphql_url": url},
            headers=ADMIN,
        )
        assert put.status_code in (200, 201), put.text
    return created


async def accept(
    client: httpx.AsyncClient,
    tenant_id: str,
    application_id: str,
    *,
    enabled: bool = True,
    apps: list[str] | None = None,
) -> httpx.Response:
    body = {"first_name": "Api", "last_name": "User", "enabled": enabled, "apps": apps}
    response = await client.put(
        f"/admin/v1/tenants/{tenant_id}/api-users/{application_id}", json=body, headers=ADMIN
    )
    assert response.status_code in (200, 201), response.text
    return response


DEFAULT_APPS = {
    "sdmo": "http://127.0.0.1:9/sdmo/graphql",
    "shopfloor": "http://127.0.0.1:9/shopfloor/graphql",
}


async def accepted_setup(
    client: httpx.AsyncClient, apps: dict[str, str] | None = None, allowed: list[str] | None = None
) -> Setup:
    app = await application(client)
    t = await tenant(client, DEFAULT_APPS if apps is None else apps)
    await accept(client, t["tenant_id"], app["application_id"], apps=allowed)
    return Setup(
        app["application_id"],
        app["client_id"],
        app["client_secret"],
        app["secret_id"],
        t["tenant_id"],
    )


async def get_token(client: httpx.AsyncClient, setup: Setup) -> dict[str, Any]:
    response = await client.post("/v1/token", data=setup.form())
    assert response.status_code == 200, response.text
    return response.json()
