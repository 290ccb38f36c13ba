"""The standard companions: RFC 7009 revocation by the client that holds the token, and
RFC 7662 introspection for callers holding an introspection credential."""

from __future__ import annotations

from tests import factories as f
from tests.tokens.calls import assert_oauth_error, basic, claims, introspect, is_active


async def revoke(client, setup: f.Setup, token: str, **overrides: str):
    form = {
        "token": token,
        "client_id": setup.client_id,
        "client_secret": setup.client_secret,
        **overrides,
    }
    return await client.post("/v1/token/revoke", data=form)


# RFC 7009


async def test_a_client_revokes_its_own_token(client):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]

    response = await revoke(client, setup, token)

    assert response.status_code == 200
    assert not await is_active(client, token)


async def test_a_client_may_revoke_with_http_basic(client):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]

    response = await client.post(
        "/v1/token/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        headers=basic(setup.client_id, setup.client_secret),
    )

    assert response.status_code == 200
    assert not await is_active(client, token)


async def test_another_clients_token_is_left_alone(client):
    owner = await f.accepted_setup(client)
    other = await f.accepted_setup(client)
    token = (await f.get_token(client, owner))["access_token"]

    response = await revoke(client, other, token)

    assert response.status_code == 200
    assert await is_active(client, token)


async def test_an_unknown_token_is_answered_200(client):
    setup = await f.accepted_setup(client)

    assert (await revoke(client, setup, "not-a-token")).status_code == 200


async def test_revocation_needs_a_valid_client(client, subtests):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]

    wrong_secret = await revoke(client, setup, token, client_secret="tgs_wrong")
    unknown_client = await revoke(client, setup, token, client_id="nobody")
    with subtests.test("wrong secret"):
        assert_oauth_error(wrong_secret, 403, "invalid_client")
    with subtests.test("unknown client"):
        assert_oauth_error(unknown_client, 403, "invalid_client")
    without_credentials = await client.post("/v1/token/revoke", data={"token": token})
    with subtests.test("no credentials"):
        assert 400 <= without_credentials.status_code < 500
        assert set(without_credentials.json()) == {"error", "error_description"}
    assert await is_active(client, token)


async def test_revocation_without_a_token_is_invalid_request(client):
    setup = await f.accepted_setup(client)

    response = await client.post(
        "/v1/token/revoke",
        data={"client_id": setup.client_id, "client_secret": setup.client_secret},
    )

    assert_oauth_error(response, 400, "invalid_request")


# RFC 7662


async def test_introspection_describes_an_active_token(client):
    setup = await f.accepted_setup(client, allowed=["sdmo"])
    token = (await f.get_token(client, setup))["access_token"]
    issued = claims(token)

    response = await client.post("/v1/token/introspect", data={"token": token}, headers=f.ADMIN)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["client_id"] == body["sub"] == setup.client_id
    assert body["scope"] == f"tenantid:{setup.tenant_id}"
    assert body["tenant_id"] == setup.tenant_id
    assert body["application_id"] == setup.application_id
    assert body["apps"] == ["sdmo"]
    assert body["exp"] == issued["exp"]
    assert body["iat"] == issued["iat"]


async def test_dead_tokens_introspect_as_inactive_and_say_nothing_more(client, subtests):
    setup = await f.accepted_setup(client)
    invalidated = (await f.get_token(client, setup))["access_token"]
    await client.delete("/v1/token", headers={"x-tokens": f"accessToken={invalidated}"})
    disabled_setup = await f.accepted_setup(client)
    of_disabled_user = (await f.get_token(client, disabled_setup))["access_token"]
    await f.accept(client, disabled_setup.tenant_id, disabled_setup.application_id, enabled=False)

    for case, token in {
        "invalidated": invalidated,
        "API user disabled": of_disabled_user,
        "garbage": "garbage",
        "empty-ish": "a.b.c",
    }.items():
        body = await introspect(client, token)
        with subtests.test(case):
            assert body == {"active": False}


async def test_introspection_needs_a_credential(client, subtests):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    attempts = {
        "none": {},
        "wrong admin token": {"Authorization": "Bearer tga_not-the-admin-token"},
        "a client not allowed to introspect": basic(setup.client_id, setup.client_secret),
        "an access token": {"Authorization": f"Bearer {token}"},
    }

    for case, headers in attempts.items():
        response = await client.post("/v1/token/introspect", data={"token": token}, headers=headers)
        with subtests.test(case):
            assert 400 <= response.status_code < 500, response.text
            assert set(response.json()) == {"error", "error_description"}
            assert "active" not in response.json()


async def test_a_client_named_in_the_settings_may_introspect(client, server):
    resource_server = await f.application(client, "Resource server")
    setup = await f.accepted_setup(client)
    _services, node = await server(introspection_clients=[resource_server["client_id"]])
    token = (await f.get_token(node, setup))["access_token"]

    allowed = await node.post(
        "/v1/token/introspect",
        data={"token": token},
        headers=basic(resource_server["client_id"], resource_server["client_secret"]),
    )
    not_listed = await node.post(
        "/v1/token/introspect",
        data={
            "token": token,
            "client_id": setup.client_id,
            "client_secret": setup.client_secret,
        },
    )
    wrong_secret = await node.post(
        "/v1/token/introspect",
        data={"token": token},
        headers=basic(resource_server["client_id"], "tgs_wrong"),
    )

    assert allowed.status_code == 200
    assert allowed.json()["active"] is True
    assert allowed.json()["tenant_id"] == setup.tenant_id
    assert_oauth_error(not_listed, 403, "invalid_client")
    assert_oauth_error(wrong_secret, 403, "invalid_client")


async def test_introspection_without_a_token_is_invalid_request(client):
    response = await client.post("/v1/token/introspect", data={}, headers=f.ADMIN)

    assert_oauth_error(response, 400, "invalid_request")
