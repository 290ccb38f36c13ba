"""A developer registers an application, keeps its secret (shown once), rotates it, suspends
it, and reads how to ask for a token once a tenant has accepted it."""

from __future__ import annotations

import re

import httpx

from tests.console.visitor import Visitor

SECRET = re.compile(r'id="client-secret">(tgs_[A-Za-z0-9_-]+)<')


async def register(developer: Visitor, name: str = "Acme sync") -> tuple[str, str, str]:
    await developer.get("/console/apps")
    page = await developer.submit("/console/apps", {"name": name})
    assert page.status_code == 200, page.text
    secret = SECRET.search(page.text)
    assert secret, "the secret is on the page right after registration"
    application_id = re.search(r'id="application-id">(\d+)<', page.text)
    client_id = re.search(r'id="client-id">([^<]+)<', page.text)
    assert application_id and client_id
    return application_id.group(1), client_id.group(1), secret.group(1)


async def test_the_secret_is_shown_once_and_never_again(developer, services):
    application_id, client_id, secret = await register(developer)
    first = developer.page
    assert first is not None and first.headers["cache-control"] == "no-store"
    assert 'data-copy="client-secret"' in first.text, "with a copy button"
    tenant = await services.registry.create_tenant("Acme", "eu", "cluster-a", "test")
    await services.registry.put_api_user(
        tenant.tenant_id, application_id, "test", first_name="A", last_name="B"
    )
    pages = [
        await developer.get("/console/apps"),
        await developer.get(f"/console/apps/{application_id}"),
        await developer.get("/console/"),
    ]
    for page in pages:
        assert page.status_code in (200, 303)
        assert secret not in page.text
        assert secret[4:] not in page.text
    assert client_id in pages[1].text


async def test_the_application_is_owned_by_its_developer(developer, services, account_id):
    application_id, _client_id, _secret = await register(developer, "Owned")
    view = await services.registry.get_application(application_id)
    assert view.owner_account_id == await account_id(developer.email)
    assert application_id in (await developer.get("/console/apps")).text
    events = await services.registry.audit(
        application_id=application_id, kind="application.created"
    )
    assert events.items[0].actor == f"console:{developer.email}"


async def test_rotation_adds_a_second_secret_then_retires_the_first(developer, services, client):
    application_id, _client_id, first = await register(developer)
    detail = await developer.get(f"/console/apps/{application_id}")
    page = await developer.submit(f"/console/apps/{application_id}/secrets")
    second = SECRET.search(page.text)
    assert second and second.group(1) != first
    detail = await developer.get(f"/console/apps/{application_id}")
    assert "Two secrets are active" in detail.text
    assert second.group(1) not in detail.text
    old = (await services.registry.get_application(application_id)).secrets[0]
    confirm = await developer.get(f"/console/apps/{application_id}/secrets/{old.secret_id}/retire")
    assert "Retire secret" in confirm.text
    await developer.submit(f"/console/apps/{application_id}/secrets/{old.secret_id}/retire")
    assert developer.page is not None and "The secret is retired" in developer.page.text
    secrets = (await services.registry.get_application(application_id)).secrets
    assert [s.retired_at is not None for s in secrets] == [True, False]


async def test_suspend_and_resume(developer, services):
    application_id, _client_id, _secret = await register(developer)
    await developer.get(f"/console/apps/{application_id}")
    await developer.submit(f"/console/apps/{application_id}/status", {"status": "suspended"})
    assert (await services.registry.get_application(application_id)).status == "suspended"
    assert developer.page is not None and "Resume application" in developer.page.text
    await developer.submit(f"/console/apps/{application_id}/status", {"status": "active"})
    assert (await services.registry.get_application(application_id)).status == "active"


async def test_an_empty_name_is_a_clear_error(developer):
    await developer.get("/console/apps")
    response = await developer.submit("/console/apps", {"name": "   "})
    assert response.status_code == 400
    assert "name must be" in response.text
    assert 'role="alert"' in response.text


async def test_the_help_panel_shows_the_token_request_that_works(
    developer, services, client: httpx.AsyncClient
):
    application_id, client_id, secret = await register(developer)
    tenant = await services.registry.create_tenant("Customer", "eu", "cluster-a", "test")
    await services.registry.put_app(tenant.tenant_id, "sdmo", "http://127.0.0.1:9/g", None, "t")
    detail = await developer.get(f"/console/apps/{application_id}")
    assert "Once a tenant accepts the application" in detail.text
    assert f"{application_id}@{services.settings.api_user_domain}" in detail.text
    await services.registry.put_api_user(
        tenant.tenant_id, application_id, "test", first_name="A", last_name="B"
    )
    detail = await developer.get(f"/console/apps/{application_id}")
    assert "Customer" in detail.text
    assert "https://tg.example.test/v1/token" in detail.text
    assert f"client_id={client_id}" in detail.text
    assert f"scope=tenantid:{tenant.tenant_id}" in detail.text
    response = await client.post(
        "/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": f"tenantid:{tenant.tenant_id}",
        },
    )
    assert response.status_code == 200
    detail = await developer.get(f"/console/apps/{application_id}")
    assert "never" not in detail.text.split("Last token", 1)[1].split("</dd>", 1)[0]
