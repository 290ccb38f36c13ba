"""What WebSocket tests do again and again: an accepted tenant whose apps are the in-process
reference apps, a socket to /v1/ws, orders through the HTTP gateway, bounded waits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests import factories as f
from tests.websocket.conftest import Server

PROTOCOL = "graphql-transport-ws"
WAIT = 5.0

STOCK_CHANGED = """
subscription Stock($itemId: ID) {
  stockChanged(itemId: $itemId) { itemId siteId quantity delta salesOrderId item { code } }
}"""

TIME_RECORDED = """
subscription Time($workOrderId: ID) {
  timeRecorded(workOrderId: $workOrderId) { id operationId operator minutes }
}"""

ORDER_SETUP = """
query Setup($siteId: ID) {
  sites { id }
  customers(first: 1) { edges { node { id } } }
  stockLevels(siteId: $siteId) { itemId siteId quantity }
}"""

CREATE_ORDER = """
mutation Order($input: CreateSalesOrderInput!) { createSalesOrder(input: $input) { id } }"""


@dataclass
class Tenant:
    """An application accepted by a tenant whose apps are the server's reference apps."""

    server: Server
    setup: f.Setup
    token: dict[str, Any]

    @property
    def access_token(self) -> str:
        value: str = self.token["access_token"]
        return value

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    async def graphql(self, app: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        url = self.token["urls"]["apps"][app]["graphQL"]
        body = {"query": query, "variables": variables}
        response = await self.server.http.post(url, json=body, headers=self.bearer)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        assert "errors" not in data, data
        return data["data"]  # type: ignore[no-any-return]

    async def order(self, quantity: int = 1) -> dict[str, Any]:
        """A sales order of ``quantity`` of the best-stocked item at the first site."""
        return await self.place(await self.order_variables(quantity))

    async def order_variables(self, quantity: int = 1) -> dict[str, Any]:
        """What ``place`` orders: ``quantity`` of the best-stocked item at the first site."""
        setup = await self.graphql("sdmo", ORDER_SETUP, {})
        site = setup["sites"][0]["id"]
        levels = (await self.graphql("sdmo", ORDER_SETUP, {"siteId": site}))["stockLevels"]
        level = max(levels, key=lambda level: level["quantity"])
        line = {"itemId": level["itemId"], "quantity": quantity}
        customer = setup["customers"]["edges"][0]["node"]["id"]
        return {"input": {"customerId": customer, "siteId": site, "lines": [line]}}

    async def place(self, variables: dict[str, Any]) -> dict[str, Any]:
        """The sales order ``variables`` describe: one request, the mutation alone."""
        return (await self.graphql("sdmo", CREATE_ORDER, variables))["createSalesOrder"]


async def tenant(server: Server, allowed: list[str] | None = None) -> Tenant:
    apps = {app: server.refapp_url(app) for app in ("sdmo", "shopfloor")}
    setup = await f.accepted_setup(server.http, apps, allowed)
    return Tenant(server, setup, await f.get_token(server.http, setup))


@asynccontextmanager
async def socket(
    server: Server, query: str = "", headers: dict[str, str] | None = None
) -> AsyncIterator[ClientConnection]:
    url = server.ws_url + (f"?{query}" if query else "")
    async with connect(
        url,
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        additional_headers=headers,
        open_timeout=WAIT,
        close_timeout=1,
        proxy=None,
    ) as ws:
        yield ws


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await asyncio.wait_for(ws.send(json.dumps(message)), WAIT)


async def receive(ws: ClientConnection, timeout: float = WAIT) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return message


async def colleague(t: Tenant) -> Tenant:
    """Another application accepted by ``t``'s tenant: what it does raises the tenant's events
    without spending ``t``'s limits."""
    http = t.server.http
    app = await f.application(http, "Colleague")
    await f.accept(http, t.setup.tenant_id, app["application_id"])
    setup = f.Setup(
        app["application_id"],
        app["client_id"],
        app["client_secret"],
        app["secret_id"],
        t.setup.tenant_id,
    )
    return Tenant(t.server, setup, await f.get_token(http, setup))


async def initialised(ws: ClientConnection, payload: dict[str, Any] | None = None) -> None:
    await send(ws, {"type": "connection_init", "payload": payload or {}})
    assert await receive(ws) == {"type": "connection_ack"}


async def settled(ws: ClientConnection) -> list[dict[str, Any]]:
    """What came before the answer to a ``ping``: the gateway reads a socket's messages in
    order, so every message sent before it has been handled."""
    await send(ws, {"type": "ping"})
    before = []
    while (message := await receive(ws)) != {"type": "pong"}:
        before.append(message)
    return before


async def event_of(
    ws: ClientConnection, op_id: str, order_id: str | None, timeout: float = WAIT
) -> dict[str, Any]:
    """The event of the order ``order_id`` for the stockChanged subscription ``op_id``, or what
    ends that subscription first; skipped: the events of other (earlier) orders, and messages
    for other subscriptions."""
    while True:
        message = await receive(ws, timeout)
        if message.get("id") != op_id:
            continue
        if message["type"] != "next":
            return message
        if message["payload"]["data"]["stockChanged"]["salesOrderId"] == order_id:
            return message


async def close_code(ws: ClientConnection, timeout: float = WAIT) -> int | None:
    """Wait for the server to close the socket (skipping messages); its close code."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    raise AssertionError("unreachable")


async def subscribe(
    ws: ClientConnection,
    op_id: str,
    query: str,
    variables: dict[str, Any] | None = None,
    app: str | None = None,
) -> None:
    payload: dict[str, Any] = {"query": query, "variables": variables or {}}
    if app is not None:
        payload["extensions"] = {"app": app}
    await send(ws, {"id": op_id, "type": "subscribe", "payload": payload})


async def first_event(
    ws: ClientConnection, trigger: Callable[[], Awaitable[Any]], attempts: int = 20
) -> dict[str, Any]:
    """The first message after ``trigger``, triggering again until the subscription, which
    starts asynchronously, is live."""
    for _ in range(attempts):
        await trigger()
        try:
            return await receive(ws, timeout=0.3)
        except TimeoutError:
            continue
    raise AssertionError("no event reached the subscriber")
