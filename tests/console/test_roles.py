"""Who may open what: a developer only their applications, a tenant admin only their tenants,
and neither the operator pages. Someone else's thing by direct URL is a 404."""

from __future__ import annotations

import pytest

from tests.console.visitor import Visitor


@pytest.fixture
async def others_application(services, new_account, account_id):
    owner = await account_id(await new_account("developer"))
    view, _secret = await services.registry.create_application(
        "Theirs", "test", owner_account_id=owner
    )
    return view


@pytest.fixture
async def two_tenants(services):
    mine = await services.registry.create_tenant("Mine", "eu", "cluster-a", "test")
    theirs = await services.registry.create_tenant("Theirs", "eu", "cluster-a", "test")
    await services.registry.put_app(theirs.tenant_id, "sdmo", "http://127.0.0.1:9/g", None, "test")
    return mine, theirs


@pytest.fixture
async def tenant_admin(visitors, new_account, two_tenants) -> Visitor:
    mine, _theirs = two_tenants
    visitor = visitors(address="198.51.100.20")
    await visitor.sign_in(await new_account("tenant_admin", (mine.tenant_id,)))
    return visitor


async def test_a_developer_cannot_open_someone_elses_application(developer, others_application):
    path = f"/console/apps/{others_application.application_id}"
    response = await developer.get(path)
    assert response.status_code == 404
    assert others_application.client_id not in response.text
    listing = await developer.get("/console/apps")
    assert others_application.application_id not in listing.text


@pytest.mark.parametrize(
    ("suffix", "data"),
    [("/secrets", {}), ("/status", {"status": "suspended"})],
)
async def test_a_developer_cannot_change_someone_elses_application(
    developer, others_application, services, suffix, data
):
    await developer.get("/console/apps")
    path = f"/console/apps/{others_application.application_id}{suffix}"
    response = await developer.submit(path, data)
    assert response.status_code == 404
    after = await services.registry.get_application(others_application.application_id)
    assert after.status == "active" and len(after.secrets) == 1


async def test_a_developer_cannot_retire_someone_elses_secret(developer, others_application):
    secret = others_application.secrets[0].secret_id
    path = f"/console/apps/{others_application.application_id}/secrets/{secret}/retire"
    assert (await developer.get(path)).status_code == 404
    assert (await developer.submit(path)).status_code == 404


@pytest.mark.parametrize("path", ["/console/overview", "/console/accounts", "/console/audit"])
async def test_operator_pages_are_for_operators(developer, tenant_admin, path):
    assert (await developer.get(path)).status_code == 403
    assert (await tenant_admin.get(path)).status_code == 403


async def test_a_developer_has_no_tenant_pages(developer, two_tenants):
    _mine, theirs = two_tenants
    assert (await developer.get("/console/tenants")).status_code == 403
    assert (await developer.get(f"/console/tenants/{theirs.tenant_id}")).status_code == 403


async def test_a_tenant_admin_sees_only_their_tenant(tenant_admin, two_tenants):
    mine, theirs = two_tenants
    landing = await tenant_admin.get("/console/tenants")
    assert landing.status_code == 303
    assert landing.headers["location"] == f"/console/tenants/{mine.tenant_id}"
    response = await tenant_admin.get(f"/console/tenants/{theirs.tenant_id}")
    assert response.status_code == 404
    assert "Theirs" not in response.text


async def test_a_tenant_admin_cannot_touch_another_tenant(
    tenant_admin, two_tenants, others_application, services
):
    _mine, theirs = two_tenants
    application_id = others_application.application_id
    await services.registry.put_api_user(
        theirs.tenant_id, application_id, "test", first_name="A", last_name="B"
    )
    base = f"/console/tenants/{theirs.tenant_id}/api-users"
    await tenant_admin.get(f"/console/tenants/{_mine.tenant_id}")
    attempts = [
        (f"{base}", {"application_id": application_id}),
        (f"{base}/{application_id}/disable", {}),
        (f"{base}/{application_id}/delete", {}),
        (f"{base}/{application_id}", {"scope": "some"}),
    ]
    for path, data in attempts:
        assert (await tenant_admin.submit(path, data)).status_code == 404, path
    assert (await tenant_admin.get(f"{base}/{application_id}")).status_code == 404
    user = await services.registry.get_api_user(theirs.tenant_id, application_id)
    assert user.enabled and user.apps is None


async def test_a_tenant_admin_cannot_change_tenants_or_apps(tenant_admin, two_tenants):
    mine, _theirs = two_tenants
    await tenant_admin.get(f"/console/tenants/{mine.tenant_id}")
    for path, data in [
        ("/console/tenants", {"name": "New", "region": "eu", "cluster": "c"}),
        (f"/console/tenants/{mine.tenant_id}", {"region": "na"}),
        (f"/console/tenants/{mine.tenant_id}/apps", {"app": "x", "graphql_url": "http://a/g"}),
    ]:
        assert (await tenant_admin.submit(path, data)).status_code == 403, path
