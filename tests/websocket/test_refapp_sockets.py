"""The reference apps take subscriptions over graphql-transport-ws at /graphql, behind the same
check as HTTP: a verified token whose tenant is the one named, and which grants the app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tenantgate.refapps import JWKSVerifier, create_refapp
from tenantgate.refapps.events import TenantEvents
from tests import factories as f
from tests.websocket.conftest import Server, serving_app
from tests.websocket.helpers import (
    PROTOCOL,
    STOCK_CHANGED,
    WAIT,
    Tenant,
    close_code,
    first_event,
    initialised,
    send,
    socket,
    subscribe,
)


@asynccontextmanager
async def refapp_socket(
    url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[ClientConnection]:
    async with connect(
        url,
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        additional_headers=headers,
        open_timeout=WAIT,
        close_timeout=1,
        proxy=None,
    ) as ws:
        yield ws


@asynccontextmanager
async def standalone_sdmo(server: Server) -> AsyncIterator[str]:
    """A reference app of its own, verifying tokens by the server's JWKS, as it runs behind
    the gateway in production (the in-process ones take only what comes through the gateway);
    its GraphQL URL."""
    # The app runs in the server's thread: no pooled connection may outlive that loop.
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
    jwks_url = f"{server.base_url}/.well-known/jwks.json"
    verifier = JWKSVerifier(jwks_url, audience="tenantgate", transport=transport)
    try:
        with serving_app(create_refapp("sdmo", verifier)) as port:
            yield f"http://127.0.0.1:{port}/graphql"
    finally:
        await verifier.aclose()


async def tenant_of(server: Server, sdmo: str, allowed: list[str] | None = None) -> Tenant:
    apps = {"sdmo": sdmo, "shopfloor": server.refapp_url("shopfloor")}
    setup = await f.accepted_setup(server.http, apps, allowed)
    return Tenant(server, setup, await f.get_token(server.http, setup))


def socket_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://")


async def test_the_token_and_tenant_in_connection_init_open_a_subscription(
    server: Server,
) -> None:
    async with standalone_sdmo(server) as sdmo:
        a = await tenant_of(server, sdmo)
        payload = {"Authorization": f"Bearer {a.access_token}", "X-Tenant-Id": a.setup.tenant_id}
        async with refapp_socket(socket_url(sdmo)) as ws:
            await initialised(ws, payload)
            await subscribe(ws, "1", STOCK_CHANGED)

            event = await first_event(ws, a.order)

        assert event["payload"]["data"]["stockChanged"]["delta"] == -1


async def test_the_token_and_tenant_may_come_as_upgrade_headers(server: Server) -> None:
    async with standalone_sdmo(server) as sdmo:
        a = await tenant_of(server, sdmo)
        headers = {**a.bearer, "X-Tenant-Id": a.setup.tenant_id}
        async with refapp_socket(socket_url(sdmo), headers) as ws:
            await initialised(ws)


async def test_a_token_of_another_tenant_closes_with_4403(server: Server) -> None:
    async with standalone_sdmo(server) as sdmo:
        a, b = await tenant_of(server, sdmo), await tenant_of(server, sdmo)
        payload = {"Authorization": f"Bearer {a.access_token}", "X-Tenant-Id": b.setup.tenant_id}
        async with refapp_socket(socket_url(sdmo)) as ws:
            await send(ws, {"type": "connection_init", "payload": payload})

            assert await close_code(ws) == 4403


async def test_a_token_that_does_not_grant_the_app_closes_with_4403(server: Server) -> None:
    async with standalone_sdmo(server) as sdmo:
        a = await tenant_of(server, sdmo, allowed=["shopfloor"])
        payload = {"Authorization": f"Bearer {a.access_token}", "X-Tenant-Id": a.setup.tenant_id}
        async with refapp_socket(socket_url(sdmo)) as ws:
            await send(ws, {"type": "connection_init", "payload": payload})

            assert await close_code(ws) == 4403


async def test_no_token_closes_with_4401(server: Server) -> None:
    async with standalone_sdmo(server) as sdmo:
        a = await tenant_of(server, sdmo)
        async with refapp_socket(socket_url(sdmo)) as ws:
            await send(
                ws, {"type": "connection_init", "payload": {"X-Tenant-Id": a.setup.tenant_id}}
            )

            assert await close_code(ws) == 4401


async def test_a_standalone_refapp_verifying_by_jwks_serves_subscriptions_through_the_gateway(
    server: Server,
) -> None:
    async with standalone_sdmo(server) as sdmo:
        a = await tenant_of(server, sdmo)
        async with socket(server, "app=sdmo") as ws:
            await initialised(ws, {"Authorization": f"Bearer {a.access_token}"})
            await subscribe(ws, "1", STOCK_CHANGED)

            event = await first_event(ws, a.order)

    assert event["payload"]["data"]["stockChanged"]["delta"] == -1


async def test_a_slow_listener_loses_the_oldest_events_and_other_tenants_see_none() -> None:
    events: TenantEvents[int] = TenantEvents(max_queue=2)
    listening = events.listen("a")
    first = asyncio.ensure_future(anext(listening))
    await asyncio.sleep(0)

    for n in range(5):
        events.publish("a", n)
        events.publish("b", 100 + n)

    assert [await asyncio.wait_for(first, WAIT), await anext(listening)] == [3, 4]
    await listening.aclose()
    assert events.listeners("a") == 0
