"""Who gets through: a live token of the tenant, for an app its API user still covers.
Every change an operator or a tenant admin makes is in force when their call returns."""

from __future__ import annotations

from dataclasses import replace

import jwt
import pytest
import structlog.testing
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests import factories as f
from tests.gateway.helpers import (
    QUERY,
    bearer,
    echo_apps,
    gateway_url,
    graphql_error_code,
    token_for,
)

INVALID = 'Bearer error="invalid_token"'
INSUFFICIENT = 'Bearer error="insufficient_scope"'


def assert_unauthenticated(response):
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == INVALID
    assert graphql_error_code(response) == "UNAUTHENTICATED"
    assert response.headers["x-request-id"]


def assert_forbidden(response):
    assert response.status_code == 403, response.text
    assert response.headers["www-authenticate"] == INSUFFICIENT
    assert graphql_error_code(response) == "FORBIDDEN"
    assert response.headers["x-request-id"]


async def test_a_live_token_gets_through(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))

    response = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))

    assert response.status_code == 200


async def test_no_token_is_refused(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))

    assert_unauthenticated(await client.post(gateway_url(token), json=QUERY))


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer not a token", "Bearer a.b.c"],
)
async def test_a_malformed_authorization_is_refused(client, echo_url, authorization):
    _, token = await token_for(client, echo_apps(echo_url))
    headers = {"Authorization": authorization}

    assert_unauthenticated(await client.post(gateway_url(token), json=QUERY, headers=headers))


async def test_a_token_signed_by_another_key_is_refused(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))
    real = token["access_token"]
    forged = jwt.encode(
        jwt.decode(real, options={"verify_signature": False}),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers=jwt.get_unverified_header(real),
    )

    response = await client.post(
        gateway_url(token), json=QUERY, headers={"Authorization": f"Bearer {forged}"}
    )

    assert_unauthenticated(response)


async def test_a_token_is_refused_once_it_expires(clocked_client, clock, echo_url):
    _, token = await token_for(clocked_client, echo_apps(echo_url))
    url = gateway_url(token)

    clock.advance(token["expires_in"] - 1)
    assert (await clocked_client.post(url, json=QUERY, headers=bearer(token))).status_code == 200
    clock.advance(1)
    assert_unauthenticated(await clocked_client.post(url, json=QUERY, headers=bearer(token)))


async def test_an_invalidated_token_is_refused_when_delete_returns(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))
    assert (await client.get(gateway_url(token), headers=bearer(token))).status_code == 200

    deleted = await client.delete(
        "/v1/token", headers={"x-tokens": f"accessToken={token['access_token']}"}
    )

    assert deleted.status_code == 204
    assert_unauthenticated(await client.get(gateway_url(token), headers=bearer(token)))


async def test_disabling_the_api_user_refuses_its_tokens_for_good(client, echo_url):
    setup, token = await token_for(client, echo_apps(echo_url))
    assert (await client.get(gateway_url(token), headers=bearer(token))).status_code == 200

    await f.accept(client, setup.tenant_id, setup.application_id, enabled=False)
    assert_unauthenticated(await client.get(gateway_url(token), headers=bearer(token)))

    await f.accept(client, setup.tenant_id, setup.application_id, enabled=True)
    assert_unauthenticated(await client.get(gateway_url(token), headers=bearer(token)))
    fresh = await f.get_token(client, setup)
    assert (await client.get(gateway_url(fresh), headers=bearer(fresh))).status_code == 200


async def test_deleting_the_api_user_refuses_its_tokens(client, echo_url):
    setup, token = await token_for(client, echo_apps(echo_url))

    deleted = await client.delete(
        f"/admin/v1/tenants/{setup.tenant_id}/api-users/{setup.application_id}", headers=f.ADMIN
    )

    assert deleted.status_code == 204
    assert_unauthenticated(await client.get(gateway_url(token), headers=bearer(token)))


async def test_suspending_the_tenant_refuses_its_tokens_for_good(client, echo_url):
    setup, token = await token_for(client, echo_apps(echo_url))
    tenant = f"/admin/v1/tenants/{setup.tenant_id}"

    await client.patch(tenant, json={"status": "suspended"}, headers=f.ADMIN)
    assert_unauthenticated(await client.get(gateway_url(token), headers=bearer(token)))

    await client.patch(tenant, json={"status": "active"}, headers=f.ADMIN)
    assert_unauthenticated(await client.get(gateway_url(token), headers=bearer(token)))
    fresh = await f.get_token(client, setup)
    assert (await client.get(gateway_url(fresh), headers=bearer(fresh))).status_code == 200


async def test_suspending_the_application_refuses_its_tokens_on_every_tenant_for_good(
    client, echo_url
):
    setup, token = await token_for(client, echo_apps(echo_url))
    other = await f.tenant(client, f.DEFAULT_APPS)
    await f.accept(client, other["tenant_id"], setup.application_id)
    elsewhere = await f.get_token(client, replace(setup, tenant_id=other["tenant_id"]))
    application = f"/admin/v1/applications/{setup.application_id}"

    await client.patch(application, json={"status": "suspended"}, headers=f.ADMIN)
    await client.patch(application, json={"status": "active"}, headers=f.ADMIN)

    for old in (token, elsewhere):
        introspected = await client.post(
            "/v1/token/introspect", data={"token": old["access_token"]}, headers=f.ADMIN
        )
        assert introspected.json() == {"active": False}
    assert_unauthenticated(await client.get(gateway_url(token), headers=bearer(token)))
    fresh = await f.get_token(client, setup)
    assert (await client.get(gateway_url(fresh), headers=bearer(fresh))).status_code == 200


async def test_an_app_removed_from_the_tenant_is_out_of_reach(client, echo_url):
    setup, token = await token_for(client, echo_apps(echo_url))

    removed = await client.delete(f"/admin/v1/tenants/{setup.tenant_id}/apps/sdmo", headers=f.ADMIN)

    assert removed.status_code == 204
    assert_forbidden(await client.get(gateway_url(token), headers=bearer(token)))
    still = await client.get(gateway_url(token, "shopfloor"), headers=bearer(token))
    assert still.status_code == 200


async def test_an_app_the_api_user_does_not_cover_is_out_of_reach(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url), allowed=["sdmo"])
    shopfloor = gateway_url(token).replace("/sdmo/", "/shopfloor/")
    assert "shopfloor" not in token["urls"]["apps"]

    assert_forbidden(await client.get(shopfloor, headers=bearer(token)))


async def test_narrowing_the_api_user_takes_effect_at_once(client, echo_url):
    setup, token = await token_for(client, echo_apps(echo_url))

    await f.accept(client, setup.tenant_id, setup.application_id, apps=["shopfloor"])

    assert_forbidden(await client.get(gateway_url(token), headers=bearer(token)))
    still = await client.get(gateway_url(token, "shopfloor"), headers=bearer(token))
    assert still.status_code == 200


async def test_an_app_added_after_the_token_was_issued_needs_a_new_token(client, echo_url):
    setup, token = await token_for(client, {"sdmo": f"{echo_url}/echo/a"})
    await client.put(
        f"/admin/v1/tenants/{setup.tenant_id}/apps/shopfloor",
        json={"graphql_url": f"{echo_url}/echo/b"},
        headers=f.ADMIN,
    )
    shopfloor = gateway_url(token).replace("/sdmo/", "/shopfloor/")

    assert_forbidden(await client.get(shopfloor, headers=bearer(token)))
    fresh = await f.get_token(client, setup)
    assert (await client.get(gateway_url(fresh, "shopfloor"), headers=bearer(fresh))).is_success


async def test_another_cluster_is_out_of_reach(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))
    elsewhere = gateway_url(token).replace("/cluster-release/", "/cluster-other/")

    assert_forbidden(await client.get(elsewhere, headers=bearer(token)))


async def test_a_token_never_reaches_another_tenants_cluster(client, echo_url):
    _, token_a = await token_for(client, echo_apps(echo_url, "tenant-a"))
    app = await f.application(client, "Other integration")
    tenant_b = await f.tenant(client, echo_apps(echo_url, "tenant-b"), cluster="cluster-b")
    await f.accept(client, tenant_b["tenant_id"], app["application_id"])
    url_b = gateway_url(token_a).replace("/cluster-release/", "/cluster-b/")

    assert_forbidden(await client.get(url_b, headers=bearer(token_a)))


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_methods_other_than_get_and_post_are_refused(client, echo_url, method):
    _, token = await token_for(client, echo_apps(echo_url))

    response = await client.request(method, gateway_url(token), headers=bearer(token))

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert graphql_error_code(response) == "METHOD_NOT_ALLOWED"
    assert response.headers["x-request-id"]


async def test_refusals_are_logged_without_the_token(client, echo_url):
    setup, token = await token_for(client, echo_apps(echo_url), allowed=["sdmo"])
    shopfloor = gateway_url(token).replace("/sdmo/", "/shopfloor/")
    secret = token["access_token"]

    with structlog.testing.capture_logs() as logs:
        await client.get(shopfloor, headers=bearer(token))
        await client.get(gateway_url(token), headers={"Authorization": f"Bearer {secret}x"})
        await f.accept(client, setup.tenant_id, setup.application_id, enabled=False)
        await client.get(gateway_url(token), headers=bearer(token))

    refusals = [entry for entry in logs if entry["event"] == "gateway_refused"]
    assert [entry["status"] for entry in refusals] == [403, 401, 401]
    assert secret[:40] not in repr(logs)
