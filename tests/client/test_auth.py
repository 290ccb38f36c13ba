"""``TenantAuth`` lets any httpx client (and gql's HTTPX transports) use the token."""

from __future__ import annotations

import httpx
import pytest

from tenantgate.client import AsyncClient, Client

from .fakeserver import FakeServer


def test_tenant_auth_adds_the_bearer_to_a_plain_httpx_client(
    client: Client, server: FakeServer
) -> None:
    with httpx.Client(auth=client.auth) as http:
        response = http.post(client.app_url("sdmo"), json={"query": "{ a }"})

    assert response.status_code == 200
    assert response.json()["data"]["echo"]["query"] == "{ a }"
    authorization = server.state.gateway_requests[0]["authorization"]
    assert authorization == f"Bearer {client.token().access_token}"


def test_tenant_auth_renews_once_on_a_401(client: Client, server: FakeServer) -> None:
    url = client.app_url("sdmo")
    server.state.revoke_all()

    with httpx.Client(auth=client.auth) as http:
        response = http.post(url, json={"query": "{ a }"})

    assert response.status_code == 200
    assert server.state.token_requests == 2
    assert len(server.state.gateway_requests) == 2


def test_tenant_auth_hands_back_a_second_401(client: Client, server: FakeServer) -> None:
    server.state.refuse_all_tokens = True

    with httpx.Client(auth=client.auth) as http:
        response = http.post(client.app_url("sdmo"), json={"query": "{ a }"})

    assert response.status_code == 401
    assert server.state.token_requests == 2


async def test_tenant_auth_serves_an_httpx_async_client(
    aclient: AsyncClient, server: FakeServer
) -> None:
    url = await aclient.app_url("shopfloor")
    server.state.revoke_all()

    async with httpx.AsyncClient(auth=aclient.auth) as http:
        response = await http.post(url, json={"query": "{ a }"})

    assert response.json()["data"]["echo"]["app"] == "shopfloor"
    assert server.state.token_requests == 2


async def test_a_sync_clients_auth_refuses_an_async_httpx_client(client: Client) -> None:
    async with httpx.AsyncClient(auth=client.auth) as http:
        with pytest.raises(TypeError, match=r"use httpx\.Client"):
            await http.get("http://127.0.0.1:1/")


def test_gql_runs_over_tenant_auth(client: Client, server: FakeServer) -> None:
    gql = pytest.importorskip("gql")
    from gql.transport.httpx import HTTPXTransport

    transport = HTTPXTransport(url=client.app_url("sdmo"), auth=client.auth)
    with gql.Client(transport=transport) as session:
        result = session.execute(gql.gql("{ echo { app } }"))

    assert result["echo"]["app"] == "sdmo"
