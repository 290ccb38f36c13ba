"""Each ``subscribe`` is counted in the gateway's usage as an HTTP request is, under the token's
tenant and application and the subscription's app: forwarded as a 2xx, refused by its code."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests import factories as f
from tests.conftest import ManualClock
from tests.gateway.test_rate_limits import limited
from tests.websocket.conftest import Server
from tests.websocket.helpers import (
    STOCK_CHANGED,
    WAIT,
    initialised,
    settled,
    socket,
    subscribe,
)


async def written(server: Server, requests: int, **params: str) -> dict[str, Any]:
    """The counts of the points matching ``params``, summed, once ``requests`` are written
    (a minute is handed to the writer within a second of its end) or WAIT has passed."""
    deadline = time.monotonic() + WAIT
    while True:
        response = await server.http.get(
            "/admin/v1/usage", params={"step": "day", **params}, headers=f.ADMIN
        )
        assert response.status_code == 200, response.text
        total = summed(response.json()["points"])
        if total["requests"] >= requests or time.monotonic() > deadline:
            return total
        await asyncio.sleep(0.05)


def summed(points: list[dict[str, Any]]) -> dict[str, Any]:
    """The points added up: a test that runs across midnight has two days."""
    total: dict[str, Any] = {"requests": 0, "refusals": {}, "failures": {}, "upstream": {}}
    for point in points:
        total["requests"] += point["requests"]
        for part in ("refusals", "failures", "upstream"):
            for key, count in point[part].items():
                total[part][key] = total[part].get(key, 0) + count
    return total


async def test_each_subscribe_is_counted_forwarded_or_refused(
    clocked_server: Server, clock: ManualClock
) -> None:
    server = clocked_server
    t = await limited(server, rate_limit={"requests_per_minute": 1, "burst": 1})
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        await subscribe(ws, "2", STOCK_CHANGED, app="sdmo")
        await subscribe(ws, "3", STOCK_CHANGED, app="elsewhere")
        await subscribe(ws, "4", STOCK_CHANGED)
        answers = await settled(ws)

    clock.advance(60)
    user = {"tenant_id": t.setup.tenant_id, "application_id": t.setup.application_id}
    everything = await written(server, 4, **user)
    sdmo = await written(server, 2, **user, app="sdmo")

    codes = [(answer["id"], answer["payload"][0]["extensions"]["code"]) for answer in answers]
    assert codes == [("2", "RATE_LIMITED"), ("3", "FORBIDDEN"), ("4", "BAD_REQUEST")]
    assert everything["requests"] == 4
    assert everything["upstream"] == {"2xx": 1, "3xx": 0, "4xx": 0, "5xx": 0}
    assert everything["refusals"] == {"RATE_LIMITED": 1, "FORBIDDEN": 1, "BAD_REQUEST": 1}
    assert everything["failures"] == {}
    assert sdmo["requests"] == 2
    assert sdmo["refusals"] == {"RATE_LIMITED": 1}
