"""Subscriptions through /v1/ws reach the tenant's own app, and only its own events."""

from __future__ import annotations

from tests.websocket.conftest import Server
from tests.websocket.helpers import (
    STOCK_CHANGED,
    TIME_RECORDED,
    first_event,
    initialised,
    receive,
    send,
    socket,
    subscribe,
    tenant,
)

WORK_ORDERS = "{ workOrders(first: 1) { edges { node { id operations { id } } } } }"
RECORD_TIME = """
mutation Record($input: RecordTimeInput!) { recordTime(input: $input) { id } }"""


async def test_a_sales_order_reaches_the_stock_subscriber(server: Server) -> None:
    a = await tenant(server)
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {a.access_token}"})
        await subscribe(ws, "stock", STOCK_CHANGED, app="sdmo")

        event = await first_event(ws, a.order)

    assert event["id"] == "stock"
    assert event["type"] == "next"
    change = event["payload"]["data"]["stockChanged"]
    assert change["delta"] == -1
    assert change["item"]["code"].startswith("ITM-")


async def test_the_token_may_come_in_the_upgrade_header_and_the_app_in_the_url(
    server: Server,
) -> None:
    a = await tenant(server)
    async with socket(server, "app=sdmo", headers=a.bearer) as ws:
        await initialised(ws)
        await subscribe(ws, "1", STOCK_CHANGED)

        event = await first_event(ws, a.order)

    assert event["payload"]["data"]["stockChanged"]["delta"] == -1


async def test_one_tenants_orders_never_reach_another_tenants_subscriber(server: Server) -> None:
    a, b = await tenant(server), await tenant(server)
    async with socket(server, "app=sdmo") as ws_a, socket(server, "app=sdmo") as ws_b:
        await initialised(ws_a, {"Authorization": f"Bearer {a.access_token}"})
        await initialised(ws_b, {"access_token": b.access_token})
        await subscribe(ws_a, "1", STOCK_CHANGED)
        await subscribe(ws_b, "1", STOCK_CHANGED)
        await first_event(ws_a, a.order)
        await first_event(ws_b, b.order)

        await b.order(quantity=2)
        await a.order(quantity=3)

        seen_by_a = await receive(ws_a)
        seen_by_b = await receive(ws_b)

    assert seen_by_a["payload"]["data"]["stockChanged"]["delta"] == -3
    assert seen_by_b["payload"]["data"]["stockChanged"]["delta"] == -2


async def test_recorded_time_reaches_the_shopfloor_subscriber_of_that_work_order(
    server: Server,
) -> None:
    a = await tenant(server)
    work_order = (await a.graphql("shopfloor", WORK_ORDERS, {}))["workOrders"]["edges"][0]["node"]
    operation = work_order["operations"][0]["id"]
    entry = {"input": {"operationId": operation, "operator": "Ada", "minutes": 5}}

    async def record() -> None:
        await a.graphql("shopfloor", RECORD_TIME, entry)

    async with socket(server) as ws:
        await initialised(ws, {"authorization": f"Bearer {a.access_token}"})
        await subscribe(ws, "t", TIME_RECORDED, {"workOrderId": work_order["id"]}, app="shopfloor")

        event = await first_event(ws, record)

    recorded = event["payload"]["data"]["timeRecorded"]
    assert recorded == {**recorded, "operationId": operation, "operator": "Ada", "minutes": 5}


async def test_one_socket_carries_subscriptions_to_several_apps(server: Server) -> None:
    a = await tenant(server)
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {a.access_token}"})
        await subscribe(ws, "time", TIME_RECORDED, app="shopfloor")
        await subscribe(ws, "stock", STOCK_CHANGED, app="sdmo")

        event = await first_event(ws, a.order)

    assert event["id"] == "stock"


async def test_completing_a_subscription_stops_its_events(server: Server) -> None:
    a = await tenant(server)
    async with socket(server, "app=sdmo") as ws:
        await initialised(ws, {"Authorization": f"Bearer {a.access_token}"})
        await subscribe(ws, "1", STOCK_CHANGED)
        await first_event(ws, a.order)

        await send(ws, {"id": "1", "type": "complete"})
        await a.order()
        await send(ws, {"type": "ping"})

        assert await receive(ws) == {"type": "pong"}


async def test_an_app_the_api_user_does_not_cover_is_an_error_not_a_close(
    server: Server,
) -> None:
    a = await tenant(server, allowed=["sdmo"])
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {a.access_token}"})
        await subscribe(ws, "1", TIME_RECORDED, app="shopfloor")
        refused = await receive(ws)
        await subscribe(ws, "2", STOCK_CHANGED, app="sdmo")

        event = await first_event(ws, a.order)

    assert refused["id"] == "1"
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert event["id"] == "2"


async def test_a_subscription_naming_no_app_is_an_error(server: Server) -> None:
    a = await tenant(server)
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {a.access_token}"})
        await subscribe(ws, "1", STOCK_CHANGED)

        refused = await receive(ws)

    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_an_unreachable_upstream_is_a_bad_gateway_error(server: Server) -> None:
    from tests import factories as f
    from tests.gateway.upstream import closed_port

    apps = {"sdmo": f"http://127.0.0.1:{closed_port()}/graphql"}
    setup = await f.accepted_setup(server.http, apps)
    token = await f.get_token(server.http, setup)
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {token['access_token']}"})
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")

        refused = await receive(ws)
        await send(ws, {"type": "ping"})
        still_open = await receive(ws)

    assert refused["id"] == "1"
    assert refused["payload"][0]["extensions"]["code"] == "BAD_GATEWAY"
    assert still_open == {"type": "pong"}
