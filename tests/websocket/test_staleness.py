"""A node that cannot confirm that its memory is current closes live subscriptions, and
refuses new connections, with 1013 (try again later); it accepts them again once current.
The bound is made impossibly tight here (a billionth of a second), which makes the node stale
at every check without stopping its database."""

from __future__ import annotations

import time

from tenantgate.services import Services
from tests.websocket.conftest import client_of, serving
from tests.websocket.helpers import close_code, initialised, send, socket, tenant
from tests.websocket.test_closing import PROMPTLY, subscribed

TRY_AGAIN_LATER = 1013


async def test_a_stale_node_closes_with_1013_and_accepts_again_once_current(settings) -> None:
    services = Services.build(settings)
    with serving(settings, services) as port:
        async with client_of(port) as server:
            a = await tenant(server)
            async with socket(server) as ws:
                await subscribed(ws, a)
                started = time.monotonic()
                services.feed.max_staleness = 1e-9
                assert await close_code(ws) == TRY_AGAIN_LATER
                assert time.monotonic() - started < PROMPTLY
            async with socket(server) as ws:
                await send(
                    ws, {"type": "connection_init", "payload": {"access_token": a.access_token}}
                )
                assert await close_code(ws) == TRY_AGAIN_LATER
            services.feed.max_staleness = 5.0
            async with socket(server) as ws:
                await initialised(ws, {"Authorization": f"Bearer {a.access_token}"})
    metrics = services.metrics.render().decode()
    assert 'tenantgate_stale_refusals_total{surface="websocket"} 2.0' in metrics
