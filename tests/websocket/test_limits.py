"""A subscription is held to its app's query limits as an HTTP request is."""

from __future__ import annotations

from tests import factories as f
from tests.websocket.conftest import Server
from tests.websocket.helpers import STOCK_CHANGED, initialised, receive, socket, subscribe, tenant


async def test_a_subscription_over_the_apps_limits_is_refused(server: Server) -> None:
    t = await tenant(server)
    body = {"graphql_url": server.refapp_url("sdmo"), "limits": {"max_depth": 1}}
    path = f"/admin/v1/tenants/{t.setup.tenant_id}/apps/sdmo"
    assert (await server.http.put(path, json=body, headers=f.ADMIN)).status_code == 200
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})

        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        message = await receive(ws)

    assert message["type"] == "error"
    assert message["payload"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "max_depth",
        "value": 1,
    }
