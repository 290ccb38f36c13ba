"""httpx-auth's ``OAuth2ClientCredentials`` as the auth of an httpx client.

httpx-auth keeps only the access token of the answer, so the integrator reads the gateway URLs
once, at configuration time, from a token answer of its own (then invalidates that token)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from httpx_auth import OAuth2ClientCredentials

from .realserver import APPS, QUERIES, ROOTS, Integration, RealServer

pytestmark = pytest.mark.slow


def app_urls(integration: Integration) -> dict[str, Any]:
    answer = httpx.post(integration.token_url, data=integration.form).raise_for_status().json()
    invalidate = answer["urls"]["invalidateToken"]
    headers = {"x-tokens": f"accessToken={answer['access_token']}"}
    httpx.delete(invalidate, headers=headers).raise_for_status()
    return {app: entry["graphQL"] for app, entry in answer["urls"]["apps"].items()}


def test_oauth2_client_credentials(server: RealServer, integration: Integration) -> None:
    urls = app_urls(integration)
    auth = OAuth2ClientCredentials(
        integration.token_url,
        integration.client_id,
        integration.client_secret,
        scope=integration.scope,
    )

    with httpx.Client(auth=auth, timeout=10) as http:
        for app in APPS:
            response = http.post(urls[app], json={"query": QUERIES[app]})
            assert response.status_code == 200, response.text
            assert response.json()["data"][ROOTS[app]]["edges"]

    assert server.issued(integration) == 2
