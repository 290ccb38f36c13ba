"""An integration hands a payload to the tenant; the operator reads it back."""

from tests import factories as f


async def test_a_payload_is_kept_for_the_tokens_tenant_and_read_back_by_the_operator(client):
    setup = await f.accepted_setup(client)
    token = await f.get_token(client, setup)
    upload_url = token["urls"]["asyncContextUpload"].replace("{AsyncContextId}", "ctx-42")
    headers = {"Authorization": f"Bearer {token['access_token']}", "content-type": "text/csv"}

    response = await client.post(upload_url, content=b"item,qty\nA,1\n", headers=headers)
    assert response.status_code == 201
    assert response.json()["size"] == 13

    error_url = token["urls"]["asyncContextError"].replace("{AsyncContextId}", "ctx-42")
    response = await client.post(error_url, json={"message": "boom"}, headers=headers)
    assert response.status_code == 201

    listing = await client.get(
        f"/admin/v1/tenants/{setup.tenant_id}/async-contexts",
        params={"context_id": "ctx-42"},
        headers=f.ADMIN,
    )
    assert [p["kind"] for p in listing.json()] == ["error", "upload"]
    first = listing.json()[1]
    assert first["application_id"] == setup.application_id
    raw = await client.get(
        f"/admin/v1/tenants/{setup.tenant_id}/async-contexts/payloads/{first['id']}",
        headers=f.ADMIN,
    )
    assert raw.content == b"item,qty\nA,1\n"
    assert raw.headers["content-type"].startswith("text/csv")


async def test_another_tenant_cannot_read_the_payload(client):
    setup = await f.accepted_setup(client)
    other = await f.tenant(client)
    token = await f.get_token(client, setup)
    url = token["urls"]["asyncContextUpload"].replace("{AsyncContextId}", "c1")
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    created = (await client.post(url, content=b"x", headers=auth)).json()
    response = await client.get(
        f"/admin/v1/tenants/{other['tenant_id']}/async-contexts/payloads/{created['id']}",
        headers=f.ADMIN,
    )
    assert response.status_code == 404


async def test_refusals(client, services):
    setup = await f.accepted_setup(client)
    token = await f.get_token(client, setup)
    url = "/v1/asyncContext/c1/upload"
    assert (await client.post(url, content=b"x")).status_code == 401
    bad = await client.post(url, content=b"x", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    huge = b"x" * (services.settings.max_body_bytes + 1)
    too_large = await client.post(url, content=huge, headers=auth)
    assert too_large.status_code == 413
    assert too_large.json()["error"] == "payload_too_large"
    bad_id = await client.post("/v1/asyncContext/a%20b/upload", content=b"x", headers=auth)
    assert bad_id.status_code == 400
    await client.delete("/v1/token", headers={"x-tokens": f"accessToken={token['access_token']}"})
    assert (await client.post(url, content=b"x", headers=auth)).status_code == 401
