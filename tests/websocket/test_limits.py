"""A subscription is held to its app's query limits as an HTTP request is: when it starts, and
while it runs, so that limits lowered by a tenant admin end it before its next event."""

from __future__ import annotations

from typing import Any

from tests import factories as f
from tests.websocket.conftest import Server
from tests.websocket.helpers import (
    STOCK_CHANGED,
    Tenant,
    event_of,
    first_event,
    initialised,
    receive,
    socket,
    subscribe,
    tenant,
)

# STOCK_CHANGED is 3 deep and 28 tokens long; the order that raises its events, 2 and 21.
OVER_DEPTH = {"code": "QUERY_TOO_COMPLEX", "limit": "max_depth", "value": 2}
SHALLOW = "subscription { stockChanged { itemId salesOrderId } }"


async def limit_app(t: Tenant, **limits: Any) -> None:
    body = {"graphql_url": t.server.refapp_url("sdmo"), "limits": limits}
    path = f"/admin/v1/tenants/{t.setup.tenant_id}/apps/sdmo"
    response = await t.server.http.put(path, json=body, headers=f.ADMIN)
    assert response.status_code == 200, response.text


def extensions_of(message: dict[str, Any]) -> dict[str, Any]:
    assert message["type"] == "error", message
    (error,) = message["payload"]
    assert error["message"]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


async def test_a_subscription_over_the_apps_limits_is_refused(server: Server) -> None:
    t = await tenant(server)
    await limit_app(t, max_depth=1)
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})

        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        message = await receive(ws)

    assert extensions_of(message) == {"code": "QUERY_TOO_COMPLEX", "limit": "max_depth", "value": 1}


async def test_limits_lowered_cut_off_an_open_subscription_before_its_next_event(
    server: Server,
) -> None:
    t = await tenant(server)
    order = await t.order_variables()
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        assert (await first_event(ws, lambda: t.place(order)))["type"] == "next"

        await limit_app(t, max_depth=2)
        placed = await t.place(order)

        assert extensions_of(await event_of(ws, "1", placed["id"])) == OVER_DEPTH
        await subscribe(ws, "2", SHALLOW, app="sdmo")
        after = await first_event(ws, lambda: t.place(order))
        assert (after["id"], after["type"]) == ("2", "next")


async def test_a_quiet_subscription_is_cut_off_within_a_watch(server: Server) -> None:
    t = await tenant(server)
    order = await t.order_variables()
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        assert (await first_event(ws, lambda: t.place(order)))["type"] == "next"

        await limit_app(t, max_tokens=25)

        cut = await event_of(ws, "1", None, timeout=2.5)
    assert extensions_of(cut) == {"code": "QUERY_TOO_COMPLEX", "limit": "max_tokens", "value": 25}


async def test_a_subscription_within_the_new_limits_keeps_running(server: Server) -> None:
    t = await tenant(server)
    order = await t.order_variables()
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        assert (await first_event(ws, lambda: t.place(order)))["type"] == "next"

        await limit_app(t, max_depth=3, max_tokens=28, introspection=False)
        placed = await t.place(order)

        assert (await event_of(ws, "1", placed["id"]))["type"] == "next"
