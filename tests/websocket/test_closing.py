"""A live /v1/ws connection ends when its token does: 4401 when the token expires or is
invalidated, 4403 when the tenant withdraws the application's access."""

from __future__ import annotations

import time

from websockets.asyncio.client import ClientConnection

from tests import factories as f
from tests.conftest import ManualClock
from tests.websocket.conftest import Server
from tests.websocket.helpers import (
    STOCK_CHANGED,
    Tenant,
    close_code,
    first_event,
    initialised,
    send,
    socket,
    subscribe,
    tenant,
)

# Re-checked every second: a change shows within a second and a little.
PROMPTLY = 2.5


async def subscribed(ws: ClientConnection, a: Tenant) -> None:
    await initialised(ws, {"Authorization": f"Bearer {a.access_token}"})
    await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
    await first_event(ws, a.order)


async def test_invalidating_the_token_closes_with_4401(server: Server) -> None:
    a = await tenant(server)
    async with socket(server) as ws:
        await subscribed(ws, a)
        started = time.monotonic()

        response = await server.http.delete(
            "/v1/token", headers={"x-tokens": f"accessToken={a.access_token}"}
        )
        code = await close_code(ws)

    assert response.status_code == 204
    assert code == 4401
    assert time.monotonic() - started < PROMPTLY


async def test_disabling_the_api_user_closes_with_4403(server: Server) -> None:
    a = await tenant(server)
    async with socket(server) as ws:
        await subscribed(ws, a)
        started = time.monotonic()

        await f.accept(server.http, a.setup.tenant_id, a.setup.application_id, enabled=False)
        code = await close_code(ws)

    assert code == 4403
    assert time.monotonic() - started < PROMPTLY


async def test_deleting_the_api_user_closes_with_4403(server: Server) -> None:
    a = await tenant(server)
    async with socket(server) as ws:
        await subscribed(ws, a)

        response = await server.http.delete(
            f"/admin/v1/tenants/{a.setup.tenant_id}/api-users/{a.setup.application_id}",
            headers=f.ADMIN,
        )
        code = await close_code(ws)

    assert response.status_code == 204
    assert code == 4403


async def test_removing_the_app_in_use_from_the_tenant_closes_with_4403(server: Server) -> None:
    a = await tenant(server)
    async with socket(server) as ws:
        await subscribed(ws, a)

        response = await server.http.delete(
            f"/admin/v1/tenants/{a.setup.tenant_id}/apps/sdmo", headers=f.ADMIN
        )
        code = await close_code(ws)

    assert response.status_code == 204
    assert code == 4403


async def test_an_expiring_token_closes_with_4401(
    clocked_server: Server, clock: ManualClock
) -> None:
    a = await tenant(clocked_server)
    async with socket(clocked_server) as ws:
        await subscribed(ws, a)

        clock.advance(a.token["expires_in"])
        code = await close_code(ws)

    assert code == 4401


async def test_a_missing_token_closes_with_4401(server: Server) -> None:
    async with socket(server) as ws:
        await send(ws, {"type": "connection_init", "payload": {}})

        assert await close_code(ws) == 4401


async def test_an_invalid_token_closes_with_4401(server: Server) -> None:
    async with socket(server, headers={"Authorization": "Bearer not-a-token"}) as ws:
        await send(ws, {"type": "connection_init"})

        assert await close_code(ws) == 4401


async def test_an_already_invalidated_token_closes_with_4401(server: Server) -> None:
    a = await tenant(server)
    await server.http.delete("/v1/token", headers={"x-tokens": f"accessToken={a.access_token}"})
    async with socket(server) as ws:
        await send(ws, {"type": "connection_init", "payload": {"access_token": a.access_token}})

        assert await close_code(ws) == 4401


async def test_two_different_tokens_close_with_4401(server: Server) -> None:
    a, b = await tenant(server), await tenant(server)
    async with socket(server, headers=a.bearer) as ws:
        await send(ws, {"type": "connection_init", "payload": {"access_token": b.access_token}})

        assert await close_code(ws) == 4401
