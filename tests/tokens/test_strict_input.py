"""Every token-API surface reads its input strictly and answers what it cannot read with a 400
in the OAuth error shape: JSON nested too deeply or with a repeated key, a scope with spaces
around it, two accessToken pairs in x-tokens, an introspection or revocation body that is not a
form or is over the limit. None of them is a 5xx, and none is read leniently."""

from __future__ import annotations

import json

import pytest

from tenantgate.services import Services
from tests import factories as f
from tests.conftest import ADMIN_TOKEN
from tests.rawhttp import exchange
from tests.tokens.calls import assert_oauth_error
from tests.websocket.conftest import serving

JSON = {"content-type": "application/json"}


async def test_a_deeply_nested_json_body_is_invalid_request(client):
    body = b'{"clientId": ' + b"[" * 1000 + b"]" * 1000 + b"}"

    response = await client.post("/v1/token", content=body, headers=JSON)

    assert_oauth_error(response, 400, "invalid_request")
    assert "deeper" in response.json()["error_description"]


async def test_a_repeated_key_in_the_json_body_is_invalid_request(client):
    setup = await f.accepted_setup(client)
    body = (
        f'{{"clientId": "{setup.client_id}", "clientSecret": "tgs_guess", '
        f'"clientSecret": "{setup.client_secret}", "tenantId": "{setup.tenant_id}"}}'
    )

    response = await client.post("/v1/token", content=body.encode(), headers=JSON)

    assert_oauth_error(response, 400, "invalid_request")
    assert "more than once" in response.json()["error_description"]


async def test_a_json_body_that_is_not_utf8_is_invalid_request(client):
    response = await client.post("/v1/token", content=b'{"clientId": "\xff"}', headers=JSON)

    assert_oauth_error(response, 400, "invalid_request")


async def test_a_scope_with_spaces_around_it_is_invalid_scope(client, subtests):
    setup = await f.accepted_setup(client)
    for scope in (f" tenantid:{setup.tenant_id}", f"tenantid:{setup.tenant_id} ", "tenantid:\t"):
        response = await client.post("/v1/token", data=setup.form(scope=scope))
        with subtests.test(scope=scope):
            assert_oauth_error(response, 400, "invalid_scope")
    body = {
        "clientId": setup.client_id,
        "clientSecret": setup.client_secret,
        "tenantId": f" {setup.tenant_id}",
    }
    assert_oauth_error(await client.post("/v1/token", json=body), 400, "invalid_scope")


async def test_two_access_tokens_in_x_tokens_are_refused_and_neither_is_invalidated(client):
    setup = await f.accepted_setup(client)
    first = (await f.get_token(client, setup))["access_token"]
    second = (await f.get_token(client, setup))["access_token"]

    response = await client.delete(
        "/v1/token", headers={"x-tokens": f"accessToken={first}; accessToken={second}"}
    )

    assert_oauth_error(response, 400, "invalid_request")
    for token in (first, second):
        introspected = await client.post(
            "/v1/token/introspect",
            data={"token": token},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert introspected.json()["active"] is True


async def test_introspection_and_revocation_read_only_forms(client, subtests):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for content_type in ("text/plain", "application/json", ""):
        headers = {**admin, "content-type": content_type} if content_type else admin
        with subtests.test(path="introspect", content_type=content_type):
            response = await client.post(
                "/v1/token/introspect", content=f"token={token}".encode(), headers=headers
            )
            assert_oauth_error(response, 400, "invalid_request")
        form = {"token": token, "client_id": setup.client_id, "client_secret": setup.client_secret}
        with subtests.test(path="revoke", content_type=content_type):
            response = await client.post(
                "/v1/token/revoke",
                content=json.dumps(form).encode(),
                headers={"content-type": content_type or "text/plain"},
            )
            assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize("path", ["/v1/token/introspect", "/v1/token/revoke"])
async def test_a_form_over_the_limit_is_refused_before_it_is_read(settings, path):
    """Revocation and introspection read their form with the one body reader: 10 MB announced,
    a few bytes sent, and the answer comes at once (over real HTTP)."""
    custom = settings.model_copy(update={"refapps": False})
    with serving(custom, Services.build(custom)) as port:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n"
            f"Authorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
        )
        status, _, content = await exchange(port, head, b"token=abc")
    assert status == 400
    assert json.loads(content)["error"] == "invalid_request"
