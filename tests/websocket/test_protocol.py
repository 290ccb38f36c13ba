"""The graphql-transport-ws rules of /v1/ws, driven at the ASGI level: refusals and their close
codes, and what goes to the upstream and comes back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tenantgate.gateway.websocket import GraphQLSocket
from tenantgate.services import Services
from tests import factories as f
from tests.websocket.fakes import DrivenSocket, scripted_upstream, silent_upstream

SUBSCRIBE = {"query": "subscription { stockChanged { itemId } }", "extensions": {"app": "sdmo"}}


@pytest.fixture
def endpoint(services: Services) -> GraphQLSocket:
    return GraphQLSocket(services)


async def token_for(client: httpx.AsyncClient, apps: dict[str, Any] | None = None) -> str:
    setup = await f.accepted_setup(client, apps)
    token: str = (await f.get_token(client, setup))["access_token"]
    return token


async def tenant_with_socket_app(client: httpx.AsyncClient, websocket_url: str) -> str:
    """A token of a new tenant whose sdmo has an explicit upstream WebSocket URL."""
    setup = await f.accepted_setup(client, {})
    body = {"graphql_url": "http://127.0.0.1:9/graphql", "websocket_url": websocket_url}
    put = await client.put(
        f"/admin/v1/tenants/{setup.tenant_id}/apps/sdmo", json=body, headers=f.ADMIN
    )
    assert put.status_code == 201, put.text
    token: str = (await f.get_token(client, setup))["access_token"]
    return token


async def test_the_subprotocol_is_graphql_transport_ws(endpoint: GraphQLSocket) -> None:
    async with DrivenSocket(endpoint) as ws:
        assert ws.accepted["subprotocol"] == "graphql-transport-ws"


async def test_another_subprotocol_closes_with_4406(endpoint: GraphQLSocket) -> None:
    async with DrivenSocket(endpoint, subprotocols=("graphql-ws",)) as ws:
        assert ws.accepted.get("subprotocol") is None
        assert await ws.close_code() == 4406


@pytest.mark.parametrize(
    "text", ["not json", "[]", '{"no": "type"}', '{"type": "shout"}', '{"type": 7}']
)
async def test_a_message_outside_the_protocol_closes_with_4400(
    endpoint: GraphQLSocket, text: str
) -> None:
    async with DrivenSocket(endpoint) as ws:
        await ws.send_text(text)

        assert await ws.close_code() == 4400


async def test_a_binary_message_closes_with_4400(endpoint: GraphQLSocket) -> None:
    async with DrivenSocket(endpoint) as ws:
        await ws.send_bytes(b'{"type": "connection_init"}')

        assert await ws.close_code() == 4400


async def test_a_connection_init_payload_that_is_not_an_object_closes_with_4400(
    endpoint: GraphQLSocket,
) -> None:
    async with DrivenSocket(endpoint) as ws:
        await ws.send({"type": "connection_init", "payload": "Bearer x"})

        assert await ws.close_code() == 4400


async def test_a_message_over_the_body_limit_closes_with_1009(
    endpoint: GraphQLSocket, services: Services
) -> None:
    async with DrivenSocket(endpoint) as ws:
        await ws.send_text(" " * (services.settings.max_body_bytes + 1))

        assert await ws.close_code() == 1009


async def test_subscribing_before_connection_init_closes_with_4401(
    endpoint: GraphQLSocket,
) -> None:
    async with DrivenSocket(endpoint) as ws:
        await ws.send({"id": "1", "type": "subscribe", "payload": SUBSCRIBE})

        assert await ws.close_code() == 4401


async def test_no_connection_init_in_time_closes_with_4408(services: Services) -> None:
    async with DrivenSocket(GraphQLSocket(services, init_timeout=0.05)) as ws:
        assert await ws.close_code() == 4408


async def test_a_second_connection_init_closes_with_4429(
    endpoint: GraphQLSocket, client: httpx.AsyncClient
) -> None:
    token = await token_for(client)
    async with DrivenSocket(endpoint) as ws:
        await ws.initialised(token)
        await ws.send({"type": "connection_init", "payload": {"access_token": token}})

        assert await ws.close_code() == 4429


async def test_ping_is_answered_with_pong(endpoint: GraphQLSocket) -> None:
    async with DrivenSocket(endpoint) as ws:
        await ws.send({"type": "ping", "payload": {"n": 1}})

        assert await ws.receive() == {"type": "pong"}


async def test_a_subscription_id_in_use_closes_with_4409(
    endpoint: GraphQLSocket, client: httpx.AsyncClient
) -> None:
    with silent_upstream() as url:
        token = await token_for(client, {"sdmo": url})
        async with DrivenSocket(endpoint) as ws:
            await ws.initialised(token)
            await ws.send({"id": "1", "type": "subscribe", "payload": SUBSCRIBE})
            await ws.send({"id": "1", "type": "subscribe", "payload": SUBSCRIBE})

            assert await ws.close_code() == 4409


async def test_the_upstream_gets_the_token_and_the_gateway_set_headers(
    endpoint: GraphQLSocket, client: httpx.AsyncClient
) -> None:
    async with scripted_upstream() as upstream:
        token = await tenant_with_socket_app(client, upstream.url)
        headers = {"X-Tenant-Id": "someone-else", "X-Client-Id": "forged"}
        async with DrivenSocket(endpoint, headers=headers) as ws:
            await ws.initialised(token)
            await ws.send({"id": "a", "type": "subscribe", "payload": SUBSCRIBE})
            first = await ws.receive()
            done = await ws.receive()

    claims = client_claims(endpoint, token)
    [init] = upstream.inits
    [upgrade] = upstream.upgrades
    expected = {
        "Authorization": f"Bearer {token}",
        "X-Tenant-Id": claims.tenant_id,
        "X-Application-Id": claims.application_id,
        "X-Client-Id": claims.client_id,
        "X-Tenantgate-Gateway": endpoint.proof.sign(claims.tenant_id, "sdmo", claims.jti),
    }
    assert init["type"] == "connection_init"
    assert init["payload"] == {**expected, "X-Request-Id": init["payload"]["X-Request-Id"]}
    assert {name.lower(): value for name, value in expected.items()}.items() <= upgrade.items()
    assert upstream.subscribes[0]["payload"] == SUBSCRIBE
    assert first == {"id": "a", "type": "next", "payload": {"data": 1}}
    assert done == {"id": "a", "type": "complete"}


async def test_an_id_the_upstream_completed_may_be_used_again(
    endpoint: GraphQLSocket, client: httpx.AsyncClient
) -> None:
    async with scripted_upstream() as upstream:
        token = await tenant_with_socket_app(client, upstream.url)
        async with DrivenSocket(endpoint) as ws:
            await ws.initialised(token)
            for _ in range(2):
                await ws.send({"id": "a", "type": "subscribe", "payload": SUBSCRIBE})
                assert (await ws.receive())["type"] == "next"
                assert (await ws.receive())["type"] == "complete"

    assert len(upstream.subscribes) == 2
    assert len(upstream.inits) == 1


@pytest.mark.parametrize(
    ("close", "code"), [(4403, "FORBIDDEN"), (4401, "UNAUTHENTICATED"), (1011, "BAD_GATEWAY")]
)
async def test_an_upstream_close_ends_its_subscriptions_with_an_error(
    endpoint: GraphQLSocket, client: httpx.AsyncClient, close: int, code: str
) -> None:
    async with scripted_upstream() as upstream:
        token = await tenant_with_socket_app(client, upstream.url)
        async with DrivenSocket(endpoint) as ws:
            await ws.initialised(token)
            payload = {**SUBSCRIBE, "query": f"close {close}"}
            await ws.send({"id": "a", "type": "subscribe", "payload": payload})
            refused = await ws.receive()
            await ws.send({"type": "ping"})
            still_open = await ws.receive()

    assert refused["id"] == "a"
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == code
    assert still_open == {"type": "pong"}


def client_claims(endpoint: GraphQLSocket, token: str) -> Any:
    return endpoint.verifier.verify(token).claims
