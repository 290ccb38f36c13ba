"""Subscriptions obey the API user's roles as HTTP requests do: one its roles do not cover is
refused with an ``error`` (FORBIDDEN), and one they stop covering ends before its next event,
whether its role changed or the API user's roles did."""

from __future__ import annotations

from typing import Any

from tests import factories as f
from tests.websocket.conftest import Server
from tests.websocket.helpers import (
    STOCK_CHANGED,
    Tenant,
    first_event,
    initialised,
    receive,
    socket,
    subscribe,
    tenant,
)

ORDERING = [
    {"app": "sdmo", "operations": ["query"], "fields": ["*"]},
    {"app": "sdmo", "operations": ["mutation"], "fields": ["createSalesOrder"]},
]
WATCHING = [*ORDERING, {"app": "sdmo", "operations": ["subscription"], "fields": ["stockChanged"]}]
FORBIDDEN = {"code": "FORBIDDEN", "operation": "subscription", "field": "stockChanged"}


async def role(t: Tenant, grants: list[dict[str, Any]], name: str = "watcher") -> None:
    path = f"/admin/v1/tenants/{t.setup.tenant_id}/roles/{name}"
    response = await t.server.http.put(path, json={"grants": grants}, headers=f.ADMIN)
    assert response.status_code in (200, 201), response.text


async def hold(t: Tenant, roles: list[str] | None) -> None:
    path = f"/admin/v1/tenants/{t.setup.tenant_id}/api-users/{t.setup.application_id}"
    body = {"first_name": "Api", "last_name": "User", "roles": roles}
    response = await t.server.http.put(path, json=body, headers=f.ADMIN)
    assert response.status_code == 200, response.text


async def watching(server: Server, grants: list[dict[str, Any]]) -> Tenant:
    t = await tenant(server)
    await role(t, grants)
    await hold(t, ["watcher"])
    return t


def forbidden(message: dict[str, Any]) -> dict[str, Any]:
    assert message["type"] == "error", message
    assert message["id"] == "1"
    (error,) = message["payload"]
    assert error["message"]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


async def test_a_subscription_no_role_covers_is_refused(server: Server) -> None:
    t = await watching(server, ORDERING)
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})

        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")

        assert forbidden(await receive(ws)) == FORBIDDEN


async def test_a_subscription_that_does_not_parse_is_refused(server: Server) -> None:
    t = await watching(server, WATCHING)
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})

        await subscribe(ws, "1", "subscription { stockChanged {", app="sdmo")

        assert forbidden(await receive(ws))["code"] == "GRAPHQL_PARSE_FAILED"


async def test_a_role_change_cuts_off_an_open_subscription_before_its_next_event(
    server: Server,
) -> None:
    t = await watching(server, WATCHING)
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        assert (await first_event(ws, t.order))["type"] == "next"

        await role(t, ORDERING)
        await t.order()

        assert forbidden(await receive(ws)) == FORBIDDEN
        await t.order()
        await subscribe(ws, "2", "subscription { __typename }", app="sdmo")
        assert forbidden_or_next(await receive(ws))["id"] == "2"


def forbidden_or_next(message: dict[str, Any]) -> dict[str, Any]:
    """After the cut, nothing more comes for the subscription that was cut."""
    assert message.get("id") != "1", message
    return message


async def test_roles_given_to_an_api_user_cut_off_what_they_do_not_cover(server: Server) -> None:
    t = await tenant(server)
    await role(t, ORDERING)
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        assert (await first_event(ws, t.order))["type"] == "next"

        await hold(t, ["watcher"])
        await t.order()

        assert forbidden(await receive(ws)) == FORBIDDEN


async def test_a_subscription_the_roles_cover_keeps_running(server: Server) -> None:
    t = await watching(server, WATCHING)
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        assert (await first_event(ws, t.order))["type"] == "next"

        await role(t, [*WATCHING, {"app": "shopfloor", "operations": ["query"], "fields": ["*"]}])
        await t.order()

        assert (await receive(ws))["type"] == "next"


async def test_a_quiet_subscription_is_cut_off_within_a_watch(server: Server) -> None:
    t = await watching(server, WATCHING)
    async with socket(server) as ws:
        await initialised(ws, {"Authorization": f"Bearer {t.access_token}"})
        await subscribe(ws, "1", STOCK_CHANGED, app="sdmo")
        assert (await first_event(ws, t.order))["type"] == "next"

        await role(t, ORDERING)

        assert forbidden(await receive(ws, timeout=2.5)) == FORBIDDEN
