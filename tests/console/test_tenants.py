"""A tenant admin lets an application in, limits it to one app, and disables or deletes it:
tokens already issued are refused from that moment, as with the admin API."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.console.visitor import Visitor


@pytest.fixture
async def tenant(services):
    registry = services.registry
    view = await registry.create_tenant("Customer", "eu", "cluster-a", "test")
    for app in ("sdmo", "shopfloor"):
        await registry.put_app(view.tenant_id, app, f"http://127.0.0.1:9/{app}", None, "test")
    return view


@pytest.fixture
async def application(services):
    return await services.registry.create_application("Acme sync", "test", owner="d@example.com")


@pytest.fixture
async def tenant_admin(visitors, new_account, tenant) -> Visitor:
    visitor = visitors(address="198.51.100.30")
    await visitor.sign_in(await new_account("tenant_admin", (tenant.tenant_id,)))
    return visitor


async def token(client, application, tenant_id: str) -> dict:
    view, secret = application
    response = await client.post(
        "/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": view.client_id,
            "client_secret": secret.client_secret,
            "scope": f"tenantid:{tenant_id}",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


async def active(client, access_token: str) -> bool:
    response = await client.post(
        "/v1/token/introspect",
        data={"token": access_token},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200
    return response.json()["active"]


async def accept(admin: Visitor, tenant, application_id: str, apps: list[str] | None) -> None:
    lookup = await admin.get(
        f"/console/tenants/{tenant.tenant_id}/api-users/new", application_id=application_id
    )
    assert lookup.status_code == 200
    form: dict[str, object] = {"application_id": application_id}
    form.update({"first_name": "Acme sync", "last_name": "API user"})
    form.update({"scope": "all"} if apps is None else {"scope": "some", "apps": apps})
    response = await admin.submit(f"/console/tenants/{tenant.tenant_id}/api-users", form)
    assert response.status_code == 303, response.text


async def test_looking_up_an_application_fills_in_name_and_e_mail(
    tenant_admin, tenant, application, services
):
    view, _ = application
    page = await tenant_admin.get(
        f"/console/tenants/{tenant.tenant_id}/api-users/new", application_id=view.application_id
    )
    assert 'value="Acme sync"' in page.text
    assert f"{view.application_id}@{services.settings.api_user_domain}" in page.text
    unknown = await tenant_admin.get(
        f"/console/tenants/{tenant.tenant_id}/api-users/new", application_id="999999999999"
    )
    assert unknown.status_code == 400
    assert "No application has the id" in unknown.text


async def test_an_api_user_limited_to_one_app_gets_tokens_for_that_app(
    tenant_admin, tenant, application, client, services
):
    view, _ = application
    await accept(tenant_admin, tenant, view.application_id, ["sdmo"])
    assert tenant_admin.page is not None and "API user created" in tenant_admin.page.text
    user = await services.registry.get_api_user(tenant.tenant_id, view.application_id)
    assert user.apps == ["sdmo"] and user.enabled
    body = await token(client, application, tenant.tenant_id)
    assert list(body["urls"]["apps"]) == ["sdmo"]
    page = await tenant_admin.get(f"/console/tenants/{tenant.tenant_id}")
    assert view.application_id in page.text and "Acme sync" in page.text


async def test_disabling_refuses_live_tokens_at_once_and_for_good(
    tenant_admin, tenant, application, client
):
    view, _ = application
    await accept(tenant_admin, tenant, view.application_id, None)
    access = (await token(client, application, tenant.tenant_id))["access_token"]
    assert await active(client, access)
    base = f"/console/tenants/{tenant.tenant_id}/api-users/{view.application_id}"
    confirm = await tenant_admin.get(base + "/disable")
    assert "every token it already holds is refused" in confirm.text
    response = await tenant_admin.submit(base + "/disable")
    assert response.status_code == 303
    assert not await active(client, access)
    await tenant_admin.submit(base + "/enable")
    assert not await active(client, access), "re-enabling does not revive old tokens"
    fresh = (await token(client, application, tenant.tenant_id))["access_token"]
    assert await active(client, fresh)


async def test_deleting_needs_a_confirm_step_and_refuses_tokens(
    tenant_admin, tenant, application, client, services
):
    view, _ = application
    await accept(tenant_admin, tenant, view.application_id, None)
    access = (await token(client, application, tenant.tenant_id))["access_token"]
    base = f"/console/tenants/{tenant.tenant_id}/api-users/{view.application_id}"
    confirm = await tenant_admin.get(base + "/delete")
    assert confirm.status_code == 200 and "Delete API user" in confirm.text
    assert await active(client, access), "opening the confirm page changes nothing"
    await tenant_admin.submit(base + "/delete")
    assert not await active(client, access)
    assert (await services.registry.list_api_users(tenant_id=tenant.tenant_id)).items == []


async def test_changing_the_apps_of_an_api_user(tenant_admin, tenant, application, services):
    view, _ = application
    await accept(tenant_admin, tenant, view.application_id, None)
    path = f"/console/tenants/{tenant.tenant_id}/api-users/{view.application_id}"
    await tenant_admin.get(path)
    await tenant_admin.submit(path, {"scope": "some", "apps": ["shopfloor"]})
    user = await services.registry.get_api_user(tenant.tenant_id, view.application_id)
    assert user.apps == ["shopfloor"]
    events = await services.registry.audit(tenant_id=tenant.tenant_id, kind="api_user.updated")
    assert events.items[0].actor == f"console:{tenant_admin.email}"


async def test_accepting_the_same_application_twice_is_a_conflict(
    tenant_admin, tenant, application
):
    view, _ = application
    await accept(tenant_admin, tenant, view.application_id, None)
    await tenant_admin.get(f"/console/tenants/{tenant.tenant_id}")
    again = await tenant_admin.submit(
        f"/console/tenants/{tenant.tenant_id}/api-users",
        {"application_id": view.application_id, "first_name": "A", "last_name": "B"},
    )
    assert again.status_code == 409
    assert "already has an API user" in again.text


async def test_a_tenant_admin_sets_limits_and_the_gateway_applies_them(
    tenant_admin, tenant, application, services
):
    view, _ = application
    await accept(tenant_admin, tenant, view.application_id, None)
    base = f"/console/tenants/{tenant.tenant_id}/api-users/{view.application_id}"
    page = await tenant_admin.get(base)
    assert "Requests a minute" in page.text and "the operator's default a minute" in page.text
    form = {"first_name": "Acme sync", "last_name": "API user", "scope": "all"}

    saved = await tenant_admin.submit(
        base, {**form, "requests_per_minute": "120", "burst": "", "daily_quota": "5,000"}
    )

    assert saved.status_code == 303, saved.text
    user = await services.registry.get_api_user(tenant.tenant_id, view.application_id)
    assert (user.rate_limit, user.daily_quota) == ({"requests_per_minute": 120}, 5000)
    record = services.state.api_user(tenant.tenant_id, view.application_id)
    assert (record.allowance.per_minute, record.allowance.daily) == (120, 5000)
    page = await tenant_admin.get(base)
    assert "120 a minute" in page.text and "5000 a day" in page.text

    await tenant_admin.get(base)
    refused = await tenant_admin.submit(base, {**form, "requests_per_minute": "-3"})
    assert refused.status_code == 400 and "a whole number from 1" in refused.text
    await tenant_admin.get(base)
    cleared = await tenant_admin.submit(
        base, {**form, "requests_per_minute": "", "burst": "", "daily_quota": ""}
    )
    assert cleared.status_code == 303
    user = await services.registry.get_api_user(tenant.tenant_id, view.application_id)
    assert (user.rate_limit, user.daily_quota) == (None, None)
