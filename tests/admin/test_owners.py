"""The admin API names an application's owner by console account id (``owner_account_id``);
the ``owner`` label grants nothing. Only an existing, enabled developer account can own."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tenantgate.console.accounts import create_account, set_disabled
from tenantgate.services import Services
from tests import factories as f


async def account(services: Services, role: str = "developer", tenants: list[str] | None = None):
    email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    return await create_account(services, email, "a long enough password", role, tenants or [])


async def patch(client: httpx.AsyncClient, application_id: str, body: object) -> httpx.Response:
    return await client.patch(
        f"/admin/v1/applications/{application_id}", json=body, headers=f.ADMIN
    )


async def test_an_application_registered_for_an_account_is_owned_by_it(client, services):
    developer = await account(services)
    label = developer.email

    created = await client.post(
        "/admin/v1/applications",
        json={"name": "Owned", "owner": label, "owner_account_id": developer.id},
        headers=f.ADMIN,
    )
    labelled = await client.post(
        "/admin/v1/applications", json={"name": "Labelled", "owner": label}, headers=f.ADMIN
    )

    assert created.status_code == labelled.status_code == 201
    owned = await client.get(
        "/admin/v1/applications", params={"owner_account_id": developer.id}, headers=f.ADMIN
    )
    assert [a["application_id"] for a in owned.json()] == [created.json()["application_id"]]
    detail = await client.get(
        f"/admin/v1/applications/{labelled.json()['application_id']}", headers=f.ADMIN
    )
    assert detail.json()["owner"] == label and detail.json()["owner_account_id"] is None


async def test_patch_assigns_and_removes_the_owner(client, services):
    developer, application = await account(services), await f.application(client)
    application_id = application["application_id"]

    assigned = await patch(client, application_id, {"owner_account_id": developer.id})
    suspended = await patch(client, application_id, {"status": "suspended"})
    removed = await patch(client, application_id, {"owner_account_id": None})

    assert assigned.status_code == 200 and assigned.json()["owner_account_id"] == developer.id
    assert suspended.json()["owner_account_id"] == developer.id, "a field left out is kept"
    assert suspended.json()["status"] == "suspended"
    assert removed.json()["owner_account_id"] is None
    events = await services.registry.audit(application_id=application_id, kind="application.owner*")
    assert [(e.kind, e.actor) for e in events.items] == [
        ("application.owner_removed", "admin"),
        ("application.owner_assigned", "admin"),
    ]


@pytest.mark.parametrize("who", ["tenant_admin", "operator", "disabled", "unknown"])
async def test_only_an_enabled_developer_can_own(client, services, who):
    application = await f.application(client)
    if who == "unknown":
        account_id = 2**31 - 1
    elif who == "tenant_admin":
        tenant = await services.registry.create_tenant("T", "eu", "c", "test")
        account_id = (await account(services, who, [tenant.tenant_id])).id
    else:
        made = await account(services, "developer" if who == "disabled" else who)
        if who == "disabled":
            await set_disabled(services, made.id, True, "test")
        account_id = made.id

    response = await patch(client, application["application_id"], {"owner_account_id": account_id})
    created = await client.post(
        "/admin/v1/applications",
        json={"name": "x", "owner_account_id": account_id},
        headers=f.ADMIN,
    )

    assert response.status_code == created.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "owner_account_id" in response.json()["error_description"]
    view = await services.registry.get_application(application["application_id"])
    assert view.owner_account_id is None


@pytest.mark.parametrize("value", [0, -1, 2**31, 1.5, "seven"])
async def test_an_owner_account_id_that_is_not_an_id_is_refused(client, value):
    application = await f.application(client)

    response = await patch(client, application["application_id"], {"owner_account_id": value})

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
