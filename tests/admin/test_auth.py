"""Every admin route needs the operator's bearer token; without it the answer is 401 in the
contract's error shape, and nothing happens."""

from __future__ import annotations

from tests import factories as f

ROUTES = [
    ("POST", "/admin/v1/applications", {"name": "x"}),
    ("GET", "/admin/v1/applications", None),
    ("GET", "/admin/v1/applications/{application_id}", None),
    ("PATCH", "/admin/v1/applications/{application_id}", {"status": "suspended"}),
    ("POST", "/admin/v1/applications/{application_id}/secrets", None),
    ("DELETE", "/admin/v1/applications/{application_id}/secrets/{secret_id}", None),
    ("POST", "/admin/v1/tenants", {"name": "t", "region": "eu", "cluster": "c"}),
    ("GET", "/admin/v1/tenants", None),
    ("GET", "/admin/v1/tenants/{tenant_id}", None),
    ("PATCH", "/admin/v1/tenants/{tenant_id}", {"status": "suspended"}),
    ("PUT", "/admin/v1/tenants/{tenant_id}/apps/extra", {"graphql_url": "http://127.0.0.1:9/"}),
    ("DELETE", "/admin/v1/tenants/{tenant_id}/apps/sdmo", None),
    (
        "PUT",
        "/admin/v1/tenants/{tenant_id}/api-users/{application_id}",
        {"first_name": "A", "last_name": "B", "enabled": False},
    ),
    ("GET", "/admin/v1/tenants/{tenant_id}/api-users", None),
    ("GET", "/admin/v1/tenants/{tenant_id}/api-users/{application_id}", None),
    ("DELETE", "/admin/v1/tenants/{tenant_id}/api-users/{application_id}", None),
    ("GET", "/admin/v1/audit", None),
    ("GET", "/admin/v1/tenants/{tenant_id}/async-contexts", None),
    ("GET", "/admin/v1/tenants/{tenant_id}/async-contexts/payloads/1", None),
]
BAD_CREDENTIALS = {
    "none": {},
    "wrong token": {"Authorization": "Bearer tga_wrong"},
    "empty bearer": {"Authorization": "Bearer "},
    "basic": {"Authorization": "Basic dGdhX3Rlc3QtYWRtaW4tdG9rZW46"},
    "token without scheme": {"Authorization": "tga_test-admin-token"},
}


async def test_every_route_refuses_a_caller_without_the_admin_token(client, subtests):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    ids = {
        "application_id": setup.application_id,
        "secret_id": setup.secret_id,
        "tenant_id": setup.tenant_id,
    }
    credentials = {**BAD_CREDENTIALS, "an access token": {"Authorization": f"Bearer {token}"}}

    for method, path, body in ROUTES:
        for case, headers in credentials.items():
            response = await client.request(method, path.format(**ids), json=body, headers=headers)
            with subtests.test(f"{method} {path}, {case}"):
                assert response.status_code == 401, response.text
                assert response.json() == {
                    "error": "invalid_token",
                    "error_description": response.json()["error_description"],
                }
                assert response.headers["www-authenticate"].startswith("Bearer")

    still = await client.get(f"/admin/v1/applications/{setup.application_id}", headers=f.ADMIN)
    assert still.json()["status"] == "active"
    assert len(still.json()["secrets"]) == 1
    assert (await client.post("/v1/token", data=setup.form())).status_code == 200
