"""Every console form is CSRF-protected: a POST without the right token is refused with 403
and changes nothing."""

from __future__ import annotations

import pytest

from tenantgate.console.sessions import ANONYMOUS_COOKIE


async def test_a_post_without_a_token_is_refused(developer, services, account_id):
    mine = await account_id(developer.email)
    before = len((await services.registry.list_applications(owner_account_id=mine)).items)
    response = await developer.client.post("/console/apps", data={"name": "Sneaky"})
    assert response.status_code == 403
    assert len((await services.registry.list_applications(owner_account_id=mine)).items) == before


async def test_a_post_with_a_wrong_token_is_refused(developer):
    response = await developer.client.post(
        "/console/apps", data={"name": "Sneaky", "csrf_token": "x" * 43}
    )
    assert response.status_code == 403


async def test_the_token_of_another_session_does_not_work(developer, visitors, new_account):
    other = visitors(address="198.51.100.4")
    await other.sign_in(await new_account("developer"))
    await other.get("/console/apps")
    assert other.page is not None
    from tests.console.visitor import csrf_token

    response = await developer.client.post(
        "/console/apps", data={"name": "Sneaky", "csrf_token": csrf_token(other.page.text)}
    )
    assert response.status_code == 403


async def test_signing_in_needs_the_token_of_the_sign_in_page(visitors, new_account):
    email = await new_account("developer")
    stranger = visitors()
    response = await stranger.client.post(
        "/console/sign-in", data={"email": email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 403
    await stranger.client.get("/console/sign-in")
    assert stranger.client.cookies.get(ANONYMOUS_COOKIE)
    forged = await stranger.client.post(
        "/console/sign-in", data={"email": email, "password": "x", "csrf_token": "forged"}
    )
    assert forged.status_code == 403


@pytest.mark.parametrize(
    "path",
    ["/console/sign-out", "/console/tenants", "/console/accounts", "/console/apps"],
)
async def test_every_action_checks_the_token(operator, path):
    assert (await operator.client.post(path, data={})).status_code == 403
