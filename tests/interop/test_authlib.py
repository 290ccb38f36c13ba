"""Authlib's httpx clients get a token with client_secret_post and client_secret_basic, and
call both apps at the URLs of the token answer."""

from __future__ import annotations

import warnings

import httpx
import pytest
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # Authlib 1.9 warns, always, when it falls back on httpx for want of the httpx2 package.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client

from .realserver import APPS, QUERIES, ROOTS, Integration, RealServer

pytestmark = pytest.mark.slow

AUTH_METHODS = ["client_secret_post", "client_secret_basic"]


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_oauth2_client(integration: Integration, auth_method: str) -> None:
    with OAuth2Client(
        integration.client_id,
        integration.client_secret,
        token_endpoint_auth_method=auth_method,
    ) as client:
        token = client.fetch_token(
            integration.token_url, grant_type="client_credentials", scope=integration.scope
        )
        assert token["token_type"] == "Bearer"
        assert token["tenant_id"] == integration.tenant_id

        for app in APPS:
            response = client.post(
                token["urls"]["apps"][app]["graphQL"], json={"query": QUERIES[app]}
            )
            assert response.status_code == 200, response.text
            assert response.json()["data"][ROOTS[app]]["edges"]


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
async def test_async_oauth2_client(
    server: RealServer, integration: Integration, auth_method: str
) -> None:
    async with AsyncOAuth2Client(
        integration.client_id,
        integration.client_secret,
        token_endpoint_auth_method=auth_method,
    ) as client:
        token = await client.fetch_token(
            integration.token_url, grant_type="client_credentials", scope=integration.scope
        )
        for app in APPS:
            response = await client.post(
                token["urls"]["apps"][app]["graphQL"], json={"query": QUERIES[app]}
            )
            assert response.status_code == 200, response.text
            assert response.json()["data"][ROOTS[app]]["edges"]

    assert server.issued(integration) == 1


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_revocation_found_in_the_server_metadata(
    server: RealServer, integration: Integration, auth_method: str
) -> None:
    metadata = httpx.get(f"{server.url}/.well-known/oauth-authorization-server").json()
    with OAuth2Client(
        integration.client_id,
        integration.client_secret,
        token_endpoint_auth_method=auth_method,
        revocation_endpoint_auth_method=auth_method,
    ) as client:
        token = client.fetch_token(
            metadata["token_endpoint"], grant_type="client_credentials", scope=integration.scope
        )
        revoked = client.revoke_token(metadata["revocation_endpoint"], token=token["access_token"])
        refused = client.post(
            token["urls"]["apps"]["sdmo"]["graphQL"], json={"query": QUERIES["sdmo"]}
        )

    assert revoked.status_code == 200
    assert server.introspect(token["access_token"]) == {"active": False}
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
