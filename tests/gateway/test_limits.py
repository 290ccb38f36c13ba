"""An app takes operations up to its query limits: deeper, more aliased, wider or longer ones,
and introspection where it is turned off, are answered 400 QUERY_TOO_COMPLEX naming the limit,
for every caller, before the upstream sees them. Each limit an app leaves out is the operator's
default. Driven over real HTTP against a started server whose upstreams are the reference
apps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tenantgate.services import Services
from tests import factories as f
from tests.websocket.conftest import Server, client_of, serving, ws_settings
from tests.websocket.helpers import Tenant, tenant

DEEP = "{ items(first: 1) { edges { node { id } } } }"  # depth 4
ALIASED = "{ a: sites { id } b: sites { id } c: sites { x: id } }"  # 4 aliases, 3 root fields
INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.fixture(scope="module")
def server_port(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    settings = ws_settings(database_url, tmp_path_factory.mktemp("gateway-limits"))
    with serving(settings, Services.build(settings)) as port:
        yield port


@pytest.fixture
async def server(server_port: int) -> AsyncIterator[Server]:
    async with client_of(server_port) as started:
        yield started


async def put_app(t: Tenant, limits: dict[str, Any] | None, app: str = "sdmo") -> httpx.Response:
    body: dict[str, Any] = {"graphql_url": t.server.refapp_url(app)}
    if limits is not None:
        body["limits"] = limits
    path = f"/admin/v1/tenants/{t.setup.tenant_id}/apps/{app}"
    return await t.server.http.put(path, json=body, headers=f.ADMIN)


async def limited(server: Server, **limits: Any) -> Tenant:
    t = await tenant(server)
    response = await put_app(t, limits)
    assert response.status_code == 200, response.text
    return t


async def post(t: Tenant, query: str) -> httpx.Response:
    url = t.token["urls"]["apps"]["sdmo"]["graphQL"]
    return await t.server.http.post(url, json={"query": query}, headers=t.bearer)


def over(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["message"]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


@pytest.mark.parametrize(
    ("limits", "query", "refused"),
    [
        ({"max_depth": 3}, DEEP, {"limit": "max_depth", "value": 3}),
        ({"max_aliases": 3}, ALIASED, {"limit": "max_aliases", "value": 3}),
        ({"max_root_fields": 2}, ALIASED, {"limit": "max_root_fields", "value": 2}),
        ({"max_tokens": 10}, DEEP, {"limit": "max_tokens", "value": 10}),
        ({"introspection": False}, INTROSPECTION, {"limit": "introspection", "value": False}),
    ],
)
async def test_an_operation_over_a_limit_is_a_400_naming_it(server, limits, query, refused):
    t = await limited(server, **limits)

    response = await post(t, query)

    assert over(response) == {"code": "QUERY_TOO_COMPLEX", **refused}


async def test_an_operation_within_its_limits_reaches_the_upstream(server):
    t = await limited(
        server, max_depth=4, max_aliases=4, max_root_fields=3, max_tokens=40, introspection=False
    )

    deep = await post(t, DEEP)
    aliased = await post(t, ALIASED)
    typename = await post(t, "{ __typename }")

    assert deep.status_code == 200 and "errors" not in deep.json(), deep.text
    assert aliased.status_code == 200 and "errors" not in aliased.json(), aliased.text
    assert typename.json() == {"data": {"__typename": "Query"}}


async def test_one_body_sent_to_apps_of_different_limits_is_held_to_each_apps(server):
    """The gateway keeps what a body reads as by its bytes, for every tenant; the limits are
    still those of the app it is sent to."""
    lenient, strict, short = (
        await limited(server, max_depth=4),
        await limited(server, max_depth=2),
        await limited(server, max_tokens=10),
    )

    answers = [await post(t, DEEP) for t in (lenient, strict, short, lenient)]

    assert [a.status_code for a in answers] == [200, 400, 400, 200], answers[1].text
    assert over(answers[1]) == {"code": "QUERY_TOO_COMPLEX", "limit": "max_depth", "value": 2}
    assert over(answers[2])["limit"] == "max_tokens"


async def test_limits_count_through_fragments(server):
    t = await limited(server, max_root_fields=3, max_depth=3)
    spread_twice = (
        "{ ...F ...F } fragment F on Query { sites { id } customers { edges { cursor } } }"
    )

    wide = await post(t, spread_twice)
    deep = await post(t, "{ ...D } fragment D on Query { items { edges { node { id } } } }")

    assert over(wide)["limit"] == "max_root_fields"
    assert over(deep)["limit"] == "max_depth"


async def test_an_apps_limits_are_set_read_and_replaced_by_put(server):
    t = await tenant(server)
    path = f"/admin/v1/tenants/{t.setup.tenant_id}"

    given = await put_app(t, {"max_depth": 12, "introspection": True, "max_tokens": None})
    shown = (await t.server.http.get(path, headers=f.ADMIN)).json()["apps"]
    replaced = await put_app(t, None)
    after = (await t.server.http.get(path, headers=f.ADMIN)).json()["apps"]

    assert given.json()["limits"] == {"max_depth": 12, "introspection": True}
    assert {a["name"]: a["limits"] for a in shown} == {
        "sdmo": {"max_depth": 12, "introspection": True},
        "shopfloor": None,
    }
    assert replaced.json()["limits"] is None
    assert [a["limits"] for a in after] == [None, None]


@pytest.mark.parametrize(
    "limits",
    [
        {"max_depth": 0},
        {"max_aliases": -1},
        {"max_tokens": 10_000_000},
        {"max_depth": "12"},
        {"max_depth": 1.5},
        {"introspection": "no"},
        {"max_width": 3},
    ],
)
async def test_malformed_limits_are_a_400_in_the_admin_shape(server, limits):
    t = await tenant(server)

    response = await put_app(t, limits)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert "limits" in response.json()["error_description"]


async def test_the_operators_defaults_apply_where_an_app_sets_none(database_url, tmp_path):
    settings = ws_settings(database_url, tmp_path).model_copy(
        update={"query_max_depth": 3, "query_introspection": False}
    )
    with serving(settings, Services.build(settings)) as port:
        async with client_of(port) as server:
            defaults = await tenant(server)
            own = await limited(server, max_depth=4)

            assert over(await post(defaults, DEEP)) == {
                "code": "QUERY_TOO_COMPLEX",
                "limit": "max_depth",
                "value": 3,
            }
            assert over(await post(defaults, INTROSPECTION))["limit"] == "introspection"
            assert (await post(own, DEEP)).status_code == 200
            assert over(await post(own, INTROSPECTION))["limit"] == "introspection"


async def test_a_limit_changed_applies_to_the_next_request(server):
    t = await limited(server, max_depth=4)
    assert (await post(t, DEEP)).status_code == 200

    await put_app(t, {"max_depth": 2})

    assert over(await post(t, DEEP))["value"] == 2
