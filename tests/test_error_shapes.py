"""Every answer of every surface is in that surface's documented shape, the router's own 404
and 405 included, and an error nobody expected is logged once and answered as JSON
``server_error`` without its detail (no plain-text page, no stack trace)."""

from __future__ import annotations

import httpx
import pytest

from tenantgate.app import create_app
from tenantgate.services import Services


@pytest.fixture
async def lenient(services: Services):
    """A client that, like a real server, gets the error answer instead of the exception."""
    transport = httpx.ASGITransport(
        app=create_app(services.settings, services), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="https://tg.example.test") as c:
        yield c


def assert_oauth_shape(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "error_description"} and body["error"] == error, body


async def test_a_method_a_path_does_not_take_is_405_with_allow_in_json(client, subtests):
    for method in ("GET", "PUT", "PATCH", "TRACE"):
        response = await client.request(method, "/v1/token")
        with subtests.test(method=method):
            assert_oauth_shape(response, 405, "invalid_request")
            assert set(response.headers["allow"].replace(" ", "").split(",")) == {
                "POST",
                "DELETE",
            }
    response = await client.request("TRACE", "/.well-known/jwks.json")
    assert_oauth_shape(response, 405, "invalid_request")
    assert "GET" in response.headers["allow"]


async def test_paths_that_lead_nowhere_are_404_in_the_surfaces_shape(client, subtests):
    for path in ("/nothing", "/v1/tokens", "/admin/v2/applications", "/admin"):
        with subtests.test(path=path):
            assert_oauth_shape(await client.get(path), 404, "not_found")
    response = await client.get("/v1/fwd/c1")
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_an_unexpected_error_on_the_token_fast_path_is_a_json_500(
    client, services, monkeypatch
):
    async def broken(*_args, **_kwargs):
        raise RuntimeError("a secret detail")

    monkeypatch.setattr(services.issuer, "issue", broken)
    form = {"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}
    response = await client.post("/v1/token", data={**form, "scope": "tenantid:t"})

    assert_oauth_shape(response, 500, "server_error")
    assert "secret detail" not in response.text


async def test_an_unexpected_error_elsewhere_is_a_json_500(lenient, services, monkeypatch):
    monkeypatch.setattr(services.keys, "jwks", {"keys": [object()]})  # cannot be serialised

    response = await lenient.get("/.well-known/jwks.json")

    assert_oauth_shape(response, 500, "server_error")
    assert "Traceback" not in response.text
