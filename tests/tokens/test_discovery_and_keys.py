"""What ordinary OAuth2 tooling discovers (RFC 8414, the JWKS), and signing-key rotation that
refuses no token signed by the previous key."""

from __future__ import annotations

import jwt

from tests import factories as f
from tests.tokens.calls import claims, is_active
from tests.tokens.servers import running

HOST = "https://tg.example.test"


async def test_the_metadata_names_every_endpoint_and_what_they_accept(client):
    response = await client.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    meta = response.json()
    assert meta["issuer"] == HOST
    assert meta["token_endpoint"] == f"{HOST}/v1/token"
    assert meta["revocation_endpoint"] == f"{HOST}/v1/token/revoke"
    assert meta["introspection_endpoint"] == f"{HOST}/v1/token/introspect"
    assert meta["jwks_uri"] == f"{HOST}/.well-known/jwks.json"
    assert meta["grant_types_supported"] == ["client_credentials"]
    assert "response_types_supported" in meta
    assert {"client_secret_post", "client_secret_basic"} <= set(
        meta["token_endpoint_auth_methods_supported"]
    )
    assert {"client_secret_post", "client_secret_basic"} <= set(
        meta["revocation_endpoint_auth_methods_supported"]
    )


async def test_the_metadata_issuer_is_the_iss_of_the_tokens(client):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]

    meta = (await client.get("/.well-known/oauth-authorization-server")).json()

    assert claims(token)["iss"] == meta["issuer"]


async def test_the_endpoints_the_metadata_names_answer(client):
    meta = (await client.get("/.well-known/oauth-authorization-server")).json()

    for field in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        response = await client.post(meta[field], data={})
        assert response.status_code == 400, (field, response.text)
    assert (await client.get(meta["jwks_uri"])).status_code == 200


async def test_the_jwks_publishes_only_public_ed25519_keys(client):
    response = await client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "OKP"
        assert key["crv"] == "Ed25519"
        assert key["alg"] == "EdDSA"
        assert key["use"] == "sig"
        assert key["kid"] and key["x"]
        assert "d" not in key


async def test_after_a_rotation_new_tokens_use_the_new_key_and_old_ones_still_verify(
    client, services, settings
):
    setup = await f.accepted_setup(client)
    before = (await f.get_token(client, setup))["access_token"]
    old_kid = jwt.get_unverified_header(before)["kid"]

    new_kid = await services.keys.rotate("test")
    after = (await f.get_token(client, setup))["access_token"]

    assert new_kid != old_kid
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    assert await is_active(client, before)
    assert await is_active(client, after)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    published = {key["kid"]: key for key in jwks["keys"]}
    assert {old_kid, new_kid} <= set(published)
    for token in (before, after):
        kid = jwt.get_unverified_header(token)["kid"]
        jwt.decode(token, jwt.PyJWK(published[kid]), algorithms=["EdDSA"], audience="tenantgate")
    async with running(settings, background=False) as restarted:
        assert restarted.keys.signing is not None
        assert restarted.keys.signing.kid == new_kid
        assert old_kid in restarted.keys.keys
