"""POST /v1/token refusals: each row of the contract's error table, as RFC 6749 §5.2 JSON."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import urlencode

import httpx

from tenantgate.app import create_app
from tests import factories as f
from tests.tokens.calls import assert_oauth_error, basic

FORM = {"content-type": "application/x-www-form-urlencoded"}


# invalid_client


async def test_an_unknown_client_is_invalid_client(client):
    setup = await f.accepted_setup(client)

    response = await client.post("/v1/token", data=setup.form(client_id="nobody-knows-me"))

    assert_oauth_error(response, 403, "invalid_client")
    assert response.headers["cache-control"] == "no-store"


async def test_a_wrong_secret_is_invalid_client(client):
    setup = await f.accepted_setup(client)

    response = await client.post("/v1/token", data=setup.form(client_secret="tgs_wrong"))

    assert_oauth_error(response, 403, "invalid_client")


async def test_a_wrong_secret_in_http_basic_is_invalid_client(client):
    setup = await f.accepted_setup(client)
    form = {"grant_type": "client_credentials", "scope": f"tenantid:{setup.tenant_id}"}

    response = await client.post("/v1/token", data=form, headers=basic(setup.client_id, "nope"))

    assert_oauth_error(response, 403, "invalid_client")


async def test_a_retired_secret_is_invalid_client(client):
    setup = await f.accepted_setup(client)
    added = await client.post(
        f"/admin/v1/applications/{setup.application_id}/secrets", headers=f.ADMIN
    )
    assert added.status_code == 201
    retired = await client.delete(
        f"/admin/v1/applications/{setup.application_id}/secrets/{setup.secret_id}",
        headers=f.ADMIN,
    )
    assert retired.status_code == 204

    response = await client.post("/v1/token", data=setup.form())

    assert_oauth_error(response, 403, "invalid_client")


async def test_a_suspended_application_is_invalid_client(client):
    setup = await f.accepted_setup(client)
    patched = await client.patch(
        f"/admin/v1/applications/{setup.application_id}",
        json={"status": "suspended"},
        headers=f.ADMIN,
    )
    assert patched.status_code == 200

    response = await client.post("/v1/token", data=setup.form())

    assert_oauth_error(response, 403, "invalid_client")


# access_denied: one answer for four reasons


async def test_access_denied_looks_the_same_whatever_the_reason(client):
    setup = await f.accepted_setup(client)
    not_accepted = await f.tenant(client, f.DEFAULT_APPS)
    suspended = await f.tenant(client, f.DEFAULT_APPS)
    await f.accept(client, suspended["tenant_id"], setup.application_id)
    patched = await client.patch(
        f"/admin/v1/tenants/{suspended['tenant_id']}", json={"status": "suspended"}, headers=f.ADMIN
    )
    assert patched.status_code == 200
    disabled = await f.tenant(client, f.DEFAULT_APPS)
    await f.accept(client, disabled["tenant_id"], setup.application_id, enabled=False)

    async def ask(tenant_id: str):
        return await client.post("/v1/token", data=setup.form(scope=f"tenantid:{tenant_id}"))

    answers = {
        "no such tenant": await ask("Dz62IqY7R8o7W6oj_mreA"),
        "tenant suspended": await ask(suspended["tenant_id"]),
        "no API user": await ask(not_accepted["tenant_id"]),
        "API user disabled": await ask(disabled["tenant_id"]),
    }

    for response in answers.values():
        assert_oauth_error(response, 403, "access_denied")
    bodies = {reason: response.content for reason, response in answers.items()}
    assert len(set(bodies.values())) == 1, bodies
    headers = {
        reason: sorted((k, v) for k, v in r.headers.items() if k != "date")
        for reason, r in answers.items()
    }
    assert len({tuple(h) for h in headers.values()}) == 1, headers


# invalid_request


def _form(setup: f.Setup, *, without: str = "", **overrides: str) -> bytes:
    fields = {k: v for k, v in setup.form(**overrides).items() if k != without}
    return urlencode(fields).encode()


INVALID_REQUESTS = {
    "missing grant_type": lambda s: (FORM, _form(s, without="grant_type")),
    "missing client_secret": lambda s: (FORM, _form(s, without="client_secret")),
    "missing client_id": lambda s: (FORM, _form(s, without="client_id")),
    "empty client_id": lambda s: (FORM, _form(s, client_id="")),
    "malformed form": lambda s: (FORM, _form(s) + b"&just-a-word"),
    "form that is not UTF-8": lambda s: (FORM, _form(s) + b"&x=\xff\xfe"),
    "duplicated parameter": lambda s: (FORM, _form(s) + b"&client_id=" + s.client_id.encode()),
    "duplicated scope": lambda s: (FORM, _form(s) + b"&scope=tenantid%3Aother"),
    "text/plain": lambda s: ({"content-type": "text/plain"}, _form(s)),
    "no content type": lambda s: ({}, _form(s)),
    "multipart": lambda s: ({"content-type": "multipart/form-data; boundary=x"}, _form(s)),
    "json that does not parse": lambda s: ({"content-type": "application/json"}, b'{"clientId":'),
    "json that is not an object": lambda s: ({"content-type": "application/json"}, b"[1, 2]"),
    "json without tenantId": lambda s: (
        {"content-type": "application/json"},
        f'{{"clientId": "{s.client_id}", "clientSecret": "{s.client_secret}"}}'.encode(),
    ),
    "json with a number for clientSecret": lambda s: (
        {"content-type": "application/json"},
        f'{{"clientId": "{s.client_id}", "clientSecret": 1, "tenantId": "{s.tenant_id}"}}'.encode(),
    ),
    "Authorization that is not Basic": lambda s: (
        {**FORM, "authorization": "Bearer abc"},
        _form(s),
    ),
    "Basic that is not base64": lambda s: ({**FORM, "authorization": "Basic %%%"}, _form(s)),
    "Basic without a colon": lambda s: (
        {**FORM, "authorization": "Basic " + base64.b64encode(s.client_id.encode()).decode()},
        _form(s),
    ),
    "Basic and form secrets that differ": lambda s: (
        {**FORM, **basic(s.client_id, s.client_secret)},
        _form(s, client_secret="tgs_something-else"),
    ),
    "Basic and form client ids that differ": lambda s: (
        {**FORM, **basic(s.client_id, s.client_secret)},
        _form(s, client_id="someone-else"),
    ),
    "a body over the size limit": lambda s: (FORM, _form(s) + b"&pad=" + b"a" * 20_000),
}


async def test_a_malformed_request_is_invalid_request(client, subtests):
    setup = await f.accepted_setup(client)

    for case, build in INVALID_REQUESTS.items():
        headers, body = build(setup)
        response = await client.post("/v1/token", content=body, headers=headers)
        with subtests.test(case):
            assert_oauth_error(response, 400, "invalid_request")


# unsupported_grant_type and invalid_scope


async def test_another_grant_type_is_unsupported(client, subtests):
    setup = await f.accepted_setup(client)

    for grant_type in ["password", "authorization_code", "CLIENT_CREDENTIALS", "refresh_token"]:
        response = await client.post("/v1/token", data=setup.form(grant_type=grant_type))
        with subtests.test(grant_type):
            assert_oauth_error(response, 400, "unsupported_grant_type")


async def test_another_grant_type_in_the_json_body_is_unsupported(client):
    setup = await f.accepted_setup(client)
    body = {
        "grant_type": "password",
        "clientId": setup.client_id,
        "clientSecret": setup.client_secret,
        "tenantId": setup.tenant_id,
    }

    response = await client.post("/v1/token", json=body)

    assert_oauth_error(response, 400, "unsupported_grant_type")


async def test_a_scope_that_does_not_name_one_tenant_is_invalid_scope(client, subtests):
    setup = await f.accepted_setup(client)
    scopes = [
        None,
        "",
        "tenant:{t}",
        "tenantid:",
        "{t}",
        "tenantid:{t} tenantid:{t}",
        "tenantid:a/b",
    ]

    for scope in scopes:
        form = setup.form()
        if scope is None:
            del form["scope"]
        else:
            form["scope"] = scope.format(t=setup.tenant_id)
        response = await client.post("/v1/token", data=form)
        with subtests.test(scope=scope):
            assert_oauth_error(response, 400, "invalid_scope")


async def test_a_malformed_tenant_id_in_the_json_body_is_invalid_scope(client):
    setup = await f.accepted_setup(client)
    body = {"clientId": setup.client_id, "clientSecret": setup.client_secret, "tenantId": "a b"}

    response = await client.post("/v1/token", json=body)

    assert_oauth_error(response, 400, "invalid_scope")


# inputs that a database cannot store


async def test_a_secret_that_is_not_valid_unicode_is_invalid_request(client):
    setup = await f.accepted_setup(client)
    body = (
        f'{{"clientId": "{setup.client_id}", "clientSecret": "\\ud800",'
        f' "tenantId": "{setup.tenant_id}"}}'
    ).encode()

    response = await client.post(
        "/v1/token", content=body, headers={"content-type": "application/json"}
    )

    assert_oauth_error(response, 400, "invalid_request")


UNSTORABLE_CLIENT_IDS = {
    "lone surrogate": '"\\ud800"',
    "NUL": '"a\\u0000b"',
    "control character": '"tab\\there"',
}


async def test_a_client_id_no_database_can_store_does_not_spoil_other_requests(client, subtests):
    """The refusal of such a request must not take the good requests of the same commit
    batch down with it."""
    setup = await f.accepted_setup(client)

    for case, client_id in UNSTORABLE_CLIENT_IDS.items():
        bad = f'{{"clientId": {client_id}, "clientSecret": "x", "tenantId": "{setup.tenant_id}"}}'
        refused, *good = await asyncio.gather(
            client.post("/v1/token", content=bad, headers={"content-type": "application/json"}),
            *[client.post("/v1/token", data=setup.form()) for _ in range(3)],
        )
        with subtests.test(case):
            assert_oauth_error(refused, 400, "invalid_request")
            assert [r.status_code for r in good] == [200, 200, 200]


async def test_a_nul_in_a_form_client_id_is_invalid_request(client):
    setup = await f.accepted_setup(client)

    refused = await client.post("/v1/token", data=setup.form(client_id="a\x00b"))
    accepted = await client.post("/v1/token", data=setup.form())

    assert_oauth_error(refused, 400, "invalid_request")
    assert accepted.status_code == 200, accepted.text


async def test_another_method_on_the_token_endpoint_is_405_allowing_post_and_delete(client):
    for method in ("GET", "PUT", "PATCH"):
        response = await client.request(method, "/v1/token")

        assert response.status_code == 405
        assert set(response.headers["allow"].split(", ")) == {"POST", "DELETE"}


async def test_the_router_issues_tokens_too_when_the_fast_path_is_bypassed(client, services):
    setup = await f.accepted_setup(client)
    router_only = create_app(services.settings, services).app  # the app behind TokenFastPath
    transport = httpx.ASGITransport(app=router_only)
    async with httpx.AsyncClient(transport=transport, base_url="https://tg.example.test") as c:
        response = await c.post("/v1/token", data=setup.form())

    assert response.status_code == 200
    assert response.json()["tenant_id"] == setup.tenant_id
