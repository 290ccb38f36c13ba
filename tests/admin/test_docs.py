"""The admin API documents itself: OpenAPI at /admin/v1/openapi.json, and a Swagger UI page
whose every script, style and icon is served by tenantgate itself (nothing from a CDN)."""

from __future__ import annotations

import re


async def test_the_openapi_document_lists_the_admin_routes(client):
    response = await client.get("/admin/v1/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/applications" in paths
    assert "/tenants/{tenant_id}/api-users/{application_id}" in paths
    assert "/audit" in paths


async def test_the_openapi_document_says_how_lists_page(client):
    paths = (await client.get("/admin/v1/openapi.json")).json()["paths"]

    for path in ("/applications", "/tenants", "/tenants/{tenant_id}/api-users", "/audit"):
        listing = paths[path]["get"]
        names = {p["name"] for p in listing["parameters"]}
        assert {"limit", "cursor"} <= names, path
        assert {"Link", "X-Next-Cursor"} <= set(listing["responses"]["200"]["headers"]), path


async def test_the_docs_page_loads_everything_from_this_server(client):
    page = await client.get("/admin/v1/docs")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page.text)
    urls = [a or b for a, b in references]
    assert urls, "the page references its script, style and OpenAPI document"
    assert not [u for u in urls if "//" in u], "nothing is fetched from another host"
    fetched = {u: await client.get(u) for u in urls}
    assert {u: r.status_code for u, r in fetched.items()} == {u: 200 for u in urls}
    types = {r.headers["content-type"].split(";")[0] for r in fetched.values()}
    assert "text/css" in types and "application/json" in types and "image/png" in types
    assert any(t.endswith("/javascript") for t in types)
