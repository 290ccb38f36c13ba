"""Each ``subscribe`` is one request of the API user's rate limit and daily quota, counted with
its HTTP requests in the one bucket of the node (or of Redis): past it, an ``error`` with
RATE_LIMITED for that subscription, the socket open. The events of a running subscription are
not counted, and a limit given while it runs does not end it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tenantgate.gateway.errors import RateLimited
from tenantgate.gateway.ratelimit import rate_limiter
from tenantgate.registry.rates import Allowance
from tenantgate.services import Services
from tests import factories as f
from tests.gateway.test_rate_limits import call, limit, limited, rate_limited, redis_settings
from tests.websocket.conftest import Server, client_of, serving
from tests.websocket.helpers import (
    STOCK_CHANGED,
    TIME_RECORDED,
    Tenant,
    colleague,
    event_of,
    first_event,
    initialised,
    receive,
    settled,
    socket,
    subscribe,
    tenant,
)

BURST_OF_TWO = {"requests_per_minute": 1, "burst": 2}


def refused(message: dict[str, Any], op_id: str) -> bool:
    """An ``error`` for ``op_id`` with the 429's GraphQL error, the wait in ``retryAfter``."""
    payload = message.get("payload") or [{}]
    seconds = payload[0].get("extensions", {}).get("retryAfter")
    assert isinstance(seconds, int) and seconds >= 1, message
    assert message == {
        "id": op_id,
        "type": "error",
        "payload": [RateLimited(seconds).error()],
    }
    return True


def auth(t: Tenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {t.access_token}"}


async def answer_to(ws: Any, op_id: str) -> dict[str, Any]:
    """The next message for ``op_id``, skipping the events of the other subscriptions."""
    while (message := await receive(ws)).get("id") != op_id:
        pass
    return message


async def test_past_the_burst_a_subscription_is_refused_with_rate_limited(server: Server) -> None:
    t = await limited(server, rate_limit=BURST_OF_TWO)
    async with socket(server) as ws:
        await initialised(ws, auth(t))
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        await subscribe(ws, "2", TIME_RECORDED, app="shopfloor")
        assert await settled(ws) == []

        await subscribe(ws, "3", STOCK_CHANGED, app="sdmo")

        assert refused(await receive(ws), "3")
        assert await settled(ws) == []
    assert rate_limited(await call(t)) >= 1


async def test_http_requests_and_subscriptions_spend_the_same_bucket(server: Server) -> None:
    t = await limited(server, rate_limit=BURST_OF_TWO)
    answered = await call(t)
    async with socket(server) as ws:
        await initialised(ws, auth(t))
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        assert await settled(ws) == []

        await subscribe(ws, "2", STOCK_CHANGED, app="sdmo")

        assert refused(await receive(ws), "2")
    assert answered.status_code == 200
    assert answered.headers["ratelimit"].startswith("minute;r=1;")


async def test_a_subscription_refused_for_its_document_counts_as_an_http_request_does(
    server: Server,
) -> None:
    t = await limited(server, rate_limit={"requests_per_minute": 6, "burst": 600})
    body = {"graphql_url": server.refapp_url("sdmo"), "limits": {"max_depth": 1}}
    path = f"/admin/v1/tenants/{t.setup.tenant_id}/apps/sdmo"
    assert (await server.http.put(path, json=body, headers=f.ADMIN)).status_code == 200
    async with socket(server) as ws:
        await initialised(ws, auth(t))
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        refused = await receive(ws)

    answered = await call(t)

    assert refused["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert answered.headers["ratelimit"].startswith("minute;r=598;")


async def test_a_running_subscription_is_not_counted_again_nor_ended_by_a_later_limit(
    server: Server,
) -> None:
    t = await tenant(server)
    orders = await colleague(t)
    async with socket(server) as ws:
        await initialised(ws, auth(t))
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        assert (await first_event(ws, orders.order))["type"] == "next"

        assert (await limit(t, rate_limit={"requests_per_minute": 1, "burst": 1})).is_success
        event = await event_of(ws, "1", (await orders.order())["id"])
        await subscribe(ws, "2", STOCK_CHANGED, app="sdmo")
        answers_to_2 = [message for message in await settled(ws) if message.get("id") == "2"]
        await subscribe(ws, "3", STOCK_CHANGED, app="sdmo")

        assert event["type"] == "next"
        assert answers_to_2 == []  # forwarded: nothing comes back before an event
        assert refused(await answer_to(ws, "3"), "3")


async def test_a_subscription_is_counted_in_redis(database_url: str, tmp_path: Path) -> None:
    settings = redis_settings(database_url, tmp_path)
    services = Services.build(settings)
    with serving(settings, services) as port:
        async with client_of(port) as server:
            t = await limited(server, rate_limit={"requests_per_minute": 1, "burst": 1})
            async with socket(server) as ws:
                await initialised(ws, auth(t))
                await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
                assert await settled(ws) == []
            counted_in_redis = services.rates.shared

    other_node = rate_limiter(settings, time.time)  # its own memory is empty: Redis answers
    await other_node.open()
    try:
        key = f"{t.setup.tenant_id}/{t.setup.application_id}"
        outcome = await other_node.take(key, Allowance(per_minute=1, burst=1))
        asked_redis = other_node.shared
    finally:
        await other_node.close()

    assert counted_in_redis and asked_redis
    assert not outcome.allowed
