"""POST /v1/token: an accepted application gets an access token, whichever way it
authenticates, and the answer is exactly what CONTRACT.md shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import jwt
import pytest

from tests import factories as f
from tests.tokens.calls import basic, claims

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
BODY_FIELDS = {
    "access_token",
    "token_type",
    "expires_in",
    "expires_at",
    "scope",
    "tenant_id",
    "urls",
}
URL_FIELDS = {"asyncContextUpload", "asyncContextError", "websocket", "invalidateToken", "apps"}
CLAIMS = {
    "iss",
    "sub",
    "client_id",
    "aud",
    "iat",
    "exp",
    "jti",
    "scope",
    "tenant_id",
    "application_id",
    "apps",
    "gen",
}


async def test_form_post_gets_the_documented_answer(client, settings):
    setup = await f.accepted_setup(client)

    response = await client.post("/v1/token", data=setup.form())

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert set(body) == BODY_FIELDS
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.token_ttl == 900
    assert body["scope"] == f"tenantid:{setup.tenant_id}"
    assert body["tenant_id"] == setup.tenant_id
    assert ISO_UTC.match(body["expires_at"]), body["expires_at"]
    expires_at = datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert expires_at.timestamp() == claims(body["access_token"])["exp"]


async def test_urls_point_at_the_request_host_with_literal_placeholders(client):
    setup = await f.accepted_setup(client)

    urls = (await f.get_token(client, setup))["urls"]

    assert set(urls) == URL_FIELDS
    host = "https://tg.example.test"
    assert urls["asyncContextUpload"] == f"{host}/v1/asyncContext/{{AsyncContextId}}/upload"
    assert urls["asyncContextError"] == f"{host}/v1/asyncContext/{{AsyncContextId}}/error"
    assert urls["websocket"] == "wss://tg.example.test/v1/ws"
    assert urls["invalidateToken"] == f"{host}/v1/token"
    assert urls["apps"] == {
        "sdmo": {"graphQL": f"{host}/v1/fwd/cluster-release/sdmo/api"},
        "shopfloor": {"graphQL": f"{host}/v1/fwd/cluster-release/shopfloor/api"},
    }


async def test_a_plain_http_request_gets_a_ws_websocket_url(client):
    setup = await f.accepted_setup(client)

    response = await client.post("http://plain.example.test/v1/token", data=setup.form())

    urls = response.json()["urls"]
    assert urls["websocket"] == "ws://plain.example.test/v1/ws"
    assert urls["invalidateToken"] == "http://plain.example.test/v1/token"


async def test_urls_follow_the_tenants_cluster(client):
    setup = await f.accepted_setup(client)
    other = await f.tenant(client, {"sdmo": "http://127.0.0.1:9/x"}, cluster="cluster-blue")
    await f.accept(client, other["tenant_id"], setup.application_id)

    scope = f"tenantid:{other['tenant_id']}"
    response = await client.post("/v1/token", data=setup.form(scope=scope))

    assert response.json()["urls"]["apps"] == {
        "sdmo": {"graphQL": "https://tg.example.test/v1/fwd/cluster-blue/sdmo/api"}
    }


async def test_an_api_user_limited_to_one_app_sees_only_that_app(client):
    setup = await f.accepted_setup(client, allowed=["shopfloor"])

    body = await f.get_token(client, setup)

    assert set(body["urls"]["apps"]) == {"shopfloor"}
    assert claims(body["access_token"])["apps"] == ["shopfloor"]


async def test_the_public_url_setting_replaces_the_request_host(server):
    _services, client = await server(public_url="https://api.example.com/")
    setup = await f.accepted_setup(client)

    urls = (await f.get_token(client, setup))["urls"]

    assert urls["invalidateToken"] == "https://api.example.com/v1/token"
    assert urls["websocket"] == "wss://api.example.com/v1/ws"
    assert urls["apps"]["sdmo"]["graphQL"] == (
        "https://api.example.com/v1/fwd/cluster-release/sdmo/api"
    )


async def test_a_region_url_is_used_for_tenants_of_that_region_only(server):
    _services, client = await server(
        public_url="https://api.example.com",
        region_urls={"eu": "https://api.eu.example.com"},
    )
    app = await f.application(client)
    eu = await f.tenant(client, f.DEFAULT_APPS, region="eu")
    na = await f.tenant(client, f.DEFAULT_APPS, region="na")
    for tenant in (eu, na):
        await f.accept(client, tenant["tenant_id"], app["application_id"])

    async def urls_for(tenant_id: str) -> dict:
        form = {
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": f"tenantid:{tenant_id}",
        }
        response = await client.post("/v1/token", data=form)
        assert response.status_code == 200, response.text
        return response.json()["urls"]

    eu_urls, na_urls = await urls_for(eu["tenant_id"]), await urls_for(na["tenant_id"])
    assert eu_urls["invalidateToken"] == "https://api.eu.example.com/v1/token"
    assert eu_urls["websocket"] == "wss://api.eu.example.com/v1/ws"
    assert eu_urls["apps"]["sdmo"]["graphQL"].startswith("https://api.eu.example.com/v1/fwd/")
    assert na_urls["invalidateToken"] == "https://api.example.com/v1/token"


async def test_a_region_url_without_a_public_url_still_leaves_others_on_the_request_host(server):
    _services, client = await server(region_urls={"na": "https://api.na.example.com"})
    setup = await f.accepted_setup(client)

    urls = (await f.get_token(client, setup))["urls"]

    assert urls["invalidateToken"] == "https://tg.example.test/v1/token"


async def test_the_lifetime_is_the_configured_one(server):
    _services, client = await server(token_ttl=120)
    setup = await f.accepted_setup(client)

    body = await f.get_token(client, setup)

    assert body["expires_in"] == 120
    token_claims = claims(body["access_token"])
    assert token_claims["exp"] - token_claims["iat"] == 120


async def test_http_basic_authenticates_the_client(client):
    setup = await f.accepted_setup(client)
    form = {"grant_type": "client_credentials", "scope": f"tenantid:{setup.tenant_id}"}

    response = await client.post(
        "/v1/token", data=form, headers=basic(setup.client_id, setup.client_secret)
    )

    assert response.status_code == 200, response.text
    assert response.json()["tenant_id"] == setup.tenant_id


async def test_http_basic_credentials_are_form_url_decoded(client):
    """RFC 6749 §2.3.1: id and secret are form-urlencoded before base64."""
    setup = await f.accepted_setup(client)
    form = {"grant_type": "client_credentials", "scope": f"tenantid:{setup.tenant_id}"}
    headers = basic(setup.client_id, setup.client_secret, encode_all=True)
    assert setup.client_secret not in str(headers)

    response = await client.post("/v1/token", data=form, headers=headers)

    assert response.status_code == 200, response.text


async def test_http_basic_with_the_same_values_in_the_form_is_fine(client):
    setup = await f.accepted_setup(client)

    response = await client.post(
        "/v1/token", data=setup.form(), headers=basic(setup.client_id, setup.client_secret)
    )

    assert response.status_code == 200, response.text


async def test_the_earlier_json_body_is_still_accepted(client):
    setup = await f.accepted_setup(client)
    body = {
        "clientId": setup.client_id,
        "clientSecret": setup.client_secret,
        "tenantId": setup.tenant_id,
    }

    response = await client.post("/v1/token", json=body)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    answer = response.json()
    assert set(answer) == BODY_FIELDS
    assert answer["scope"] == f"tenantid:{setup.tenant_id}"
    assert set(answer["urls"]["apps"]) == {"sdmo", "shopfloor"}


async def test_the_token_is_an_rfc9068_jwt_signed_by_a_published_key(client, services):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    jwks = (await client.get("/.well-known/jwks.json")).json()

    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "EdDSA"
    published = {key["kid"]: key for key in jwks["keys"]}
    assert header["kid"] in published

    verified = jwt.decode(
        token,
        jwt.PyJWK(published[header["kid"]]),
        algorithms=["EdDSA"],
        audience="tenantgate",
        issuer="https://tg.example.test",
    )
    assert set(verified) == CLAIMS
    assert verified["sub"] == verified["client_id"] == setup.client_id
    assert verified["scope"] == f"tenantid:{setup.tenant_id}"
    assert verified["tenant_id"] == setup.tenant_id
    assert verified["application_id"] == setup.application_id
    assert verified["apps"] == ["sdmo", "shopfloor"]
    assert verified["exp"] - verified["iat"] == services.settings.token_ttl
    assert isinstance(verified["gen"], int)
    assert verified["jti"]


async def test_a_tampered_token_does_not_verify_against_the_jwks(client):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    jwks = (await client.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid))
    header, payload, signature = token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"sdmo"', b'"sdmX"')
    ).decode()

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            f"{header}.{forged_payload}.{signature}",
            key,
            algorithms=["EdDSA"],
            audience="tenantgate",
        )


async def test_every_token_has_its_own_jti(client):
    setup = await f.accepted_setup(client)

    first = claims((await f.get_token(client, setup))["access_token"])
    second = claims((await f.get_token(client, setup))["access_token"])

    assert first["jti"] != second["jti"]


async def test_the_issuer_setting_is_the_iss_claim(server):
    _services, client = await server(issuer="https://issuer.example.com/")
    setup = await f.accepted_setup(client)

    token = (await f.get_token(client, setup))["access_token"]

    assert claims(token)["iss"] == "https://issuer.example.com"
