"""Nothing on the public port reaches an app around the gateway's checks: the in-process
reference apps take only requests that carry the gateway's proof for their tenant, app and
token. A token whose API user was narrowed, or whose app was taken off the tenant, is refused at
the gateway and has no other way in; a valid token alone, or a forged proof, opens nothing."""

from __future__ import annotations

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests import factories as f
from tests.websocket.conftest import Server
from tests.websocket.helpers import ORDER_SETUP, PROTOCOL, WAIT, tenant

QUERY = {"query": ORDER_SETUP}


async def direct(server: Server, token: str, tenant_id: str, **extra: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-Id": tenant_id, **extra}
    response = await server.http.post(server.refapp_url("sdmo"), json=QUERY, headers=headers)
    if response.status_code == 403:
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    return response.status_code


async def test_a_valid_token_alone_does_not_reach_an_in_process_app(server: Server) -> None:
    a = await tenant(server)

    assert (await a.graphql("sdmo", ORDER_SETUP, {}))["sites"]  # through the gateway
    assert await direct(server, a.access_token, a.setup.tenant_id) == 403
    forged = {"X-Tenantgate-Gateway": "0" * 64}
    assert await direct(server, a.access_token, a.setup.tenant_id, **forged) == 403
    health = await server.http.get(server.refapp_url("sdmo").replace("/graphql", "/healthz"))
    assert health.status_code == 200


async def test_a_narrowed_api_user_reaches_the_app_by_no_path(server: Server) -> None:
    a = await tenant(server)
    await f.accept(server.http, a.setup.tenant_id, a.setup.application_id, apps=["shopfloor"])

    url = a.token["urls"]["apps"]["sdmo"]["graphQL"]
    through_gateway = await server.http.post(url, json=QUERY, headers=a.bearer)
    assert through_gateway.status_code == 403
    assert await direct(server, a.access_token, a.setup.tenant_id) == 403


async def test_a_socket_straight_to_an_in_process_app_is_refused(server: Server) -> None:
    a = await tenant(server)
    url = server.refapp_url("sdmo").replace("http://", "ws://")
    headers = {**a.bearer, "X-Tenant-Id": a.setup.tenant_id}

    try:
        async with connect(
            url,
            subprotocols=[PROTOCOL],  # type: ignore[list-item]
            additional_headers=headers,
            open_timeout=WAIT,
            proxy=None,
        ):
            raise AssertionError("the upgrade was accepted")
    except InvalidStatus as refused:
        assert refused.response.status_code == 403
