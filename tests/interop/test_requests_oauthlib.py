"""requests-oauthlib's backend application flow, with the secret in the form and in Basic."""

from __future__ import annotations

from typing import Any

import pytest
from oauthlib.oauth2 import BackendApplicationClient
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from .realserver import APPS, QUERIES, ROOTS, Integration

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib insists on https; the test server speaks http on 127.0.0.1."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def session(integration: Integration) -> OAuth2Session:
    # The scope of the request comes from the oauthlib client; the session's is what the answer
    # is checked against.
    scope = [integration.scope]
    client = BackendApplicationClient(client_id=integration.client_id, scope=scope)
    return OAuth2Session(client=client, scope=scope)


def query_both_apps(oauth: OAuth2Session, token: dict[str, Any]) -> None:
    for app in APPS:
        response = oauth.post(
            token["urls"]["apps"][app]["graphQL"], json={"query": QUERIES[app]}, timeout=10
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"][ROOTS[app]]["edges"]


def test_client_secret_post(integration: Integration) -> None:
    with session(integration) as oauth:
        token = oauth.fetch_token(
            integration.token_url,
            client_id=integration.client_id,
            client_secret=integration.client_secret,
            include_client_id=True,
            timeout=10,
        )
        assert token["scope"] == [integration.scope]
        query_both_apps(oauth, token)


def test_client_secret_basic(integration: Integration) -> None:
    with session(integration) as oauth:
        auth = HTTPBasicAuth(integration.client_id, integration.client_secret)
        token = oauth.fetch_token(integration.token_url, auth=auth, timeout=10)
        query_both_apps(oauth, token)
