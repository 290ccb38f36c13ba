"""Whatever an admin client sends, a mistake is answered 400 invalid_request and an unknown
id 404 not_found, in the contract's error shape; never a 5xx, and nothing is stored."""

from __future__ import annotations

import pytest

from tests import factories as f

JSON = {"content-type": "application/json", **f.ADMIN}
USER = {"first_name": "Api", "last_name": "User"}

INVALID = {
    "application: not JSON": ("POST", "/applications", b"name=x"),
    "application: JSON that does not parse": ("POST", "/applications", b'{"name": '),
    "application: a list": ("POST", "/applications", b'["x"]'),
    "application: unknown field": ("POST", "/applications", {"name": "x", "colour": "red"}),
    "application: no name": ("POST", "/applications", {}),
    "application: empty name": ("POST", "/applications", {"name": ""}),
    "application: blank name": ("POST", "/applications", {"name": "   "}),
    "application: name too long": ("POST", "/applications", {"name": "x" * 201}),
    "application: control character in name": ("POST", "/applications", {"name": "a\x07b"}),
    "application: NUL in owner": ("POST", "/applications", {"name": "x", "owner": "a\x00b"}),
    "application: lone surrogate in owner": (
        "POST",
        "/applications",
        b'{"name": "x", "owner": "\\ud800"}',
    ),
    "application: name of the wrong type": ("POST", "/applications", {"name": 42}),
    "status: unknown value": ("PATCH", "/applications/{application_id}", {"status": "paused"}),
    "status: unknown field": (
        "PATCH",
        "/applications/{application_id}",
        {"status": "active", "name": "x"},
    ),
    "tenant: no region": ("POST", "/tenants", {"name": "t", "cluster": "c"}),
    "tenant: region with capitals": (
        "POST",
        "/tenants",
        {"name": "t", "region": "EU", "cluster": "c"},
    ),
    "tenant: cluster with a slash": (
        "POST",
        "/tenants",
        {"name": "t", "region": "eu", "cluster": "a/b"},
    ),
    "tenant: cluster with a newline": (
        "POST",
        "/tenants",
        {"name": "t", "region": "eu", "cluster": "release\n"},
    ),
    "tenant: region with a newline": (
        "POST",
        "/tenants",
        {"name": "t", "region": "eu\n", "cluster": "c"},
    ),
    "tenant: unknown field": (
        "POST",
        "/tenants",
        {"name": "t", "region": "eu", "cluster": "c", "plan": "gold"},
    ),
    "tenant: unknown status": ("PATCH", "/tenants/{tenant_id}", {"status": "deleted"}),
    "app: ftp URL": ("PUT", "/tenants/{tenant_id}/apps/extra", {"graphql_url": "ftp://h/x"}),
    "app: relative URL": ("PUT", "/tenants/{tenant_id}/apps/extra", {"graphql_url": "/graphql"}),
    "app: URL with credentials": (
        "PUT",
        "/tenants/{tenant_id}/apps/extra",
        {"graphql_url": "http://user:pw@h/graphql"},
    ),
    "app: URL with a NUL": (
        "PUT",
        "/tenants/{tenant_id}/apps/extra",
        {"graphql_url": "http://h/\x00"},
    ),
    "app: URL with a lone surrogate": (
        "PUT",
        "/tenants/{tenant_id}/apps/extra",
        b'{"graphql_url": "http://h/\\ud800"}',
    ),
    "app: URL with a space": (
        "PUT",
        "/tenants/{tenant_id}/apps/extra",
        {"graphql_url": "http://h/a b"},
    ),
    "app: broken IPv6 host": (
        "PUT",
        "/tenants/{tenant_id}/apps/extra",
        {"graphql_url": "http://[::1"},
    ),
    "app: http websocket URL": (
        "PUT",
        "/tenants/{tenant_id}/apps/extra",
        {"graphql_url": "http://h/g", "websocket_url": "http://h/ws"},
    ),
    "app: name with capitals": (
        "PUT",
        "/tenants/{tenant_id}/apps/Extra",
        {"graphql_url": "http://h/g"},
    ),
    "app: unknown field": (
        "PUT",
        "/tenants/{tenant_id}/apps/extra",
        {"graphql_url": "http://h/g", "timeout": 3},
    ),
    "api user: no names": ("PUT", "/tenants/{tenant_id}/api-users/{application_id}", {}),
    "api user: bad app name": (
        "PUT",
        "/tenants/{tenant_id}/api-users/{application_id}",
        {**USER, "apps": ["Not An App"]},
    ),
    "api user: apps not a list": (
        "PUT",
        "/tenants/{tenant_id}/api-users/{application_id}",
        {**USER, "apps": "sdmo"},
    ),
    "api user: application id not digits": ("PUT", "/tenants/{tenant_id}/api-users/abc", USER),
    "api user: unknown field": (
        "PUT",
        "/tenants/{tenant_id}/api-users/{application_id}",
        {**USER, "role": "admin"},
    ),
    "audit: limit 0": ("GET", "/audit?limit=0", None),
    "audit: limit too high": ("GET", "/audit?limit=100000", None),
    "audit: limit not a number": ("GET", "/audit?limit=ten", None),
    "audit: before_id not a number": ("GET", "/audit?before_id=x", None),
    "audit: before_id beyond any id": ("GET", "/audit?before_id=99999999999999999999999", None),
    "audit: since not a date": ("GET", "/audit?since=yesterday", None),
    "audit: NUL in tenant_id": ("GET", "/audit?tenant_id=a%00b", None),
    "audit: NUL in application_id": ("GET", "/audit?application_id=1%00", None),
    "audit: NUL in kind": ("GET", "/audit?kind=token%00", None),
    "applications: NUL in owner": ("GET", "/applications?owner=a%00", None),
    "applications: limit over 1,000": ("GET", "/applications?limit=1001", None),
    "applications: a cursor that is not one": ("GET", "/applications?cursor=x%00y", None),
    "tenants: limit 0": ("GET", "/tenants?limit=0", None),
    "tenants: a cursor that is not one": ("GET", "/tenants?cursor=bm9wZQ", None),
    "api users: limit not a number": ("GET", "/tenants/{tenant_id}/api-users?limit=all", None),
    "async contexts: NUL in context_id": (
        "GET",
        "/tenants/{tenant_id}/async-contexts?context_id=a%00",
        None,
    ),
}

NOT_FOUND = {
    "application": ("GET", "/applications/999999999999", None),
    "application with a NUL in its id": ("GET", "/applications/12%0034", None),
    "application with an absurd id": ("GET", "/applications/" + "9" * 300, None),
    "status of an unknown application": (
        "PATCH",
        "/applications/999999999999",
        {"status": "active"},
    ),
    "secret of an unknown application": ("POST", "/applications/999999999999/secrets", None),
    "unknown secret": ("DELETE", "/applications/{application_id}/secrets/sec_nope", None),
    "secret with a NUL in its id": ("DELETE", "/applications/{application_id}/secrets/a%00", None),
    "tenant": ("GET", "/tenants/Dz62IqY7R8o7W6oj_mreA", None),
    "tenant with a NUL in its id": ("GET", "/tenants/a%00b", None),
    "tenant with an absurd id": ("GET", "/tenants/" + "a" * 300, None),
    "patching an unknown tenant": ("PATCH", "/tenants/Dz62IqY7R8o7W6oj_mreA", {"name": "x"}),
    "app of an unknown tenant": (
        "PUT",
        "/tenants/Dz62IqY7R8o7W6oj_mreA/apps/extra",
        {"graphql_url": "http://h/g"},
    ),
    "app of a tenant with a NUL in its id": (
        "PUT",
        "/tenants/a%00/apps/extra",
        {"graphql_url": "http://h/g"},
    ),
    "deleting an unknown app": ("DELETE", "/tenants/{tenant_id}/apps/nope", None),
    "deleting an app with a NUL in its name": ("DELETE", "/tenants/{tenant_id}/apps/a%00", None),
    "api user of a tenant with a NUL in its id": ("GET", "/tenants/a%00/api-users/1", None),
    "deleting an unknown api user": (
        "DELETE",
        "/tenants/{tenant_id}/api-users/999999999999",
        None,
    ),
    "payload beyond any id": (
        "GET",
        "/tenants/{tenant_id}/async-contexts/payloads/99999999999999999999",
        None,
    ),
    "payload of a tenant with a NUL in its id": (
        "GET",
        "/tenants/a%00/async-contexts/payloads/1",
        None,
    ),
    "an unknown route": ("GET", "/nothing-here", None),
}


@pytest.fixture
async def ids(client) -> dict[str, str]:
    app = await f.application(client)
    tenant = await f.tenant(client, f.DEFAULT_APPS)
    return {"application_id": app["application_id"], "tenant_id": tenant["tenant_id"]}


async def every_application(client) -> list[dict]:
    found, url = [], "/admin/v1/applications?limit=1000"
    while url:
        response = await client.get(url, headers=f.ADMIN)
        found += response.json()
        url = response.headers.get("x-next-cursor") and response.links["next"]["url"]
    return found


async def send(client, method: str, path: str, body, ids: dict[str, str]):
    url = "/admin/v1" + path.format(**ids)
    if isinstance(body, bytes):
        return await client.request(method, url, content=body, headers=JSON)
    return await client.request(method, url, json=body, headers=f.ADMIN)


async def test_invalid_input_is_invalid_request(client, ids, subtests):
    for case, (method, path, body) in INVALID.items():
        response = await send(client, method, path, body, ids)
        with subtests.test(case):
            assert response.status_code == 400, response.text
            assert set(response.json()) == {"error", "error_description"}
            assert response.json()["error"] == "invalid_request"
            assert response.json()["error_description"]


async def test_unknown_ids_are_not_found(client, ids, subtests):
    for case, (method, path, body) in NOT_FOUND.items():
        response = await send(client, method, path, body, ids)
        with subtests.test(case):
            assert response.status_code == 404, response.text
            assert set(response.json()) == {"error", "error_description"}
            assert response.json()["error"] == "not_found"


async def test_refused_input_changes_nothing(client, ids):
    before = await client.get(f"/admin/v1/tenants/{ids['tenant_id']}", headers=f.ADMIN)
    applications_before = await every_application(client)

    for method, path, body in INVALID.values():
        await send(client, method, path, body, ids)

    after = await client.get(f"/admin/v1/tenants/{ids['tenant_id']}", headers=f.ADMIN)
    applications_after = await every_application(client)
    assert after.json() == before.json()
    assert applications_after == applications_before
    api_users = await client.get(f"/admin/v1/tenants/{ids['tenant_id']}/api-users", headers=f.ADMIN)
    assert api_users.json() == []
